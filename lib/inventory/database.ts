import { checkPassword } from "./redis-conf";
import { withDefaults } from "../core/defaults";
import { check } from "../core/errors";
import { checkClientNetworks } from "../core/cidr";
import { checkIPv4, checkPort } from "../core/network";

import { checkHostRuntime, checkImageReference, DEFAULT_HOST_RUNTIME, HostRuntime } from "../core/host-runtime";

/** How Postgres and Redis run on the database host. */
export type InventoryRuntime = HostRuntime;

/** The inventory database's plain settings, as validated before anything is registered. */
export interface InventoryDatabaseOptions {
  readonly runtime?: InventoryRuntime;
  readonly postgresVersion?: number;
  readonly postgresImage?: string;
  readonly postgresPort?: number;
  readonly database?: string;
  readonly postgresUser?: string;
  readonly postgresPassword?: string;
  readonly redisImage?: string;
  readonly redisPort?: number;
  readonly redisPassword?: string;
  readonly bindAddress?: string;
  readonly allowedClients?: readonly string[];
}

export const INVENTORY_DEFAULTS = {
  runtime: DEFAULT_HOST_RUNTIME,
  postgresVersion: 15,
  postgresImage: "postgres:15",
  postgresPort: 5432,
  database: "kvmcloud",
  postgresUser: "kvmcloud",
  redisImage: "redis:7",
  redisPort: 6379,
  bindAddress: "0.0.0.0",
} as const;

/** The settings with every default filled; the passwords are not here (given ones are checked where they are used). */
export interface ResolvedInventoryDatabase {
  readonly runtime: InventoryRuntime;
  readonly postgresVersion: number;
  readonly postgresImage: string;
  readonly postgresPort: number;
  readonly database: string;
  readonly postgresUser: string;
  readonly redisImage: string;
  readonly redisPort: number;
  readonly bindAddress: string;
  readonly allowedClients?: readonly string[];
}

/** Pure: every default filled once, then every rule checked on what will be used. */
export function resolveInventoryDatabaseOptions(o: Omit<InventoryDatabaseOptions, "postgresPassword" | "redisPassword">): ResolvedInventoryDatabase {
  const r: ResolvedInventoryDatabase = { ...withDefaults<Omit<ResolvedInventoryDatabase, "allowedClients">>(o, INVENTORY_DEFAULTS), allowedClients: o.allowedClients };
  validateInventoryDatabaseOptions(r);
  return r;
}

/** A PostgreSQL role or database name the scripts use unquoted by SQL. */
export const PG_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** The host's PostgreSQL major version (packages runtime). */
export function checkPostgresVersion(field: string, v: unknown): void {
  check(Number.isInteger(v) && (v as number) >= 11 && (v as number) <= 30, field, v, "an integer 11-30 (the host's PostgreSQL major version)");
}

/** Pure: throws a ValidationError naming the first bad field; fields left undefined are not checked. */
export function validateInventoryDatabaseOptions(o: InventoryDatabaseOptions, prefix = ""): void {
  const f = (name: string) => `${prefix}${name}`;
  if (o.runtime !== undefined) checkHostRuntime(f("runtime"), o.runtime);
  if (o.postgresVersion !== undefined) checkPostgresVersion(f("postgresVersion"), o.postgresVersion);
  for (const key of ["postgresImage", "redisImage"] as const) {
    const v = o[key];
    if (v !== undefined) checkImageReference(f(key), v);
  }
  for (const key of ["postgresPort", "redisPort"] as const) {
    const v = o[key];
    if (v !== undefined) checkPort(f(key), v);
  }
  if (o.postgresPort !== undefined && o.redisPort !== undefined) {
    check(o.postgresPort !== o.redisPort, f("redisPort"), o.redisPort, `a port other than postgresPort ${o.postgresPort}`);
  }
  for (const key of ["database", "postgresUser"] as const) {
    const v = o[key];
    if (v !== undefined) check(typeof v === "string" && PG_NAME.test(v), f(key), v, "a PostgreSQL name of [a-z0-9_] starting with a letter or _");
  }
  if (o.postgresPassword !== undefined) checkPassword(f("postgresPassword"), o.postgresPassword);
  if (o.redisPassword !== undefined) checkPassword(f("redisPassword"), o.redisPassword);
  if (o.bindAddress !== undefined) checkIPv4(f("bindAddress"), o.bindAddress);
  if (o.allowedClients !== undefined) {
    checkClientNetworks(f("allowedClients"), o.allowedClients);
    // Docker publishes ports through its own forwarding rules, past an input filter.
    check((o.runtime ?? INVENTORY_DEFAULTS.runtime) === "packages", f("allowedClients"), o.allowedClients, 'unset unless runtime is "packages" (Docker\'s published ports bypass the host\'s input filter)');
  }
}
