import { PLACEMENT_LOCK_KEY, renderInventorySchema, SCHEMA_MARK, VM_TABLE } from "./schema";

/**
 * The inventory: one Postgres row per VM (the record of truth for names,
 * MACs and what each node holds) and a Redis key `vm:<name>` naming the node
 * the VM runs on (a cache that refresh reads first). Functions take open
 * clients; cloud-access.ts opens and closes them per provider call.
 */

/** The part of pg.Client this module uses. */
export interface Sql {
  query(text: string, params?: unknown[]): Promise<{ rows: Array<Record<string, unknown>>; rowCount: number | null }>;
}

/** The part of ioredis this module uses. */
export interface Cache {
  set(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<string | null>;
  del(key: string): Promise<unknown>;
}

export interface Inventory {
  readonly sql: Sql;
  readonly cache: Cache;
}

export interface VmRow {
  readonly name: string;
  readonly stack: string;
  readonly vcpus: number;
  readonly memoryMiB: number;
  readonly diskGiB: number;
  readonly image: string;
  readonly node: string;
  readonly mac: string;
  readonly ip: string | null;
  readonly state: string;
  readonly domainUuid: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export const cacheKey = (name: string) => `vm:${name}`;

function toRow(r: Record<string, unknown>): VmRow {
  return {
    name: String(r.name),
    stack: String(r.stack),
    vcpus: Number(r.vcpus),
    memoryMiB: Number(r.memory_mib),
    diskGiB: Number(r.disk_gib),
    image: String(r.image),
    node: String(r.node),
    mac: String(r.mac),
    ip: r.ip === null || r.ip === undefined ? null : String(r.ip),
    state: String(r.state),
    domainUuid: r.domain_uuid === null || r.domain_uuid === undefined ? null : String(r.domain_uuid),
    createdAt: new Date(r.created_at as string).toISOString(),
    updatedAt: new Date(r.updated_at as string).toISOString(),
  };
}

const missingTable = (e: unknown) => (e as { code?: string }).code === "42P01";

export async function listVms(sql: Sql): Promise<VmRow[]> {
  try {
    return (await sql.query(`SELECT * FROM ${VM_TABLE} ORDER BY name`)).rows.map(toRow);
  } catch (e) {
    if (missingTable(e)) return [];
    throw e;
  }
}

export async function getVm(sql: Sql, name: string): Promise<VmRow | undefined> {
  try {
    const r = await sql.query(`SELECT * FROM ${VM_TABLE} WHERE name = $1`, [name]);
    return r.rows[0] ? toRow(r.rows[0]) : undefined;
  } catch (e) {
    if (missingTable(e)) return undefined;
    throw e;
  }
}

/**
 * Session advisory lock of one VM name, held by a create for its whole life
 * on a connection of its own. Postgres drops it when that session ends, so a
 * create that died (killed provider, lost host) frees its name at once, and a
 * 'creating' row whose lock is free belongs to nobody alive.
 */
const VM_LOCK_CLASS = 0x6b766d63; // "kvmc"

export async function tryLockVm(sql: Sql, name: string): Promise<boolean> {
  const r = await sql.query("SELECT pg_try_advisory_lock($1::int, hashtext($2)) AS held", [VM_LOCK_CLASS, name]);
  return r.rows[0]?.held === true;
}

export async function unlockVm(sql: Sql, name: string): Promise<void> {
  await sql.query("SELECT pg_advisory_unlock($1::int, hashtext($2))", [VM_LOCK_CLASS, name]);
}

/** Whether the database has this release's schema: its mark (schema.ts SCHEMA_MARK) on the VM table. */
export async function schemaIsCurrent(sql: Sql): Promise<boolean> {
  const r = await sql.query("SELECT obj_description(to_regclass($1), 'pg_class') AS mark", [VM_TABLE]);
  return r.rows[0]?.mark === SCHEMA_MARK;
}

/**
 * Runs `decide` while holding the cloud-wide placement lock, then inserts the
 * row it returns with state 'creating'. Concurrent creates (one `pulumi up`
 * creates VMs in parallel) therefore see each other's names, MACs and memory.
 * With `takeOver` (a name whose lock the caller holds), that name's
 * 'creating' row, left by a create that died, is removed first, under the
 * same lock.
 */
export async function reserveVm(
  sql: Sql,
  decide: (existing: VmRow[]) => Promise<Omit<VmRow, "state" | "ip" | "domainUuid" | "createdAt" | "updatedAt"> & { readonly ip: string }>,
  takeOver?: string,
): Promise<VmRow> {
  // Read before the placement lock: the lock is held for the reservation alone.
  const current = await schemaIsCurrent(sql);
  await sql.query("BEGIN");
  try {
    await sql.query("SELECT pg_advisory_xact_lock($1)", [PLACEMENT_LOCK_KEY.toString()]);
    if (!current) await sql.query(renderInventorySchema());
    if (takeOver !== undefined) await sql.query(`DELETE FROM ${VM_TABLE} WHERE name = $1 AND state = 'creating'`, [takeOver]);
    const row = await decide((await sql.query(`SELECT * FROM ${VM_TABLE} ORDER BY name`)).rows.map(toRow));
    const inserted = await sql.query(
      `INSERT INTO ${VM_TABLE} (name, stack, vcpus, memory_mib, disk_gib, image, node, mac, ip, state)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'creating') RETURNING *`,
      [row.name, row.stack, row.vcpus, row.memoryMiB, row.diskGiB, row.image, row.node, row.mac, row.ip],
    );
    await sql.query("COMMIT");
    return toRow(inserted.rows[0]);
  } catch (e) {
    await sql.query("ROLLBACK").catch(() => undefined);
    throw e;
  }
}

/** Brings the row in line with the VM (after create, update, or a reconcile that found drift). */
export async function recordVm(
  sql: Sql,
  v: { name: string; vcpus: number; memoryMiB: number; diskGiB: number; node: string; ip: string | null; state: string; domainUuid: string | null },
): Promise<VmRow> {
  const r = await sql.query(
    `UPDATE ${VM_TABLE} SET vcpus = $2, memory_mib = $3, disk_gib = $4, node = $5, ip = $6, state = $7,
       domain_uuid = $8, updated_at = now() WHERE name = $1 RETURNING *`,
    [v.name, v.vcpus, v.memoryMiB, v.diskGiB, v.node, v.ip, v.state, v.domainUuid],
  );
  if (!r.rows[0]) throw new Error(`inventory: no row for VM ${v.name}`);
  return toRow(r.rows[0]);
}

export async function deleteVmRow(sql: Sql, name: string): Promise<void> {
  try {
    await sql.query(`DELETE FROM ${VM_TABLE} WHERE name = $1`, [name]);
  } catch (e) {
    if (!missingTable(e)) throw e;
  }
}
