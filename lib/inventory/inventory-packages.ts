import { quote } from "../core/shell";
import { check } from "../core/errors";
import { checkPostgresVersion, PG_NAME, validateInventoryDatabaseOptions } from "./database";
import { checkIPv4 } from "../core/network";
import { redisConfBody } from "./redis-conf";
import { checkClientNetworks } from "../core/cidr";
import { clientFilterSteps, clientFilterTable } from "../core/nftables-table";
import { aptInstallStep, bashScript, readLineStep, restartOnFailureStep, serviceRunningStep, writeFileStep } from "../core/script";

const HBA_BEGIN = "# kvm-cloud begin";
const HBA_END = "# kvm-cloud end";

/**
 * The inventory from the distribution's packages: Debian's PostgreSQL and
 * Redis under systemd on the database host, the other choice to Docker
 * containers (inventory-host.ts). The passwords arrive on stdin, Postgres'
 * first, one per line (stdinPayload); nothing secret is in the script text.
 */

export interface InventoryPackagesOptions {
  /** Address both listen on (0.0.0.0: every address). */
  readonly bindAddress: string;
  readonly postgresPort: number;
  readonly redisPort: number;
  readonly user: string;
  readonly database: string;
  /** PostgreSQL major version of the host's `postgresql` package (Debian 12: 15). */
  readonly postgresVersion: number;
  /** Bounded waits for each service (tries, 1 s apart; default 60). */
  readonly tries?: number;
  /**
   * Networks (CIDR) allowed to reach Postgres and Redis: pg_hba admits the
   * inventory's role from these only, and an nftables table answers any other
   * source with a reset (the guests share the network). Default: any.
   */
  readonly allowedClients?: readonly string[];
}

export const CLIENTS_TABLE = clientFilterTable("inventory", "who may reach the inventory's Postgres and Redis");

function checkOptions(o: InventoryPackagesOptions): void {
  checkIPv4("bindAddress", o.bindAddress);
  // Ports, the database name and the version by the component's own rules (one place).
  validateInventoryDatabaseOptions({ postgresPort: o.postgresPort, redisPort: o.redisPort, database: o.database, postgresVersion: o.postgresVersion });
  check(typeof o.user === "string" && PG_NAME.test(o.user), "user", o.user, "a PostgreSQL role name of [a-z0-9_]");
  if (o.allowedClients !== undefined) checkClientNetworks("allowedClients", o.allowedClients);
}

/** A bounded wait for a command to succeed; the script fails naming the service otherwise. */
function waitStep(what: string, probe: string, tries: number): string {
  return [
    "ready=0",
    `for _ in $(seq ${tries}); do`,
    `  if ${probe}; then ready=1; break; fi`,
    "  sleep 1",
    "done",
    `[ "$ready" = 1 ] || { echo ${quote(`kvm-cloud: ${what} not ready after ${tries} s`)} >&2; exit 1; }`,
  ].join("\n");
}

export function renderInventoryPackagesScript(o: InventoryPackagesOptions): string {
  checkOptions(o);
  const tries = o.tries ?? 60;
  check(Number.isInteger(tries) && tries >= 1 && tries <= 1000, "tries", tries, "an integer 1-1000");
  const pgUnit = `postgresql@${o.postgresVersion}-main.service`;
  const pgConf = `/etc/postgresql/${o.postgresVersion}/main`;
  const hbaLines = (o.allowedClients ?? ["0.0.0.0/0"]).map((c) => `host ${o.database} ${o.user} ${c} scram-sha-256`);
  const hbaFile = `${pgConf}/pg_hba.conf`;
  // Rewritten as one managed block; the single line older versions appended goes too.
  const hbaAwk = `$0 == legacy { next } /^${HBA_BEGIN}$/ { skip = 1 } !skip { print } /^${HBA_END}$/ { skip = 0 }`;
  const asPostgres = "runuser -u postgres --";
  const sql = [
    "SELECT format('CREATE ROLE %I LOGIN', :'role') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \\gexec",
    "SELECT format('ALTER ROLE %I PASSWORD %L', :'role', :'pw') \\gexec",
    "SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role') WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \\gexec",
  ].join("\n");
  return bashScript("the kvm-cloud inventory from Debian's PostgreSQL and Redis (passwords on stdin)", [
    aptInstallStep(["postgresql", "redis-server"]),
    readLineStep("pg_password"),
    readLineStep("redis_password"),
    // runuser keeps the caller's directory, which postgres may not read.
    "cd /",
    `[ -d ${quote(pgConf)} ] || pg_createcluster ${o.postgresVersion} main`,
    "pg_changed=0",
    writeFileStep(`${pgConf}/conf.d/kvmcloud.conf`, `# Rendered by kvm-cloud.\nlisten_addresses = '${o.bindAddress === "0.0.0.0" ? "*" : o.bindAddress}'\nport = ${o.postgresPort}\n`, { onChange: ["pg_changed=1"] }),
    // pg_hba.conf has no include directory before PostgreSQL 16: one managed block.
    `{ awk -v legacy=${quote(`host ${o.database} ${o.user} 0.0.0.0/0 scram-sha-256`)} ${quote(hbaAwk)} ${quote(hbaFile)}; printf '%s\\n' ${[HBA_BEGIN, ...hbaLines, HBA_END].map(quote).join(" ")}; } > ${quote(`${hbaFile}.kvmcloud-new`)}`,
    `if cmp -s ${quote(`${hbaFile}.kvmcloud-new`)} ${quote(hbaFile)}; then rm -f ${quote(`${hbaFile}.kvmcloud-new`)}; else chown postgres:postgres ${quote(`${hbaFile}.kvmcloud-new`)}; chmod 0640 ${quote(`${hbaFile}.kvmcloud-new`)}; mv -f ${quote(`${hbaFile}.kvmcloud-new`)} ${quote(hbaFile)}; pg_changed=1; fi`,
    restartOnFailureStep("postgresql@.service"),
    `systemctl enable ${quote(pgUnit)} >/dev/null 2>&1`,
    `if [ "$pg_changed" = 1 ]; then systemctl restart ${quote(pgUnit)}; else systemctl start ${quote(pgUnit)}; fi`,
    waitStep("PostgreSQL", `${asPostgres} pg_isready -q -p ${o.postgresPort}`, tries),
    serviceRunningStep(pgUnit),
    // The password travels as a psql variable set by printf (a shell builtin: never in `ps`), quoted by psql (%L).
    `printf '\\\\set pw %s\\n%s\\n' "$pg_password" ${quote(sql)} | ${asPostgres} psql -X -q -v ON_ERROR_STOP=1 -p ${o.postgresPort} -d postgres -v role=${o.user} -v db=${o.database}`,
    "redis_changed=0",
    "umask 027",
    `{ printf '%s' ${quote(redisConfBody({ port: o.redisPort, dir: "/var/lib/redis", bind: o.bindAddress, pidFile: "/run/redis/redis-server.pid" }))}; printf 'requirepass %s\\n' "$redis_password"; } > /etc/redis/.redis.conf.kvmcloud-new`,
    "chown redis:redis /etc/redis/.redis.conf.kvmcloud-new",
    "if cmp -s /etc/redis/.redis.conf.kvmcloud-new /etc/redis/redis.conf; then rm -f /etc/redis/.redis.conf.kvmcloud-new; else mv -f /etc/redis/.redis.conf.kvmcloud-new /etc/redis/redis.conf; redis_changed=1; fi",
    "systemctl enable redis-server.service >/dev/null 2>&1",
    'if [ "$redis_changed" = 1 ]; then systemctl restart redis-server.service; else systemctl start redis-server.service; fi',
    serviceRunningStep("redis-server.service"),
    waitStep("Redis", `REDISCLI_AUTH="$redis_password" redis-cli -h ${o.bindAddress === "0.0.0.0" ? "127.0.0.1" : o.bindAddress} -p ${o.redisPort} --no-auth-warning ping 2>/dev/null | grep PONG >/dev/null`, tries),
    ...clientFilterSteps(CLIENTS_TABLE, o.allowedClients, [o.postgresPort, o.redisPort]),
  ]);
}

/** On delete: both services stop; the packages and their data stay (the inventory outlives the component). */
export function renderInventoryPackagesRemoveScript(postgresVersion: number): string {
  checkPostgresVersion("postgresVersion", postgresVersion);
  return bashScript("stop the kvm-cloud inventory services (data kept)", [
    `systemctl disable --now ${quote(`postgresql@${postgresVersion}-main.service`)} redis-server.service >/dev/null 2>&1 || true`,
  ]);
}
