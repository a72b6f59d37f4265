import { ChildProcess, execFileSync, spawn } from "child_process";
import * as path from "path";

/**
 * Drives a dynamic provider through Pulumi's own dynamic-provider host (the
 * gRPC server `pulumi up` runs), with the provider serialized the way
 * pulumi.dynamic.Resource serializes it. Requests and responses cross the
 * same protobuf Structs the engine uses, so a provider that only works
 * in-process fails here.
 */

const ROOT = path.resolve(__dirname, "../..");
const SDK = path.join(ROOT, "node_modules/@pulumi/pulumi");
/* eslint-disable @typescript-eslint/no-var-requires */
const grpc = require(path.join(ROOT, "node_modules/@grpc/grpc-js"));
const provproto = require(path.join(SDK, "proto/provider_pb"));
const provrpc = require(path.join(SDK, "proto/provider_grpc_pb"));
const structproto = require("google-protobuf/google/protobuf/struct_pb");
/* eslint-enable @typescript-eslint/no-var-requires */

type Props = Record<string, any>;

/** The provider text `pulumi up` would store in state for a resource of this kvm-cloud dynamic type. */
export function serializeProvider(kind: "VirtualMachine" | "GeneratedPassword" | "RemoteCommand"): string {
  return execFileSync(
    process.execPath,
    [path.join(ROOT, "node_modules/ts-node/dist/bin.js"), "--transpile-only", "-P", path.join(ROOT, "tsconfig.json"), path.join(__dirname, "serialize-provider.ts"), kind],
    { cwd: ROOT, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
  );
}

export interface ProviderHost {
  check(olds: Props, news: Props): Promise<{ inputs: Props; failures: Array<{ property: string; reason: string }> }>;
  diff(id: string, olds: Props, news: Props): Promise<{ changes: number; replaces: string[]; deleteBeforeReplace: boolean }>;
  create(props: Props): Promise<{ id: string; properties: Props }>;
  read(id: string, props: Props): Promise<{ id: string; properties: Props }>;
  update(id: string, olds: Props, news: Props): Promise<Props>;
  delete(id: string, props: Props): Promise<void>;
  stop(): Promise<void>;
  /** SIGKILLs the host, as a crash or an OOM kill would: nothing it was doing gets to clean up. */
  kill(): Promise<void>;
  /** What the host printed on stderr (its error logs). */
  stderr(): string;
}

/** DiffResponse.DiffChanges values. */
export const DIFF = { UNKNOWN: 0, NONE: 1, SOME: 2 } as const;

const URN = "urn:pulumi:test::kvm-cloud::pulumi-nodejs:dynamic/kvmcloud:VirtualMachine::";

/** `cwd` defaults to the project root, as under `pulumi up`: the provider's require()s resolve from there. */
export async function startProviderHost(provider: string, cwd = ROOT): Promise<ProviderHost> {
  const child: ChildProcess = spawn(process.execPath, [path.join(SDK, "cmd/dynamic-provider/index.js"), "127.0.0.1:0"], {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const port = await new Promise<string>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`dynamic-provider host did not print its port: ${err}`)), 30_000);
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /^(\d+)\s*$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once("exit", (code) => reject(new Error(`dynamic-provider host exited (${code}): ${err}`)));
  });
  const client = new provrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const call = <T>(method: string, req: unknown): Promise<T> =>
    new Promise((resolve, reject) => client[method](req, (e: Error | null, res: T) => (e ? reject(e) : resolve(res))));
  const struct = (p: Props) => structproto.Struct.fromJavaScript(p);
  const withProvider = (p: Props) => ({ ...p, __provider: provider });

  const configure = new provproto.ConfigureRequest();
  configure.setArgs(struct({}));
  await call("configure", configure);

  return {
    async check(olds, news) {
      const req = new provproto.CheckRequest();
      req.setUrn(URN + String(news.name ?? "vm"));
      req.setOlds(struct(Object.keys(olds).length ? withProvider(olds) : {}));
      req.setNews(struct(withProvider(news)));
      const res = await call<any>("check", req);
      return {
        inputs: res.getInputs().toJavaScript(),
        failures: res.getFailuresList().map((f: any) => ({ property: f.getProperty(), reason: f.getReason() })),
      };
    },
    async diff(id, olds, news) {
      const req = new provproto.DiffRequest();
      req.setId(id);
      req.setUrn(URN + id);
      req.setOlds(struct(withProvider(olds)));
      req.setNews(struct(withProvider(news)));
      const res = await call<any>("diff", req);
      return { changes: res.getChanges(), replaces: res.getReplacesList(), deleteBeforeReplace: res.getDeletebeforereplace() };
    },
    async create(props) {
      const req = new provproto.CreateRequest();
      req.setUrn(URN + String(props.name));
      req.setProperties(struct(withProvider(props)));
      const res = await call<any>("create", req);
      return { id: res.getId(), properties: res.getProperties().toJavaScript() };
    },
    async read(id, props) {
      const req = new provproto.ReadRequest();
      req.setId(id);
      req.setUrn(URN + id);
      req.setProperties(struct(withProvider(props)));
      const res = await call<any>("read", req);
      return { id: res.getId(), properties: res.getProperties()?.toJavaScript() ?? {} };
    },
    async update(id, olds, news) {
      const req = new provproto.UpdateRequest();
      req.setId(id);
      req.setUrn(URN + id);
      req.setOlds(struct(withProvider(olds)));
      req.setNews(struct(withProvider(news)));
      const res = await call<any>("update", req);
      return res.getProperties().toJavaScript();
    },
    async delete(id, props) {
      const req = new provproto.DeleteRequest();
      req.setId(id);
      req.setUrn(URN + id);
      req.setProperties(struct(withProvider(props)));
      await call("delete", req);
    },
    async stop() {
      client.close();
      child.kill("SIGTERM");
      await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once("exit", r)));
    },
    async kill() {
      client.close();
      child.kill("SIGKILL");
      await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once("exit", r)));
    },
    stderr: () => err,
  };
}
