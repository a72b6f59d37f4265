import * as path from "path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { engineEnv } from "../lib/engine/engine-env";

/**
 * `npm run stack -- OPERATION --stack NAME [--cwd DIR] [--config-file F] [--diff] [--expect-no-changes]`
 *
 * Runs the kvm-cloud program (stacks/index.ts) under the real Pulumi engine
 * as an Automation API inline program: the engine gets the program's
 * address instead of starting a Node.js language host. This is for a Pulumi
 * CLI without one (the CLI this project builds from Go modules, where the
 * module proxy serves no language host); with a full Pulumi install,
 * `pulumi up` runs the same program the same way. One operation per process,
 * as with the CLI. Other commands (stack output, config, stack rm) need no
 * program: use `pulumi` itself.
 */

const OPERATIONS = ["preview", "up", "refresh", "destroy"] as const;
type Operation = (typeof OPERATIONS)[number];

export interface RunArgs {
  readonly operation: Operation;
  readonly stack: string;
  /** The workspace: where Pulumi.yaml and Pulumi.<stack>.yaml are. Default: the project root. */
  readonly cwd: string;
  readonly configFile?: string;
  readonly diff: boolean;
  readonly expectNoChanges: boolean;
}

const USAGE = `usage: npm run stack -- ${OPERATIONS.join("|")} --stack NAME [--cwd DIR] [--config-file FILE] [--diff] [--expect-no-changes]`;

export function parseRunArgs(argv: readonly string[]): RunArgs {
  const [operation, ...rest] = argv;
  if (!OPERATIONS.includes(operation as Operation)) {
    throw new Error(`operation: ${JSON.stringify(operation)} is not allowed; expected one of ${OPERATIONS.join(", ")}\n${USAGE}`);
  }
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === "--diff" || a === "--expect-no-changes") flags[a] = true;
    else if (a === "--stack" || a === "--cwd" || a === "--config-file") {
      if (rest[i + 1] === undefined || rest[i + 1].startsWith("--")) throw new Error(`${a}: a value is required\n${USAGE}`);
      flags[a] = rest[++i];
    } else throw new Error(`${a}: unknown option; expected --stack, --cwd, --config-file, --diff or --expect-no-changes\n${USAGE}`);
  }
  if (typeof flags["--stack"] !== "string") throw new Error(`--stack: a stack name is required\n${USAGE}`);
  return {
    operation: operation as Operation,
    stack: flags["--stack"],
    cwd: path.resolve(typeof flags["--cwd"] === "string" ? flags["--cwd"] : path.resolve(__dirname, "..")),
    configFile: typeof flags["--config-file"] === "string" ? path.resolve(flags["--config-file"]) : undefined,
    diff: flags["--diff"] === true,
    expectNoChanges: flags["--expect-no-changes"] === true,
  };
}

export async function runStack(a: RunArgs, onOutput: (text: string) => void, signal?: AbortSignal): Promise<void> {
  Object.assign(process.env, engineEnv());
  const program = async () => require("./index");
  const ws = await LocalWorkspace.create({ workDir: a.cwd, program });
  const stack = await Stack.select(a.stack, ws);
  const common = { onOutput, color: "never" as const, configFile: a.configFile, signal };
  switch (a.operation) {
    case "preview":
      await stack.preview({ ...common, diff: a.diff, expectNoChanges: a.expectNoChanges });
      return;
    case "up":
      await stack.up({ ...common, diff: a.diff, expectNoChanges: a.expectNoChanges });
      return;
    case "refresh":
      await stack.refresh({ ...common, expectNoChanges: a.expectNoChanges });
      return;
    case "destroy":
      await stack.destroy(common);
      return;
  }
}

if (require.main === module) {
  let args: RunArgs;
  try {
    args = parseRunArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(2);
  }
  // Ctrl-C asks the engine to stop as `pulumi up` does: it finishes the steps
  // under way, records them and unlocks the stack. The listeners stay (not
  // `once`): execa's signal-exit re-raises a signal nobody else listens to,
  // which would kill this process and the engine with the stack still locked.
  const abort = new AbortController();
  const stop = (sig: string) => {
    if (abort.signal.aborted) process.stderr.write(`${sig} again: still waiting for the engine to finish the steps under way\n`);
    abort.abort();
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  runStack(args, (t) => process.stdout.write(t), abort.signal).then(
    () => process.exit(0),
    (e: Error) => {
      process.stderr.write(`${e.message}\n`);
      process.exit(1);
    },
  );
}
