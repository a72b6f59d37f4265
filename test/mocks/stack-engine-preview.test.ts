import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { createEngineStack, EngineStack } from "../../lab/engine-stack";
import { run } from "../../lab/exec";
import { loadDevStack } from "../helpers/dev-stack";

/**
 * `pulumi preview` of the dev stack (Pulumi.dev.yaml) under the real Pulumi
 * engine, the CLI this project builds from Go modules, in a network
 * namespace of its own with nothing but loopback: it plans every resource of
 * the reference topology without reaching any host (any attempt would fail),
 * and the plan holds exactly the resources, by type and name, that the same
 * program registers under Pulumi's mocks. A bad value fails the preview
 * naming the field, with nothing planned.
 */

jest.setTimeout(10 * 60_000);

const ROOT = path.resolve(__dirname, "../..");
const RUNNER = [process.execPath, path.join(ROOT, "node_modules/ts-node/dist/bin.js"), "--transpile-only", path.join(ROOT, "stacks/run.ts")];
const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nengine-preview-key\n-----END OPENSSH PRIVATE KEY-----\n";
const devConfig = (parse(fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8")) as { config: Record<string, unknown> }).config;
let dir = "";
let s: EngineStack;

/** The program's preview, its processes in a fresh network namespace with loopback only (the engine and the program talk over it). */
function isolatedPreview() {
  const argv = [...RUNNER, "preview", "--stack", s.stack, "--cwd", s.dir];
  const script = 'ip link set lo up && exec "$@"';
  return run(["unshare", "--net", "--", "sh", "-c", script, "preview", ...argv], { cwd: s.dir, env: s.env, allowFail: true, timeoutMs: 300_000 });
}

/** `+ TYPE NAME create` lines of the engine's progress output, the stack itself left out. */
function planned(stdout: string): string[] {
  const out = new Set<string>();
  for (const m of stdout.matchAll(/^ \+\s+(\S+) (\S+) create\b/gm)) if (m[1] !== "pulumi:pulumi:Stack") out.add(`${m[1]} ${m[2]}`);
  return [...out].sort();
}

async function underMocks(): Promise<string[]> {
  const { reg } = await loadDevStack();
  return [...new Set(reg.map((r) => `${r.type} ${r.name}`))].sort();
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "kvmcloud-engine-preview-"));
  s = await createEngineStack(dir, "dev");
  // The dynamic providers' host resolves @pulumi/pulumi from the workspace, as in a user's project.
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
  await s.pulumi(["config", "set", "--secret", "kvm-cloud:sshPrivateKey"], { input: KEY });
  s.setConfig(devConfig);
});

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe("pulumi preview of Pulumi.dev.yaml under the real engine", () => {
  let mocked: string[];
  let engine: string[];

  it("plans the whole reference topology without reaching any host", async () => {
    const t0 = Date.now();
    const r = await isolatedPreview();
    process.stdout.write(`  [engine preview] dev stack: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    expect(r.stderr).not.toMatch(/error:/);
    expect(r.code).toBe(0);
    engine = planned(r.stdout);
    const total = Number(/\+ (\d+) to create/.exec(r.stdout)?.[1]);
    // The count the engine prints includes the stack itself.
    expect(total).toBe(engine.length + 1);
    for (const t of ["kvmcloud:index:Cloud", "kvmcloud:index:Monitoring", "kvmcloud:index:LoadBalancer", "pulumi-nodejs:dynamic/kvmcloud:VirtualMachine"]) {
      expect(engine.some((e) => e.startsWith(`${t} `))).toBe(true);
    }
    expect(r.stdout).not.toMatch(/pulumi-resource-(docker|command)/);
  });

  it("plans exactly the resources the program registers under the mocks", async () => {
    mocked = await underMocks();
    expect(engine).toEqual(mocked);
  });

  it("fails a bad value naming the field, with nothing planned", async () => {
    const cloud = JSON.parse(JSON.stringify(devConfig["kvm-cloud:cloud"]));
    cloud.database.runtime = "podman";
    s.setConfig({ "kvm-cloud:cloud": cloud });
    const r = await isolatedPreview();
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/cloud\.database\.runtime: "podman" is not allowed; expected "docker" or "packages"/);
    expect(planned(r.stdout)).toEqual([]);
  });
});
