import { OPERATIONS_TABLE, VM_TABLE } from "../../inventory/schema";
import { Query } from "./query";
import { InventoryVm, OperationRow } from "./snapshot";

export const INVENTORY_SQL = `SELECT name, stack, node, vcpus, memory_mib, disk_gib, image, state, mac::text AS mac, host(ip) AS ip FROM ${VM_TABLE} ORDER BY name`;

/** Every VM the inventory knows. */
export async function collectInventory(query: Query): Promise<InventoryVm[]> {
  const rows = await query(INVENTORY_SQL);
  return rows.map((r) => ({
    name: String(r.name),
    stack: String(r.stack),
    node: String(r.node),
    vcpus: Number(r.vcpus),
    memoryMiB: Number(r.memory_mib),
    diskGiB: Number(r.disk_gib),
    image: String(r.image),
    state: String(r.state),
    mac: String(r.mac),
    ip: r.ip === null || r.ip === undefined ? undefined : String(r.ip),
  }));
}

export const OPERATIONS_SQL = `SELECT id, operation, outcome, step, duration_ms FROM ${OPERATIONS_TABLE} WHERE id > $1 ORDER BY id LIMIT $2`;

/**
 * Provider operations logged after `afterId`, oldest first, at most `limit`
 * per scrape so that an exporter starting next to a long log catches up over
 * a few scrapes instead of one slow one.
 */
export async function collectOperations(query: Query, afterId: number, limit: number): Promise<OperationRow[]> {
  const rows = await query(OPERATIONS_SQL, [afterId, limit]);
  return rows.map((r) => ({
    id: Number(r.id),
    operation: String(r.operation),
    outcome: String(r.outcome),
    step: r.step === null || r.step === undefined ? undefined : String(r.step),
    durationMs: Number(r.duration_ms),
  }));
}
