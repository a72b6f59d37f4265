import { CloudSpec, findNode, SshEndpoint } from "./cloud-spec";
import { CommandRunner } from "../transport/command-runner";
import { SshTarget, withSsh } from "../transport/ssh-runner";
import { HostLease, leaseHost } from "../transport/ssh-pool";
import { withinMs } from "../core/time-bound";
import { Inventory, Sql, tryLockVm, unlockVm } from "../inventory/vm-rows";
import { bestEffortCache } from "../inventory/cache";

/**
 * How kvm-cloud's code reaches a cloud: its nodes and DHCP host over SSH, its
 * inventory in Postgres and Redis. Three implementations: cloudAccess() (a
 * connection per call, for provider calls: nothing outlives them and nothing
 * is serialized with the provider), operationAccess() (an SSH session per
 * host for one operation) and pooledAccess() in pooled-access.ts (for
 * long-lived services such as the exporter).
 */
export interface CloudAccess {
  onNode<T>(node: string, fn: (r: CommandRunner) => Promise<T>): Promise<T>;
  onDhcp<T>(fn: (r: CommandRunner) => Promise<T>): Promise<T>;
  withInventory<T>(fn: (inv: Inventory) => Promise<T>): Promise<T>;
  /**
   * Holds the VM name's lock (inventory.ts tryLockVm) on a connection of its
   * own until release(); `held` is false when another live create has it.
   * `sql` is that connection, for reads the lock holder makes meanwhile.
   */
  lockVm(name: string): Promise<VmLock>;
}

export interface VmLock {
  readonly held: boolean;
  readonly sql: Sql;
  release(): Promise<void>;
}

/** The SSH target of a host of the cloud; `bounds` override ssh-runner's default timeouts. */
export function hostTarget(label: string, s: SshEndpoint, knownHosts: string | undefined, bounds: Pick<SshTarget, "connectTimeoutMs" | "commandTimeoutMs"> = {}): SshTarget {
  return { label, host: s.host, port: s.port, user: s.user, privateKey: s.privateKey, knownHosts, ...bounds };
}

/** The label of the DHCP host in errors. */
export const DHCP_LABEL = "the DHCP host";

/** Names the inventory endpoint without its credentials. */
export function redacted(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.hostname}:${u.port || (u.protocol.startsWith("redis") ? 6379 : 5432)}`;
  } catch {
    return "(unparsable URL)";
  }
}

/** Text with the inventory's URLs (which hold its passwords) named without their credentials, wherever they appear. */
export function withoutCredentials(text: string, c: CloudSpec): string {
  return [c.inventory.postgresUrl, c.inventory.redisUrl].reduce((t, url) => t.split(url).join(redacted(url)), text);
}

async function openPostgres(c: CloudSpec): Promise<import("pg").Client> {
  const { Client } = require("pg") as typeof import("pg");
  const pg = new Client({ connectionString: c.inventory.postgresUrl, connectionTimeoutMillis: 10_000, statement_timeout: 60_000 });
  // A connection that drops while held must not take the process down.
  pg.on("error", () => undefined);
  try {
    await pg.connect();
  } catch (e) {
    await pg.end().catch(() => undefined);
    throw new Error(`cannot reach the inventory database at ${redacted(c.inventory.postgresUrl)}: ${(e as Error).message}`);
  }
  return pg;
}

async function openInventory(c: CloudSpec): Promise<{ inv: Inventory; close(): Promise<void> }> {
  const Redis = require("ioredis") as typeof import("ioredis").default;
  // Postgres is connected at the first statement: a refresh that only asks the cache never waits for it, nor fails with it down.
  let pg: Promise<import("pg").Client> | undefined;
  const sql: Sql = { query: async (text, params) => (await (pg ??= openPostgres(c))).query(text, params) };
  const redis = new Redis(c.inventory.redisUrl, { lazyConnect: true, connectTimeout: 3_000, maxRetriesPerRequest: 1, enableOfflineQueue: false });
  // ioredis reports connection trouble as events as well as rejections; the rejection is what we act on.
  redis.on("error", () => undefined);
  // The cache may be down: operations go on without it (inventory-cache.ts).
  const warn = (why: string) => process.stderr.write(`warning: ${withoutCredentials(why, c)}\n`);
  // A hung Redis accepts the TCP connection and never answers the ready check: bound that too.
  const connected = await withinMs(redis.connect(), 3_000, () => new Error("no answer within 3000 ms")).then(
    () => true,
    (e: Error) => {
      warn(`cannot reach the inventory cache at ${redacted(c.inventory.redisUrl)}: ${e.message}; going on without it`);
      return false;
    },
  );
  return {
    inv: { sql, cache: bestEffortCache(connected ? redis : undefined, warn) },
    async close() {
      redis.disconnect();
      const client = await pg?.catch(() => undefined);
      await client?.end().catch(() => undefined);
    },
  };
}

/** The real CloudAccess: ssh2 to nodes and the DHCP host, pg and ioredis to the inventory. */
export function cloudAccess(c: CloudSpec): CloudAccess {
  return {
    onNode(node, fn) {
      const n = findNode(c, node);
      return withSsh(hostTarget(n.name, n.ssh, c.knownHosts), fn);
    },
    onDhcp(fn) {
      return withSsh(hostTarget(DHCP_LABEL, c.dhcp.ssh, c.knownHosts), fn);
    },
    async lockVm(name) {
      const pg = await openPostgres(c);
      const held = await tryLockVm(pg, name).catch(async (e) => {
        await pg.end().catch(() => undefined);
        throw e;
      });
      return {
        held,
        sql: pg,
        async release() {
          // Ending the session frees the lock too; unlock first so a reused server session never keeps it.
          if (held) await unlockVm(pg, name).catch(() => undefined);
          await pg.end().catch(() => undefined);
        },
      };
    },
    async withInventory(fn) {
      const { inv, close } = await openInventory(c);
      try {
        return await fn(inv);
      } finally {
        await close();
      }
    },
  };
}

/**
 * A CloudAccess for one operation (a create, a read...) that holds a lease on
 * each host's shared SSH connections (ssh-pool.ts) for the operation's life
 * instead of logging in per step: a create visits a node half a dozen times,
 * each handshake costs more than most of the commands, and operations running
 * at once in one provider process share the connections too. A connection
 * that failed or went away is opened again on the next use (undo after a node
 * died still tries it afresh); close() gives the leases back, and a host's
 * last lease closes its connections. The inventory and the lock stay per call.
 */
export function operationAccess(c: CloudSpec): CloudAccess & { close(): Promise<void> } {
  const base = cloudAccess(c);
  const leases = new Map<string, HostLease>();
  let ended = false;
  const lease = (key: string, t: SshTarget): CommandRunner => {
    if (ended) throw new Error(`operation access to ${t.label} used after close()`);
    let l = leases.get(key);
    if (!l) {
      l = leaseHost(t);
      leases.set(key, l);
    }
    return l.runner;
  };
  return {
    ...base,
    async onNode(node, fn) {
      const n = findNode(c, node);
      return fn(lease(`node:${n.name}`, hostTarget(n.name, n.ssh, c.knownHosts)));
    },
    async onDhcp(fn) {
      return fn(lease("dhcp", hostTarget(DHCP_LABEL, c.dhcp.ssh, c.knownHosts)));
    },
    async close() {
      ended = true;
      for (const l of leases.values()) l.release();
      leases.clear();
    },
  };
}
