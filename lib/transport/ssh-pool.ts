import { createHash } from "crypto";
import { CommandResult, CommandRunner, RunOptions } from "./command-runner";
import { LOGINS_PER_HOST } from "./login-slots";
import { openSsh, SSH_DEFAULTS, SshSession, SshTarget } from "./ssh-runner";

/**
 * SSH connections to one host shared by every operation of this process that
 * uses the host at the moment. The provider host runs a `pulumi up`'s creates
 * in one process: 16 VMs at once used to mean 32 logins to each node, whose
 * handshakes queued behind each other past the connect timeout (CI, run 10:
 * "no login slot within the connect timeout"). Commands now run as channels
 * of a few connections, opened only when the ones there are full.
 *
 * A host's connections live while any user holds a lease on it and close
 * with the last lease, so nothing outlives the provider calls that used it.
 */

/** sshd's MaxSessions (channels per connection) defaults to 10; stay under it. */
export const CHANNELS_PER_CONNECTION = 8;
/** At most this many connections per host: a login slot each (login-slots.ts). */
export const CONNECTIONS_PER_HOST = LOGINS_PER_HOST;

/** What ssh2 says when sshd refuses a channel (MaxSessions reached on its side). */
const REFUSED_CHANNEL = /Channel open failure/;
const CHANNEL_ATTEMPTS = 4;

/** A lease on one host's shared connections; run() after release() throws. */
export interface HostLease {
  readonly runner: CommandRunner;
  release(): void;
}

interface Connection {
  readonly session: Promise<SshSession>;
  /** Set once the connect settles, so a pick can see a dead connection without waiting. */
  opened?: SshSession;
  failed: boolean;
  channels: number;
}

function where(t: SshTarget): string {
  return `${t.label} (${t.user ?? SSH_DEFAULTS.user}@${t.host}:${t.port ?? SSH_DEFAULTS.port})`;
}

class HostConnections {
  leases = 0;
  private connections: Connection[] = [];
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly t: SshTarget) {}

  async run(argv: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    const waitMs = opts.timeoutMs ?? this.t.commandTimeoutMs ?? 120_000;
    for (let attempt = 1; ; attempt++) {
      const c = await this.channel(waitMs);
      try {
        return await (await c.session).runner.run(argv, opts);
      } catch (e) {
        // sshd frees a session a moment after its channel closed, so a channel
        // opened right after may be refused; the command never started.
        if (!(attempt < CHANNEL_ATTEMPTS && REFUSED_CHANNEL.test((e as Error).message))) throw e;
      } finally {
        c.channels--;
        this.waiting.shift()?.();
      }
      await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
    }
  }

  closeAll(): void {
    const all = this.connections;
    this.connections = [];
    for (const c of all) c.session.then((s) => s.close(), () => undefined);
  }

  private live(c: Connection): boolean {
    return !c.failed && !(c.opened?.closed ?? false);
  }

  /** A connection with a free channel, taken: the least busy one there, else a new one while under the cap, else the next one freed. */
  private channel(waitMs: number): Promise<Connection> {
    const take = (): Connection | undefined => {
      this.connections = this.connections.filter((c) => this.live(c));
      let best: Connection | undefined;
      for (const c of this.connections) if (c.channels < CHANNELS_PER_CONNECTION && (!best || c.channels < best.channels)) best = c;
      if (!best && this.connections.length < CONNECTIONS_PER_HOST) best = this.open();
      if (best) best.channels++;
      return best;
    };
    const now = take();
    if (now) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const turn = () => {
        const c = take();
        if (!c) {
          this.waiting.unshift(turn);
          return;
        }
        clearTimeout(timer);
        resolve(c);
      };
      const timer = setTimeout(() => {
        const i = this.waiting.indexOf(turn);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(
          new Error(
            `no free SSH channel to ${where(this.t)} within ${waitMs} ms: ${this.connections.length} connections with ${CHANNELS_PER_CONNECTION} channels each all busy`,
          ),
        );
      }, waitMs);
      this.waiting.push(turn);
    });
  }

  private open(): Connection {
    const c: Connection = { session: openSsh(this.t), failed: false, channels: 0 };
    c.session.then(
      (s) => (c.opened = s),
      () => {
        // Its users get the error from their own await; the next pick opens afresh.
        c.failed = true;
        this.waiting.shift()?.();
      },
    );
    this.connections.push(c);
    return c;
  }
}

const byTarget = new Map<string, HostConnections>();

/** Targets that differ in anything a login or an error message uses get connections of their own. */
function keyOf(t: SshTarget): string {
  const h = createHash("sha256");
  for (const part of [t.label, t.user ?? SSH_DEFAULTS.user, t.host, String(t.port ?? SSH_DEFAULTS.port), t.privateKey, t.knownHosts ?? "", String(t.connectTimeoutMs ?? ""), String(t.commandTimeoutMs ?? "")]) {
    h.update(part).update("\0");
  }
  return h.digest("hex");
}

/** Leases t's shared connections; connections open at the first command, not here. */
export function leaseHost(t: SshTarget): HostLease {
  const key = keyOf(t);
  let host = byTarget.get(key);
  if (!host) {
    host = new HostConnections(t);
    byTarget.set(key, host);
  }
  host.leases++;
  const held = host;
  let released = false;
  return {
    runner: {
      target: where(t),
      run(argv, opts) {
        if (released) return Promise.reject(new Error(`SSH lease on ${where(t)} used after release()`));
        return held.run(argv, opts);
      },
    },
    release() {
      if (released) return;
      released = true;
      if (--held.leases > 0) return;
      held.closeAll();
      if (byTarget.get(key) === held) byTarget.delete(key);
    },
  };
}
