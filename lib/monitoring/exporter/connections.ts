import { Pool } from "pg";
import { CloudSpec } from "../../vm/cloud-spec";
import { withSsh } from "../../transport/ssh-runner";
import { Query } from "./query";
import { OnHost } from "./scrape";

/**
 * The exporter's real reach into a cloud: ssh2 to the hosts (a connection per
 * scrape and host, closed after it, so a host that comes back is seen at the
 * next scrape) and a small pg pool to the inventory, every wait bounded by
 * the scrape's own bound.
 */
export interface CloudConnections {
  readonly query: Query;
  readonly onHost: OnHost;
  close(): Promise<void>;
}

export function connectCloud(cloud: CloudSpec, scrapeTimeoutMs: number, log: (line: string) => void): CloudConnections {
  const bound = Math.max(1000, scrapeTimeoutMs - 500);
  const pool = new Pool({
    connectionString: cloud.inventory.postgresUrl,
    max: 2,
    connectionTimeoutMillis: bound,
    statement_timeout: bound,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its server must not take the exporter down.
  pool.on("error", (e) => log(`inventory connection lost: ${e.message}`));
  return {
    query: async (sql, params) => (await pool.query(sql, params as unknown[] | undefined)).rows,
    onHost: (label, ssh, fn) =>
      withSsh(
        { label, host: ssh.host, port: ssh.port, user: ssh.user, privateKey: ssh.privateKey, knownHosts: cloud.knownHosts, connectTimeoutMs: bound, commandTimeoutMs: bound },
        fn,
      ),
    close: () => pool.end(),
  };
}
