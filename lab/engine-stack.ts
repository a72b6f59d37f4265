import { ChildProcess, spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { parse, stringify } from "yaml";
import { run, RunResult } from "./exec";
import { engineEnv } from "../lib/engine/engine-env";

/**
 * A stack of the kvm-cloud program run by the real Pulumi engine, in a
 * workspace of its own (file backend, passphrase secrets, its own PULUMI_HOME),
 * as a user would: `npm run stack -- preview|up` for what runs the program
 * (the engine here has no Node.js language host; see stacks/run.ts) and the
 * `pulumi` CLI itself for everything else (config, refresh, destroy, outputs).
 */

const ROOT = path.resolve(__dirname, "..");
const RUNNER = [process.execPath, path.join(ROOT, "node_modules/ts-node/dist/bin.js"), "--transpile-only", path.join(ROOT, "stacks/run.ts")];

export interface EngineStack {
  readonly dir: string;
  readonly stack: string;
  readonly env: NodeJS.ProcessEnv;
  /** The real `pulumi` CLI in the workspace, for this stack. */
  pulumi(args: readonly string[], opts?: { allowFail?: boolean; input?: string; timeoutMs?: number }): Promise<RunResult>;
  /** The program under the engine: preview or up (through stacks/run.ts). */
  program(op: "preview" | "up", flags?: readonly string[], opts?: { allowFail?: boolean; timeoutMs?: number }): Promise<RunResult>;
  /** `up`, started and left running (for interrupting it). */
  startUp(): ChildProcess;
  /** Plain (non-secret) stack config values, written to Pulumi.<stack>.yaml beside the secrets. */
  setConfig(values: Record<string, unknown>): void;
  outputs(): Promise<Record<string, any>>;
  /** The stack's resources as the engine's state holds them. */
  resources(): Promise<Array<Record<string, any>>>;
}

export interface EngineStackOptions {
  /**
   * Keep a stack made by an earlier call in `dir` (its state, config and
   * passphrase, kept in `dir`, mode 0600), so that the next `up` changes only
   * what changed. Default false: `dir` starts empty.
   */
  readonly keep?: boolean;
  /** A lab namespace every engine command runs in (the hosts it reaches exist only there). Default: the caller's. */
  readonly netns?: string;
}

export async function createEngineStack(dir: string, stack: string, o: EngineStackOptions = {}): Promise<EngineStack> {
  const passphraseFile = path.join(dir, "passphrase");
  const kept = o.keep === true && fs.existsSync(passphraseFile) && fs.existsSync(path.join(dir, `Pulumi.${stack}.yaml`));
  if (!kept) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(path.join(dir, "backend"), { recursive: true });
    fs.mkdirSync(path.join(dir, "home"), { recursive: true });
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: kvm-cloud\nruntime: nodejs\ndescription: kvm-cloud under the real engine (tests)\n");
    fs.writeFileSync(passphraseFile, crypto.randomBytes(16).toString("hex"), { mode: 0o600 });
  }
  const passphrase = fs.readFileSync(passphraseFile, "utf8").trim();
  const env = engineEnv({
    ...process.env,
    PULUMI_BACKEND_URL: `file://${path.join(dir, "backend")}`,
    PULUMI_HOME: path.join(dir, "home"),
    PULUMI_CONFIG_PASSPHRASE: passphrase,
  });
  const inNs = (argv: string[]) => (o.netns ? ["ip", "netns", "exec", o.netns, ...argv] : argv);
  const configFile = path.join(dir, `Pulumi.${stack}.yaml`);
  const s: EngineStack = {
    dir,
    stack,
    env,
    pulumi: (args, opts = {}) => run(inNs(["pulumi", ...args, "--stack", stack, "--non-interactive"]), { ...opts, cwd: dir, env }),
    program: (op, flags = [], opts = {}) => run(inNs([...RUNNER, op, "--stack", stack, "--cwd", dir, ...flags]), { ...opts, cwd: dir, env }),
    startUp: () => {
      const argv = inNs([...RUNNER, "up", "--stack", stack, "--cwd", dir]);
      return spawn(argv[0], argv.slice(1), { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
    },
    setConfig(values) {
      const doc = (parse(fs.readFileSync(configFile, "utf8")) ?? {}) as { config?: Record<string, unknown> };
      doc.config = { ...(doc.config ?? {}), ...values };
      fs.writeFileSync(configFile, stringify(doc));
    },
    async outputs() {
      return JSON.parse((await s.pulumi(["stack", "output", "--json"])).stdout);
    },
    async resources() {
      const state = JSON.parse((await s.pulumi(["stack", "export"])).stdout);
      return state.deployment.resources ?? [];
    },
  };
  if (!kept) {
    await run(["pulumi", "stack", "init", stack, "--non-interactive"], { cwd: dir, env });
    fs.writeFileSync(configFile, stringify({ config: {} }));
  }
  return s;
}
