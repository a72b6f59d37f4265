import type { CephPoolUsage } from "../../ceph/ceph-df";
import type { DomainStats } from "../../kvm-node/virsh-domstats";

/**
 * What one scrape learned, as plain data: the collectors fill it, the
 * metrics module turns it into Prometheus text. Keeping the two apart lets
 * the unit tests check each against real captured output.
 */

/** One row of the inventory table `vms`. */
export interface InventoryVm {
  readonly name: string;
  readonly stack: string;
  readonly node: string;
  readonly vcpus: number;
  readonly memoryMiB: number;
  readonly diskGiB: number;
  readonly image: string;
  /** creating | running | stopped | suspended */
  readonly state: string;
  readonly mac: string;
  readonly ip?: string;
}

export interface NodeSnapshot {
  readonly node: string;
  readonly cpus: number;
  readonly memoryBytes: number;
  readonly domains: readonly DomainStats[];
}

export interface DhcpSnapshot {
  /** Leases not yet expired whose address lies in the range. */
  readonly activeLeases: number;
  readonly rangeSize: number;
}

/** Counts and duration buckets of provider operations, per (operation, outcome). */
export interface OperationRow {
  readonly id: number;
  readonly operation: string;
  readonly outcome: string;
  readonly step?: string;
  readonly durationMs: number;
}

/** A source that failed this scrape: which, where, and the reason (never a secret). */
export interface SourceResult {
  readonly source: "inventory" | "libvirt" | "ceph" | "dhcp" | "operations";
  readonly target: string;
  readonly ok: boolean;
  readonly seconds: number;
  readonly error?: string;
  /** Age of the data reported for this source: 0 when fresh, more when a collection still running left the last one standing. */
  readonly ageSeconds?: number;
}

export interface Snapshot {
  /** undefined when the inventory could not be read this scrape. */
  readonly inventory?: readonly InventoryVm[];
  /** Nodes whose libvirt answered. */
  readonly nodes: readonly NodeSnapshot[];
  /** Every node the cloud has, reachable or not. */
  readonly nodeNames: readonly string[];
  readonly cephPools?: readonly CephPoolUsage[];
  readonly dhcp?: DhcpSnapshot;
  readonly sources: readonly SourceResult[];
  readonly seconds: number;
}

export type { CephPoolUsage, DomainStats };
