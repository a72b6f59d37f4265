import type { Client, ConnectConfig } from "ssh2";
import { commandLine } from "../shell";
import { CommandFailed, CommandResult, CommandRunner, RunOptions } from "./command-runner";
import { hostKeyKnown } from "./known-hosts";

/**
 * CommandRunner over one ssh2 connection. Callers open it for one operation
 * and close it in finally (withSsh), so no socket outlives a provider call.
 */

export interface SshTarget {
  /** Name for error messages (e.g. the node's name). */
  readonly label: string;
  readonly host: string;
  readonly port?: number;
  readonly user?: string;
  readonly privateKey: string;
  /** known_hosts text; when given, an unknown host key refuses the connection. */
  readonly knownHosts?: string;
  readonly connectTimeoutMs?: number;
  /** Bound of each command when the call gives none (default 120 s). */
  readonly commandTimeoutMs?: number;
}

/** The host could not be reached or refused us; says which host and why. */
export class HostUnreachable extends Error {
  constructor(
    readonly label: string,
    readonly where: string,
    why: string,
  ) {
    const message = `cannot reach ${label} (${where}): ${why}`;
    super(message);
    this.message = message; // see ValidationError
    this.name = "HostUnreachable";
  }
}

function where(t: SshTarget): string {
  return `${t.user ?? "root"}@${t.host}:${t.port ?? 22}`;
}

async function connect(t: SshTarget): Promise<Client> {
  // Required here, not at module load: this module is captured into the
  // serialized dynamic provider, which must not carry a live library.
  const { Client } = require("ssh2") as typeof import("ssh2");
  const client = new Client();
  const port = t.port ?? 22;
  let hostKeyRejected = false;
  const config: ConnectConfig = {
    host: t.host,
    port,
    username: t.user ?? "root",
    privateKey: t.privateKey,
    readyTimeout: t.connectTimeoutMs ?? 10_000,
    keepaliveInterval: 5_000,
    keepaliveCountMax: 3,
    ...(t.knownHosts !== undefined
      ? {
          hostVerifier: (key: Buffer) => {
            const ok = hostKeyKnown(t.knownHosts!, t.host, port, key);
            hostKeyRejected = !ok;
            return ok;
          },
        }
      : {}),
  };
  return new Promise((resolve, reject) => {
    client.once("ready", () => resolve(client));
    client.once("error", (e: Error & { level?: string }) => {
      client.end();
      const why = hostKeyRejected
        ? "host key not in knownHosts (refusing to connect)"
        : e.level === "client-authentication"
          ? "authentication with the given private key failed"
          : e.message;
      reject(new HostUnreachable(t.label, where(t), why));
    });
    client.connect(config);
  });
}

function execOn(client: Client, t: SshTarget, argv: readonly string[], opts: RunOptions): Promise<CommandResult> {
  // A non-root login reaches virsh and rbd through passwordless sudo.
  const full = (t.user ?? "root") === "root" ? argv : ["sudo", "-n", "--", ...argv];
  const line = commandLine(full);
  const timeoutMs = opts.timeoutMs ?? t.commandTimeoutMs ?? 120_000;
  return new Promise((resolve, reject) => {
    client.exec(line, (err, stream) => {
      if (err) {
        reject(new HostUnreachable(t.label, where(t), `cannot start a command: ${err.message}`));
        return;
      }
      const out: Buffer[] = [];
      const errs: Buffer[] = [];
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        stream.close();
      }, timeoutMs);
      stream.on("data", (d: Buffer) => out.push(d));
      stream.stderr.on("data", (d: Buffer) => errs.push(d));
      stream.on("close", (code: number | null) => {
        clearTimeout(timer);
        const stderr = Buffer.concat(errs).toString("utf8") + (timedOut ? `\n(timed out after ${timeoutMs} ms)` : "");
        resolve({ stdout: Buffer.concat(out).toString("utf8"), stderr, code: timedOut ? null : (code ?? null) });
      });
      if (opts.stdin !== undefined) stream.end(opts.stdin);
      else stream.end();
    });
  });
}

/** Opens an SSH connection to t, hands fn a runner over it, and always closes it. */
export async function withSsh<T>(t: SshTarget, fn: (r: CommandRunner) => Promise<T>): Promise<T> {
  const client = await connect(t);
  const runner: CommandRunner = {
    target: `${t.label} (${where(t)})`,
    async run(argv, opts = {}) {
      const r = await execOn(client, t, argv, opts);
      if (r.code !== 0 && !opts.allowFail) throw new CommandFailed(`${t.label} (${where(t)})`, argv, r);
      return r;
    },
  };
  try {
    return await fn(runner);
  } finally {
    client.end();
  }
}
