import type { Client, ConnectConfig } from "ssh2";
import { loginSlots } from "./login-slots";
import { commandLine } from "../core/shell";
import { CommandFailed, CommandResult, CommandRunner, RunOptions } from "./command-runner";
import { hostKeyKnown } from "./known-hosts";

/**
 * CommandRunner over one ssh2 connection. Callers open it for one operation
 * and close it in finally (withSsh), so no socket outlives a provider call.
 */

/** Who logs in, and on which port, when a target does not say. */
export const SSH_DEFAULTS = { user: "root", port: 22 } as const;

export interface SshTarget {
  /** Name for error messages (e.g. the node's name). */
  readonly label: string;
  readonly host: string;
  /** Default SSH_DEFAULTS.port. */
  readonly port?: number;
  /** Default SSH_DEFAULTS.user. */
  readonly user?: string;
  readonly privateKey: string;
  /** known_hosts text; when given, an unknown host key refuses the connection. */
  readonly knownHosts?: string;
  /** Bound of a login (default 10 s); a wait for a login slot is bounded by it too, so a connect takes at most twice this. */
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
  return `${t.user ?? SSH_DEFAULTS.user}@${t.host}:${t.port ?? SSH_DEFAULTS.port}`;
}

/** A failed handshake, and whether trying again may help. */
class HandshakeFailed extends Error {
  constructor(
    why: string,
    readonly transient: boolean,
  ) {
    super(why);
  }
}

/**
 * A peer that hangs up before the handshake is what sshd does to connections
 * beyond its MaxStartups (default 10:30:100): many VMs created at once open
 * that many logins to one host. Refusals, timeouts and failed logins are not.
 */
const DROPPED_EARLY = /Connection lost before handshake|ECONNRESET|closed before the SSH handshake/;

function connectOnce(t: SshTarget, readyTimeout: number): Promise<Client> {
  // Required here, not at module load: this module is captured into the
  // serialized dynamic provider, which must not carry a live library.
  const { Client } = require("ssh2") as typeof import("ssh2");
  const client = new Client();
  const port = t.port ?? SSH_DEFAULTS.port;
  let hostKeyRejected = false;
  const config: ConnectConfig = {
    host: t.host,
    port,
    username: t.user ?? SSH_DEFAULTS.user,
    privateKey: t.privateKey,
    readyTimeout,
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
    let settled = false;
    client.once("ready", () => {
      settled = true;
      resolve(client);
    });
    // Kept for the client's whole life: ssh2 may emit more than one error
    // (e.g. "Connection lost before handshake" after a timeout), and an
    // unhandled one would take the whole process down.
    const fail = (why: string, transient: boolean) => {
      client.end();
      if (settled) return;
      settled = true;
      reject(new HandshakeFailed(why, transient));
    };
    client.on("error", (e: Error & { level?: string }) =>
      hostKeyRejected
        ? fail("host key not in knownHosts (refusing to connect)", false)
        : e.level === "client-authentication"
          ? fail("authentication with the given private key failed", false)
          : fail(e.message, DROPPED_EARLY.test(e.message)),
    );
    // A peer that hangs up mid-handshake may end the socket without any error event.
    client.on("close", () => fail("connection closed before the SSH handshake finished", true));
    client.connect(config);
    // Without it every command after the first few waits ~40 ms: a small SSH
    // packet held by Nagle's algorithm until the host's delayed ACK (measured
    // in the lab: 48 ms per command on an open connection, 5 ms with it).
    client.setNoDelay(true);
  });
}

/** Attempts at one login when the host keeps dropping us early; all within connectTimeoutMs. */
const HANDSHAKE_ATTEMPTS = 6;

/**
 * Waiting for a login slot (login-slots.ts) is bounded by the connect
 * timeout, and so is the login from its first slot on: a login queued behind
 * this process's own others does not lose its time with the host to them.
 */
async function connect(t: SshTarget): Promise<Client> {
  const budget = t.connectTimeoutMs ?? 10_000;
  const queued = Date.now();
  const slots = loginSlots(t.host, t.port ?? SSH_DEFAULTS.port);
  let started: number | undefined;
  for (let attempt = 1; ; attempt++) {
    let release: () => void;
    try {
      release = await slots.acquire((started ?? queued) + budget);
    } catch (e) {
      throw new HostUnreachable(t.label, where(t), (e as Error).message);
    }
    started ??= Date.now();
    const left = budget - (Date.now() - started);
    try {
      return await connectOnce(t, Math.max(1000, left));
    } catch (e) {
      const f = e as HandshakeFailed;
      // Jittered, so logins dropped together do not all come back together.
      const pause = Math.min(2000, 100 * 2 ** attempt) * (0.5 + Math.random());
      const more = f.transient && attempt < HANDSHAKE_ATTEMPTS && Date.now() - started + pause < budget;
      if (!more) {
        const tries = attempt > 1 ? ` (after ${attempt} attempts in ${Date.now() - started} ms)` : "";
        throw new HostUnreachable(t.label, where(t), f.message + tries);
      }
      release();
      await new Promise((r) => setTimeout(r, pause));
    } finally {
      release();
    }
  }
}

/** Grace between the remote bound's TERM and KILL, and for its exit status to travel back. */
const KILL_AFTER_S = 5;

/**
 * argv bounded on the host itself: closing an SSH channel does not end a
 * non-interactive command, so without this a command we gave up on would
 * go on running (and piling up) on a slow host.
 */
export function remotelyBounded(argv: readonly string[], timeoutMs: number): string[] {
  const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
  return ["timeout", "-k", String(KILL_AFTER_S), `${seconds}s`, ...argv];
}

function execOn(client: Client, t: SshTarget, argv: readonly string[], opts: RunOptions): Promise<CommandResult> {
  const timeoutMs = opts.timeoutMs ?? t.commandTimeoutMs ?? 120_000;
  const bounded = remotelyBounded(argv, timeoutMs);
  // A non-root login reaches virsh and rbd through passwordless sudo.
  const full = (t.user ?? SSH_DEFAULTS.user) === "root" ? bounded : ["sudo", "-n", "--", ...bounded];
  const line = commandLine(full);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const cannotStart = (e: Error) => reject(new HostUnreachable(t.label, where(t), `cannot start a command: ${e.message}`));
    // On a connection that has gone, ssh2 throws ("Not connected") rather than calling back.
    try {
      client.exec(line, (err, stream) => {
        if (err) {
          cannotStart(err);
          return;
        }
        const out: Buffer[] = [];
        const errs: Buffer[] = [];
        let closedByUs = false;
        // The remote bound normally ends the command first; this one covers a
        // host that stopped answering altogether.
        const timer = setTimeout(() => {
          closedByUs = true;
          stream.close();
        }, timeoutMs + (KILL_AFTER_S + 2) * 1000);
        stream.on("data", (d: Buffer) => out.push(d));
        stream.stderr.on("data", (d: Buffer) => errs.push(d));
        stream.on("close", (code: number | null) => {
          clearTimeout(timer);
          // timeout(1) exits 124 after TERM, 137 after KILL.
          const timedOut = closedByUs || ((code === 124 || code === 137) && Date.now() - started >= timeoutMs);
          const stderr = Buffer.concat(errs).toString("utf8") + (timedOut ? `\n(timed out after ${timeoutMs} ms)` : "");
          resolve({ stdout: Buffer.concat(out).toString("utf8"), stderr, code: timedOut ? null : (code ?? null) });
        });
        if (opts.stdin !== undefined) stream.end(opts.stdin);
        else stream.end();
      });
    } catch (e) {
      cannotStart(e as Error);
    }
  });
}

/** One open SSH connection: commands run on channels of it until close(). */
export interface SshSession {
  readonly runner: CommandRunner;
  /** True once the connection is gone (closed by us, the peer, or a failed keepalive). */
  readonly closed: boolean;
  close(): void;
}

/** Opens an SSH connection to t for many commands (parallel ones run on channels of their own). */
export async function openSsh(t: SshTarget): Promise<SshSession> {
  const client = await connect(t);
  let closed = false;
  client.on("close", () => (closed = true));
  return {
    runner: {
      target: `${t.label} (${where(t)})`,
      async run(argv, opts = {}) {
        const r = await execOn(client, t, argv, opts);
        if (r.code !== 0 && !opts.allowFail) throw new CommandFailed(`${t.label} (${where(t)})`, argv, r);
        return r;
      },
    },
    get closed() {
      return closed;
    },
    close() {
      closed = true;
      client.end();
    },
  };
}

/** Opens an SSH connection to t, hands fn a runner over it, and always closes it. */
export async function withSsh<T>(t: SshTarget, fn: (r: CommandRunner) => Promise<T>): Promise<T> {
  const session = await openSsh(t);
  try {
    return await fn(session.runner);
  } finally {
    session.close();
  }
}
