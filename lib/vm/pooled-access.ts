import { Pool } from "pg";
import { CloudSpec, findNode } from "./cloud-spec";
import { CloudAccess, DHCP_LABEL, hostTarget, redacted, withoutCredentials } from "./cloud-access";
import { withSsh } from "../transport/ssh-runner";
import { Cache, tryLockVm, unlockVm } from "../inventory/vm-rows";
import { bestEffortCache } from "../inventory/cache";

export interface PooledAccessOptions {
  /** Bound of every wait: SSH connect and command, pool checkout, SQL statement. */
  readonly boundMs: number;
  /** Hears connection trouble that no call is waiting for (an idle client lost, the cache down). Never given a credential. */
  readonly warn: (line: string) => void;
  /** Most Postgres connections held at once. Default 2. */
  readonly maxConnections?: number;
}

/**
 * The CloudAccess of a long-lived service (the exporter, an HA manager): a
 * small Postgres pool and one Redis client kept for the service's life
 * instead of a connection per call, so that a scrape every few seconds does
 * not pay a login each time. SSH stays one connection per call: a host that
 * comes back is seen at the next call, and a hung one costs one bounded call.
 * Redis is connected at its first use only, so a service that never touches
 * the cache never opens it; ioredis reconnects it after an outage.
 */
export function pooledAccess(c: CloudSpec, o: PooledAccessOptions): CloudAccess & { close(): Promise<void> } {
  const bound = { connectTimeoutMs: o.boundMs, commandTimeoutMs: o.boundMs };
  const pool = new Pool({
    connectionString: c.inventory.postgresUrl,
    max: o.maxConnections ?? 2,
    connectionTimeoutMillis: o.boundMs,
    statement_timeout: o.boundMs,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its server must not take the service down.
  pool.on("error", (e) => o.warn(`inventory connection to ${redacted(c.inventory.postgresUrl)} lost: ${e.message}`));
  let redis: import("ioredis").default | undefined;
  const client = (): Cache => {
    if (!redis) {
      const Redis = require("ioredis") as typeof import("ioredis").default;
      redis = new Redis(c.inventory.redisUrl, { connectTimeout: o.boundMs, maxRetriesPerRequest: 1 });
      // Failures reach the caller as rejections, which bestEffortCache reports.
      redis.on("error", () => undefined);
    }
    return redis;
  };
  const cache = bestEffortCache(
    { get: (k) => client().get(k), set: (k, v) => client().set(k, v), del: (k) => client().del(k) },
    (why) => o.warn(withoutCredentials(why, c)),
    o.boundMs,
  );
  return {
    onNode(node, fn) {
      const n = findNode(c, node);
      return withSsh(hostTarget(n.name, n.ssh, c.knownHosts, bound), fn);
    },
    onDhcp(fn) {
      return withSsh(hostTarget(DHCP_LABEL, c.dhcp.ssh, c.knownHosts, bound), fn);
    },
    withInventory(fn) {
      return fn({ sql: pool, cache });
    },
    async lockVm(name) {
      // A session lock lives on one connection: hold a client of the pool until release.
      const pg = await pool.connect();
      const held = await tryLockVm(pg, name).catch((e) => {
        pg.release(true);
        throw e;
      });
      return {
        held,
        sql: pg,
        async release() {
          const unlocked = !held || (await unlockVm(pg, name).then(() => true, () => false));
          // A connection that may still hold the lock is closed, not returned to the pool.
          pg.release(!unlocked);
        },
      };
    },
    async close() {
      redis?.disconnect();
      await pool.end().catch(() => undefined);
    },
  };
}
