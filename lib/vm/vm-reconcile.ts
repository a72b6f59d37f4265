import { ResolvedCloudSpec } from "./cloud-spec";
import { CloudAccess } from "./cloud-access";
import { removeHostEntry } from "./dhcp-host-ops";
import { cacheKey, deleteVmRow, listVms, recordVm, VmRow } from "../inventory/vm-rows";
import { logOperation } from "../inventory/operations-log";
import { findVm } from "./vm-read";
import { vmStateOf } from "./vm-model";

/** What reconcile did, VM by VM. */
export interface ReconcileReport {
  /** Rows brought in line with their domain: `name: field was -> now, ...`. */
  readonly mended: string[];
  /** Rows removed: their domain is on no node, and every node answered. */
  readonly removed: string[];
  /** Rows left alone because some node could not be asked: `name: why`. */
  readonly unknown: string[];
  /** Rows already in line. */
  readonly inLine: number;
}

/** The fields of a row that libvirt knows better than the inventory. */
function changes(row: VmRow, now: { node: string; state: string; vcpus: number; memoryMiB: number; domainUuid: string | null }): string[] {
  const out: string[] = [];
  for (const k of ["node", "state", "vcpus", "memoryMiB", "domainUuid"] as const) {
    if (row[k] !== now[k]) out.push(`${k} ${row[k]} -> ${now[k]}`);
  }
  return out;
}

/**
 * Brings the inventory in line with what the nodes run: a row whose VM was
 * moved, stopped or resized by hand gets the node's word, and its cache key;
 * a row whose domain is on no node (every node answering) goes, with its key
 * and its DHCP entry (the address is free again; the RBD images stay).
 * Rows of creates in progress ('creating') are a create's to take over, and
 * are left alone; so is any row while a node is silent. The separate step
 * that read() is not: run by `npm run reconcile` (lib/vm/reconcile-main.ts).
 */
export async function reconcileVms(cloud: ResolvedCloudSpec, access: CloudAccess, only?: readonly string[]): Promise<ReconcileReport> {
  // One inventory session for the whole pass, not two per row.
  return access.withInventory(async (inv) => {
    const rows = (await listVms(inv.sql)).filter((r) => r.state !== "creating" && (only === undefined || only.includes(r.name)));
    const report = { mended: [] as string[], removed: [] as string[], unknown: [] as string[], inLine: 0 };
    for (const row of rows) {
      const started = new Date();
      const log = (step: string) => logOperation(inv.sql, { vm: row.name, operation: "reconcile", outcome: "ok", step, startedAt: started, durationMs: Date.now() - started.getTime() });
      const cached = await inv.cache.get(cacheKey(row.name));
      const { found, unreachable } = await findVm(cloud, access, row.name, [cached, row.node]);
      if (!found) {
        if (unreachable.length > 0) {
          report.unknown.push(`${row.name}: not found on the reachable nodes, and cannot ask ${unreachable.join("; ")}`);
          continue;
        }
        // The address goes with the row (the images stay: they are data); the row stays while the entry does.
        try {
          await access.onDhcp((r) => removeHostEntry(r, cloud.dhcp.hostsDir, row.name));
        } catch (e) {
          report.unknown.push(`${row.name}: its domain is on no node, but its DHCP entry could not be removed: ${(e as Error).message}`);
          continue;
        }
        await deleteVmRow(inv.sql, row.name);
        await inv.cache.del(cacheKey(row.name));
        await log("removed");
        report.removed.push(row.name);
        continue;
      }
      const now = { node: found.node, state: vmStateOf(found.state) ?? row.state, vcpus: found.facts.vcpus, memoryMiB: found.facts.memoryMiB, domainUuid: found.facts.uuid };
      const diff = changes(row, now);
      if (diff.length > 0) {
        await recordVm(inv.sql, { ...row, ...now });
        await log("mended");
        report.mended.push(`${row.name}: ${diff.join(", ")}`);
      } else {
        report.inLine++;
      }
      if (cached !== found.node) await inv.cache.set(cacheKey(row.name), found.node);
    }
    return report;
  });
}
