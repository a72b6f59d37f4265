import { commandLine } from "../core/shell";

/**
 * How kvm-cloud code runs a command on a host, whatever carries it (ssh2 to a
 * real host, a local child process in tests). Operations modules take one of
 * these instead of opening connections themselves, so they stay testable.
 */
export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
  /** Exit status; null when the command was killed by a signal or timed out. */
  readonly code: number | null;
}

export interface RunOptions {
  /** Bytes or text written to the command's stdin, then closed. */
  readonly stdin?: string | Buffer;
  /** Kill the command after this long (default: the runner's own bound). */
  readonly timeoutMs?: number;
  /** Resolve with a non-zero code instead of throwing CommandFailed. */
  readonly allowFail?: boolean;
}

export interface CommandRunner {
  /** Label for error messages, e.g. "root@10.0.0.21:22". Never contains secrets. */
  readonly target: string;
  /** Runs argv (quoted for the remote shell by the runner). */
  run(argv: readonly string[], opts?: RunOptions): Promise<CommandResult>;
}

/** A command exited non-zero; the message carries the daemon's own words (stderr). */
export class CommandFailed extends Error {
  constructor(
    readonly target: string,
    readonly argv: readonly string[],
    readonly result: CommandResult,
  ) {
    const said = (result.stderr.trim() || result.stdout.trim()).split("\n").slice(-6).join("\n");
    // argv never carries secrets (they travel on stdin), so the command can be shown.
    const shown = commandLine(argv.map((a) => (a.includes("\n") ? "<script>" : a)));
    const message = `${shown.length > 200 ? `${shown.slice(0, 200)}...` : shown} on ${target} failed (${result.code === null ? "killed or timed out" : `exit ${result.code}`})${said ? `: ${said}` : ""}`;
    super(message);
    this.message = message; // see ValidationError
    this.name = "CommandFailed";
  }
}
