import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { Snapshot } from "./snapshot";
import { OperationRow } from "../../inventory/operations-log";
import { LOGGED_OPERATIONS } from "../../inventory/schema";

/**
 * The exporter's metrics. Values read from the cloud (libvirt, Ceph, the
 * inventory, leases) are rebuilt from each scrape's snapshot in a fresh
 * registry, so a VM that is gone is gone from the output too. What must keep
 * counting across scrapes (scrape errors, provider operations) lives in a
 * persistent registry. Names: `kvmcloud_` prefix, base units in the name.
 */

export const OUTCOMES = ["ok", "error"] as const;
/** Seconds; VM creation under TCG takes tens of seconds, a delete a few. */
export const OPERATION_BUCKETS = [0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600];

export class ExporterMetrics {
  readonly persistent = new Registry();
  private readonly scrapeErrors = new Counter({
    name: "kvmcloud_scrape_errors_total",
    help: "Scrapes in which a source (libvirt on a node, Ceph, DHCP, the inventory) failed to answer.",
    labelNames: ["source", "target"],
    registers: [this.persistent],
  });
  private readonly operations = new Counter({
    name: "kvmcloud_provider_operations_total",
    help: "VirtualMachine provider operations and HA events (ha-start, ha-stop, ha-migrate, ha-fence, reported by Pacemaker), from the inventory's vm_operations log.",
    labelNames: ["operation", "outcome"],
    registers: [this.persistent],
  });
  private readonly operationErrors = new Counter({
    name: "kvmcloud_provider_operation_errors_total",
    help: "Failed VirtualMachine provider operations by the step that failed.",
    labelNames: ["operation", "step"],
    registers: [this.persistent],
  });
  private readonly durations = new Histogram({
    name: "kvmcloud_provider_operation_duration_seconds",
    help: "Duration of VirtualMachine provider operations.",
    labelNames: ["operation", "outcome"],
    buckets: OPERATION_BUCKETS,
    registers: [this.persistent],
  });
  /** Highest vm_operations id already counted. */
  lastOperationId = 0;

  constructor() {
    // Series exist from the first scrape, so rate() and the dashboard have data before the first operation.
    for (const operation of LOGGED_OPERATIONS) {
      for (const outcome of OUTCOMES) {
        this.operations.inc({ operation, outcome }, 0);
        this.durations.zero({ operation, outcome });
      }
    }
  }

  /** Counts provider operations once each (rows arrive in id order). */
  countOperations(rows: readonly OperationRow[]): void {
    for (const r of rows) {
      if (r.id <= this.lastOperationId) continue;
      this.operations.inc({ operation: r.operation, outcome: r.outcome });
      this.durations.observe({ operation: r.operation, outcome: r.outcome }, r.durationMs / 1000);
      if (r.outcome === "error") this.operationErrors.inc({ operation: r.operation, step: r.step ?? "unknown" });
      this.lastOperationId = r.id;
    }
  }

  /** The exposition text for one scrape's snapshot. */
  async render(s: Snapshot): Promise<string> {
    for (const src of s.sources) {
      // inc(0) keeps every source's series present, so increase() works from the start.
      this.scrapeErrors.inc({ source: src.source, target: src.target }, src.ok ? 0 : 1);
    }
    return Registry.merge([snapshotRegistry(s), this.persistent]).metrics();
  }
}

function gauge(reg: Registry, name: string, help: string, labelNames: string[] = []): Gauge<string> {
  return new Gauge({ name, help, labelNames, registers: [reg] });
}

function counter(reg: Registry, name: string, help: string, labelNames: string[]): Counter<string> {
  return new Counter({ name, help, labelNames, registers: [reg] });
}

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

/** Pure apart from prom-client: a registry holding one snapshot's values. */
export function snapshotRegistry(s: Snapshot): Registry {
  const reg = new Registry();
  const sourceUp = gauge(reg, "kvmcloud_scrape_source_up", "Whether a source answered this scrape (1) or not (0).", ["source", "target"]);
  const sourceSeconds = gauge(reg, "kvmcloud_scrape_source_duration_seconds", "Time one source took this scrape.", ["source", "target"]);
  const sourceAge = gauge(reg, "kvmcloud_scrape_source_age_seconds", "Age of the data reported for a source: 0 when fresh, more while a collection still running leaves the last one standing.", ["source", "target"]);
  for (const src of s.sources) {
    sourceUp.set({ source: src.source, target: src.target }, src.ok ? 1 : 0);
    sourceSeconds.set({ source: src.source, target: src.target }, src.seconds);
    if (src.ageSeconds !== undefined) sourceAge.set({ source: src.source, target: src.target }, src.ageSeconds);
  }
  gauge(reg, "kvmcloud_scrape_duration_seconds", "Time the whole scrape took.").set(s.seconds);

  inventoryMetrics(reg, s);
  libvirtMetrics(reg, s);

  if (s.cephPools) {
    const stored = gauge(reg, "kvmcloud_ceph_pool_stored_bytes", "Bytes clients stored in the pool, before replication.", ["pool"]);
    const used = gauge(reg, "kvmcloud_ceph_pool_used_bytes", "Raw bytes the pool uses, replication included.", ["pool"]);
    const avail = gauge(reg, "kvmcloud_ceph_pool_max_available_bytes", "Bytes clients can still store in the pool.", ["pool"]);
    const objects = gauge(reg, "kvmcloud_ceph_pool_objects", "Objects in the pool.", ["pool"]);
    const ratio = gauge(reg, "kvmcloud_ceph_pool_used_ratio", "Used share of the pool's capacity, 0-1.", ["pool"]);
    for (const p of s.cephPools) {
      stored.set({ pool: p.name }, p.storedBytes);
      used.set({ pool: p.name }, p.usedBytes);
      avail.set({ pool: p.name }, p.maxAvailableBytes);
      objects.set({ pool: p.name }, p.objects);
      ratio.set({ pool: p.name }, p.usedRatio);
    }
  }
  if (s.dhcp) {
    gauge(reg, "kvmcloud_dhcp_leases_active", "Unexpired DHCP leases inside the range.").set(s.dhcp.activeLeases);
    gauge(reg, "kvmcloud_dhcp_range_addresses", "Addresses in the DHCP range.").set(s.dhcp.rangeSize);
  }
  return reg;
}

function inventoryMetrics(reg: Registry, s: Snapshot): void {
  if (!s.inventory) return;
  const info = gauge(reg, "kvmcloud_vm_info", "A VM of the inventory (always 1), with its placement and addresses.", ["vm", "node", "stack", "image", "mac", "ip"]);
  const expected = gauge(reg, "kvmcloud_vm_expected_running", "1 when the inventory says the VM should be running.", ["vm", "node"]);
  const disk = gauge(reg, "kvmcloud_vm_disk_size_bytes", "Root disk size the VM was given.", ["vm", "node"]);
  const states = gauge(reg, "kvmcloud_inventory_vms", "VMs in the inventory by recorded state.", ["state"]);
  const allocVcpus = gauge(reg, "kvmcloud_node_allocated_vcpus", "vCPUs of the inventory's VMs placed on the node.", ["node"]);
  const allocMem = gauge(reg, "kvmcloud_node_allocated_memory_bytes", "Memory of the inventory's VMs placed on the node (what placement counts).", ["node"]);
  const vms = gauge(reg, "kvmcloud_node_vms", "The inventory's VMs placed on the node.", ["node"]);
  for (const n of s.nodeNames) {
    allocVcpus.set({ node: n }, 0);
    allocMem.set({ node: n }, 0);
    vms.set({ node: n }, 0);
  }
  for (const state of ["creating", "running", "stopped", "suspended"]) states.set({ state }, 0);
  for (const vm of s.inventory) {
    info.set({ vm: vm.name, node: vm.node, stack: vm.stack, image: vm.image, mac: vm.mac, ip: vm.ip ?? "" }, 1);
    expected.set({ vm: vm.name, node: vm.node }, vm.state === "running" ? 1 : 0);
    disk.set({ vm: vm.name, node: vm.node }, vm.diskGiB * GIB);
    states.inc({ state: vm.state });
    allocVcpus.inc({ node: vm.node }, vm.vcpus);
    allocMem.inc({ node: vm.node }, vm.memoryMiB * MIB);
    vms.inc({ node: vm.node });
  }
}

function libvirtMetrics(reg: Registry, s: Snapshot): void {
  const up = gauge(reg, "kvmcloud_node_up", "Whether the node's libvirt answered over SSH this scrape.", ["node"]);
  // Up means answered this scrape: a node's stale snapshot still stands in for its series, not for its health.
  const answered = (n: string) => s.sources.some((x) => x.source === "libvirt" && x.target === n && x.ok);
  for (const n of s.nodeNames) up.set({ node: n }, answered(n) ? 1 : 0);
  const cpus = gauge(reg, "kvmcloud_node_cpus", "CPUs libvirt reports on the node.", ["node"]);
  const mem = gauge(reg, "kvmcloud_node_memory_bytes", "Memory libvirt reports on the node.", ["node"]);
  const running = gauge(reg, "kvmcloud_vm_running", "1 when the VM's domain is running (or blocked on idle vCPUs).", ["vm", "node"]);
  const state = gauge(reg, "kvmcloud_vm_state", "The domain's libvirt state (always 1; the state is a label).", ["vm", "node", "state"]);
  const vcpus = gauge(reg, "kvmcloud_vm_vcpus", "vCPUs of the domain.", ["vm", "node"]);
  const memory = gauge(reg, "kvmcloud_vm_memory_bytes", "Current memory of the domain (balloon).", ["vm", "node"]);
  const cpu = counter(reg, "kvmcloud_vm_cpu_seconds_total", "CPU time the domain used.", ["vm", "node"]);
  const rd = counter(reg, "kvmcloud_vm_disk_read_bytes_total", "Bytes the domain read from a disk.", ["vm", "node", "device"]);
  const wr = counter(reg, "kvmcloud_vm_disk_written_bytes_total", "Bytes the domain wrote to a disk.", ["vm", "node", "device"]);
  const rx = counter(reg, "kvmcloud_vm_network_receive_bytes_total", "Bytes the domain received on an interface.", ["vm", "node", "interface"]);
  const tx = counter(reg, "kvmcloud_vm_network_transmit_bytes_total", "Bytes the domain sent on an interface.", ["vm", "node", "interface"]);
  for (const n of s.nodes) {
    cpus.set({ node: n.node }, n.cpus);
    mem.set({ node: n.node }, n.memoryBytes);
    for (const d of n.domains) {
      const l = { vm: d.name, node: n.node };
      running.set(l, d.running ? 1 : 0);
      state.set({ ...l, state: d.state }, 1);
      if (d.vcpus !== undefined) vcpus.set(l, d.vcpus);
      if (d.memoryBytes !== undefined) memory.set(l, d.memoryBytes);
      if (d.cpuSeconds !== undefined) cpu.inc(l, d.cpuSeconds);
      for (const k of d.disks) {
        rd.inc({ ...l, device: k.device }, k.readBytes);
        wr.inc({ ...l, device: k.device }, k.writtenBytes);
      }
      for (const i of d.interfaces) {
        rx.inc({ ...l, interface: i.device }, i.receiveBytes);
        tx.inc({ ...l, interface: i.device }, i.transmitBytes);
      }
    }
  }
}
