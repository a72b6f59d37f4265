import { spawn } from "child_process";
import { commandLine } from "../lib/core/shell";

/** How to run one command of the lab. */
export interface RunOptions {
  /** Bytes written to the command's standard input. */
  readonly input?: string | Buffer;
  /** Resolve instead of rejecting when the command exits non-zero. */
  readonly allowFail?: boolean;
  /** Kill the command after this many milliseconds (default 120 s). */
  readonly timeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** An error that carries the command line and the program's own message. */
export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly result: RunResult,
  ) {
    const detail = (result.stderr.trim() || result.stdout.trim()).split("\n").slice(-6).join("\n");
    super(`command failed (exit ${result.code}): ${commandLine(argv)}\n${detail}`);
    this.name = "CommandError";
  }
}

/** Runs argv without a shell and collects its output. */
export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {
      stdio: ["pipe", "pipe", "pipe"],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${argv[0]}: ${e.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const result: RunResult = {
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8") + (signal ? `\n(killed by ${signal})` : ""),
      };
      if (result.code !== 0 && !opts.allowFail) {
        reject(new CommandError(argv, result));
      } else {
        resolve(result);
      }
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(opts.input ?? "");
  });
}

/** Runs argv and returns its standard output. */
export async function output(argv: readonly string[], opts: RunOptions = {}): Promise<string> {
  return (await run(argv, opts)).stdout;
}

/** True when argv exits 0. */
export async function succeeds(argv: readonly string[], opts: RunOptions = {}): Promise<boolean> {
  return (await run(argv, { ...opts, allowFail: true })).code === 0;
}

/** argv prefixed so that it runs inside a network namespace. */
export function inNetns(ns: string, argv: readonly string[]): string[] {
  return ["ip", "netns", "exec", ns, ...argv];
}

/** Polls `probe` until it returns a value, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) {
        return value;
      }
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const why = last instanceof Error ? `: ${last.message}` : "";
      throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
