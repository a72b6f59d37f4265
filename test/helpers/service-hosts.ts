import type { LabDescription } from "../../lab/description";
import { RunResult } from "../../lab/exec";
import { ssh } from "./lab-client";
import { eventually } from "./vm-lab";

/**
 * The lab's service hosts as the tests handle them: bare Debian hosts whose
 * dnsmasq (DnsmasqServer), Postgres and Redis (InventoryDatabase) and Ceph
 * daemons (CephCluster) the product runs under systemd (lab/services.ts),
 * reached over SSH from the manager namespace.
 */

const PG_UNIT = "postgresql@15-main.service";
const REDIS_UNIT = "redis-server.service";

export function onDb(d: LabDescription, argv: readonly string[], allowFail = false): Promise<RunResult> {
  return ssh(d, d.hosts.db.address, argv, { allowFail, timeoutMs: 60_000 });
}

export function onDns(d: LabDescription, argv: readonly string[], allowFail = false): Promise<RunResult> {
  return ssh(d, d.hosts.dns.address, argv, { allowFail, timeoutMs: 60_000 });
}

/** On one of the Ceph hosts (ceph1-ceph3), whose daemons CephCluster runs under systemd. */
export function onCephHost(d: LabDescription, name: string, argv: readonly string[], allowFail = false): Promise<RunResult> {
  const h = d.hosts[name];
  if (!h) throw new Error(`no lab host ${name}; the lab has ${Object.keys(d.hosts).join(", ")}`);
  return ssh(d, h.address, argv, { allowFail, timeoutMs: 60_000 });
}

/** Runs f with a unit's processes stopped (SIGSTOP: they accept connections and never answer, the worst case), then resumes them. */
async function withUnitHung<T>(on: (argv: readonly string[]) => Promise<RunResult>, unit: string, f: () => Promise<T>): Promise<T> {
  await on(["systemctl", "kill", "--signal=SIGSTOP", unit]);
  try {
    return await f();
  } finally {
    await on(["systemctl", "kill", "--signal=SIGCONT", unit]);
  }
}

/** Runs f with the DHCP host's dnsmasq hung. */
export function withDnsmasqHung<T>(d: LabDescription, f: () => Promise<T>): Promise<T> {
  return withUnitHung((argv) => onDns(d, argv), "dnsmasq.service", f);
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

/** Runs f with Redis hung. */
export function withRedisHung<T>(d: LabDescription, f: () => Promise<T>): Promise<T> {
  return withUnitHung((argv) => onDb(d, argv), REDIS_UNIT, f);
}
