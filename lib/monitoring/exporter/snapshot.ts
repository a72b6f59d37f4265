import type { CephPoolUsage } from "../../ceph/ceph-df";
import type { DomainStats } from "../../kvm-node/virsh-domstats";
import type { VmRow } from "../../inventory/vm-rows";

/**
 * What one scrape learned, as plain data: the collectors fill it, the
 * metrics module turns it into Prometheus text. Keeping the two apart lets
 * the unit tests check each against real captured output.
 */

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
  readonly inventory?: readonly VmRow[];
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
