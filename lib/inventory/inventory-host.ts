import { quote } from "../core/shell";
import { check } from "../core/errors";
import { checkPort } from "../core/network";
import { PG_NAME } from "./database";
import { aptInstallStep, bashScript, enableServiceStep } from "../core/script";

/**
 * The database host's scripts: the Docker engine the @pulumi/docker provider
 * talks to, and the inventory schema applied inside the Postgres container or,
 * with the packages runtime (inventory-packages.ts), to the host's Postgres.
 */

export function renderDockerSetupScript(): string {
  return bashScript("the Docker engine for the inventory containers", [aptInstallStep(["docker.io"]), enableServiceStep("docker.service")]);
}

export interface SchemaApplyOptions {
  /** Name of the Postgres container; none: the host's own Postgres (packages runtime). */
  readonly container?: string;
  /** The host's Postgres port (without a container; default 5432). */
  readonly port?: number;
  readonly user: string;
  readonly database: string;
  /** Bounded wait for Postgres to accept connections (default 60 tries, 2 s apart). */
  readonly tries?: number;
}

const CONTAINER = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/**
 * Applies the SQL on stdin with psql inside the container, over its local
 * socket (no password needed there), in one transaction that stops at the
 * first error.
 */
export function renderSchemaApplyScript(o: SchemaApplyOptions): string {
  if (o.container !== undefined) check(typeof o.container === "string" && CONTAINER.test(o.container), "container", o.container, "a Docker container name of [A-Za-z0-9_.-]");
  const port = o.port ?? 5432;
  checkPort("port", port);
  check(typeof o.user === "string" && PG_NAME.test(o.user), "user", o.user, "a PostgreSQL role name of [a-z0-9_]");
  check(typeof o.database === "string" && PG_NAME.test(o.database), "database", o.database, "a PostgreSQL database name of [a-z0-9_]");
  const tries = o.tries ?? 60;
  check(Number.isInteger(tries) && tries >= 1 && tries <= 1000, "tries", tries, "an integer 1-1000");
  const where = o.container === undefined ? "on this host" : `in ${o.container}`;
  // In the container, the image's local socket trusts the user; on the host, postgres
  // (peer) applies it as the user, so the objects belong to the user either way.
  const [ready, psql] =
    o.container === undefined
      ? [
          `runuser -u postgres -- pg_isready -q -p ${port} -d ${quote(o.database)}`,
          `runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 --single-transaction -p ${port} -d ${quote(o.database)} -c ${quote(`SET ROLE ${o.user}`)} -f -`,
        ]
      : [
          `docker exec ${quote(o.container)} pg_isready -q -U ${quote(o.user)} -d ${quote(o.database)}`,
          `docker exec -i ${quote(o.container)} psql -X -q -v ON_ERROR_STOP=1 --single-transaction -U ${quote(o.user)} -d ${quote(o.database)} -f -`,
        ];
  return bashScript("the kvm-cloud inventory schema (SQL on stdin)", [
    ...(o.container === undefined ? ["cd /"] : []),
    "ready=0",
    `for _ in $(seq ${tries}); do`,
    `  if ${ready}; then ready=1; break; fi`,
    "  sleep 2",
    "done",
    `[ "$ready" = 1 ] || { echo "kvm-cloud: Postgres ${where} not ready after ${tries * 2}s" >&2; exit 1; }`,
    psql,
  ]);
}
