import { CloudSpec } from "../../vm/cloud-spec";
import { CloudAccess } from "../../vm/cloud-access";
import { DEFAULT_CEPH_CLIENT } from "../../ceph/ceph-user";
import { listVms } from "../../inventory/vm-rows";
import { listOperations, OperationRow } from "../../inventory/operations-log";
import { collectCephPools } from "./collect-ceph";
import { collectDhcp, DhcpRange } from "./collect-dhcp";
import { collectNode } from "./collect-libvirt";
import { Snapshot } from "./snapshot";
import { SourceGates } from "./source-gate";

export interface ScrapeSources {
  readonly cloud: CloudSpec;
  readonly dhcpRange: DhcpRange;
  /** How the scrape reaches the cloud: pooledAccess() in the service, fixtures in tests. */
  readonly access: Pick<CloudAccess, "onNode" | "onDhcp" | "withInventory">;
  /** Bound of the whole scrape; a source still busy then counts as failed. */
  readonly timeoutMs: number;
  /** Provider operations already counted (the highest id seen). */
  readonly afterOperationId: number;
  readonly operationLimit?: number;
  /** Clock in ms (tests pin it to the fixtures' capture time). */
  readonly now?: () => number;
  /** Collections in flight across scrapes; a long-lived exporter passes the same one every time. */
  readonly gates?: SourceGates;
}

export interface ScrapeResult extends Snapshot {
  /** Provider operations logged since afterOperationId (undefined when unreadable). */
  readonly operations?: readonly OperationRow[];
}

/**
 * One scrape: every source at once, each bounded by the scrape's deadline
 * and never collected twice at once (SourceGates). A source that fails (a node down, the database away) is reported in
 * `sources` and leaves its part of the snapshot empty; scrape never throws.
 */
export async function scrape(s: ScrapeSources): Promise<ScrapeResult> {
  const t0 = Date.now();
  const deadline = t0 + s.timeoutMs;
  const nowSeconds = (s.now ?? Date.now)() / 1000;
  const cloud = s.cloud;
  const clientName = cloud.ceph.clientName ?? DEFAULT_CEPH_CLIENT;
  const gates = s.gates ?? new SourceGates();
  const timed = gates.run.bind(gates);

  const a = s.access;
  const inventory = timed("inventory", "postgres", deadline, () => a.withInventory((inv) => listVms(inv.sql)));
  const operations = timed("operations", "postgres", deadline, () =>
    a.withInventory((inv) => listOperations(inv.sql, s.afterOperationId, s.operationLimit ?? 5000)),
  );
  const nodes = cloud.nodes.map((n) => timed("libvirt", n.name, deadline, (ms) => a.onNode(n.name, (r) => collectNode(r, n.name, ms))));
  const dhcp = timed("dhcp", cloud.dhcp.ssh.host, deadline, (ms) =>
    a.onDhcp((r) => collectDhcp(r, cloud.dhcp.leaseFile, s.dhcpRange, nowSeconds, ms)),
  );
  // Any node can ask Ceph; the first one that answers does.
  const ceph = timed("ceph", cloud.ceph.pool, deadline, async () => {
    let last: unknown;
    for (const n of cloud.nodes) {
      try {
        return await a.onNode(n.name, (r) => collectCephPools(r, clientName, Math.max(1, deadline - Date.now())));
      } catch (e) {
        last = e;
      }
    }
    throw last;
  });

  const [inv, ops, dh, ce, ...nd] = await Promise.all([inventory, operations, dhcp, ceph, ...nodes]);
  return {
    inventory: inv.value,
    operations: ops.value,
    nodes: nd.flatMap((x) => (x.value ? [x.value] : [])),
    nodeNames: cloud.nodes.map((n) => n.name),
    cephPools: ce.value,
    dhcp: dh.value,
    sources: [inv.result, ops.result, dh.result, ce.result, ...nd.map((x) => x.result)],
    seconds: (Date.now() - t0) / 1000,
  };
}
