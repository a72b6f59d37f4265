import type { LabDescription } from "../../lab/description";
import { RunResult } from "../../lab/exec";
import { ssh } from "./lab-client";
import { eventually } from "./vm-lab";

/**
 * The lab's database host as the tests handle it: a bare Debian host whose
 * Postgres and Redis the InventoryDatabase component runs under systemd
 * (lab/inventory.ts), reached over SSH from the manager namespace.
 */

const PG_UNIT = "postgresql@15-main.service";
const REDIS_UNIT = "redis-server.service";

export function onDb(d: LabDescription, argv: readonly string[], allowFail = false): Promise<RunResult> {
  return ssh(d, d.hosts.db.address, argv, { allowFail, timeoutMs: 60_000 });
}

/** psql as the postgres superuser on the host (only to make and drop throwaway databases). */
export function superuserSql(d: LabDescription, sql: string): Promise<RunResult> {
  return onDb(d, ["runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "postgres", "-c", sql]);
}

const HBA = "/etc/postgresql/15/main/pg_hba.conf";

/**
 * A throwaway database the inventory's role owns and reaches over TCP like
 * its own: the component's pg_hba.conf admits that role to its database only,
 * so the test adds (and drop removes) one line for the throwaway one.
 */
export async function createThrowawayDatabase(d: LabDescription, database: string, owner: string): Promise<void> {
  await superuserSql(d, `CREATE DATABASE ${database} OWNER ${owner}`);
  await onDb(d, ["bash", "-c", 'printf "%s\\n" "$1" >> "$2"', "hba", `host ${database} ${owner} 0.0.0.0/0 scram-sha-256`, HBA]);
  await superuserSql(d, "SELECT pg_reload_conf()");
}

export async function dropThrowawayDatabase(d: LabDescription, database: string): Promise<void> {
  await superuserSql(d, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await onDb(d, ["sed", "-i", `/^host ${database} /d`, HBA]);
  await superuserSql(d, "SELECT pg_reload_conf()");
}

/** Postgres stopped at once (`-m immediate`: as a crash would). */
export async function stopPostgres(d: LabDescription): Promise<void> {
  await onDb(d, ["pg_ctlcluster", "15", "main", "stop", "-m", "immediate"]);
}

/** Postgres started again, and accepting connections (bounded). */
export async function startPostgres(d: LabDescription): Promise<void> {
  await onDb(d, ["systemctl", "start", PG_UNIT]);
  await eventually("Postgres to accept connections", async () => (await onDb(d, ["pg_isready", "-q"], true)).code, (c) => c === 0, 60_000, 500);
}

/** Runs f with Redis stopped (SIGSTOP: it accepts connections and never answers, the worst case), then resumes it. */
export async function withRedisHung<T>(d: LabDescription, f: () => Promise<T>): Promise<T> {
  await onDb(d, ["systemctl", "kill", "--signal=SIGSTOP", REDIS_UNIT]);
  try {
    return await f();
  } finally {
    await onDb(d, ["systemctl", "kill", "--signal=SIGCONT", REDIS_UNIT]);
  }
}
