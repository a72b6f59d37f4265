import { spawnSync } from "child_process";
import { CloudSpec } from "../../lib/cloud/cloud-spec";
import { cephDfArgv } from "../../lib/exporter/collect-ceph";
import { INVENTORY_SQL, OPERATIONS_SQL } from "../../lib/exporter/collect-inventory";
import { DOMSTATS_ARGV, NODEINFO_ARGV } from "../../lib/exporter/collect-libvirt";
import { Query } from "../../lib/exporter/query";
import { Exporter } from "../../lib/exporter/server";
import { parseExposition, samples, value } from "../helpers/exposition";
import { Answers, fixture, fixtureOnHost } from "../helpers/fixture-runner";

/**
 * The exporter end to end minus the network: collectors fed with output
 * captured from the lab, inventory rows shaped as pg returns them, and the
 * exposition text checked value by value and by `promtool check metrics`.
 */

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n-----END OPENSSH PRIVATE KEY-----\n";
const PG_PASSWORD = "pg-secret-Zq81";
const cloud: CloudSpec = {
  nodes: [
    { name: "node1", ssh: { host: "10.77.0.21", privateKey: KEY }, libvirtUri: "qemu+tcp://10.77.0.21/system" },
    { name: "node2", ssh: { host: "10.77.0.22", privateKey: KEY }, libvirtUri: "qemu+tcp://10.77.0.22/system" },
  ],
  ceph: { pool: "libvirt-pool", monitors: ["10.77.0.11"], clientName: "libvirt", secretUuid: "e3c3dc52-76b2-435c-8343-1128a6764eee" },
  dhcp: { ssh: { host: "10.77.0.1", privateKey: KEY }, leaseFile: "/var/lib/misc/dnsmasq.leases", domain: "lab.kvmcloud" },
  inventory: { postgresUrl: `postgres://kvmcloud:${PG_PASSWORD}@10.77.0.3:5432/kvmcloud`, redisUrl: "redis://:x@10.77.0.3:6379/0" },
};
const dhcpRange = { start: "10.77.100.10", end: "10.77.100.250" };
/** The fixtures' capture time: the guest's lease (expiry 1795310078) was an hour from then. */
const CAPTURED_MS = (1795310078 - 3000) * 1000;

const key = (argv: readonly string[]) => argv.join(" ");
function answers(node1Domstats = fixture("virsh-domstats-node1.txt")): Answers {
  return {
    "10.77.0.21": {
      [key(NODEINFO_ARGV)]: fixture("virsh-nodeinfo-node1.txt"),
      [key(DOMSTATS_ARGV)]: node1Domstats,
      [key(cephDfArgv("libvirt"))]: fixture("ceph-df.json"),
    },
    "10.77.0.22": {
      [key(NODEINFO_ARGV)]: fixture("virsh-nodeinfo-node1.txt"),
      [key(DOMSTATS_ARGV)]: fixture("virsh-domstats-node2-empty.txt"),
      [key(cephDfArgv("libvirt"))]: fixture("ceph-df.json"),
    },
    "10.77.0.1": { [key(["cat", "--", cloud.dhcp.leaseFile])]: fixture("dnsmasq.leases") },
  };
}

/** Rows as node-postgres returns them: bigserial ids as strings. */
const VMS = [
  { name: "h5-fix-da996f", stack: "dev", node: "node1", vcpus: 1, memory_mib: 192, disk_gib: 1, image: "libvirt-pool/kvmcloud-tiny@base", state: "running", mac: "52:54:00:c9:3c:db", ip: "10.77.100.99" },
  { name: "web-2", stack: "dev", node: "node2", vcpus: 2, memory_mib: 1024, disk_gib: 10, image: "libvirt-pool/kvmcloud-tiny@base", state: "running", mac: "52:54:00:00:00:02", ip: null },
  { name: "idle-3", stack: "dev", node: "node2", vcpus: 1, memory_mib: 256, disk_gib: 1, image: "libvirt-pool/kvmcloud-tiny@base", state: "stopped", mac: "52:54:00:00:00:03", ip: null },
];
const OPS = [
  { id: "1", operation: "create", outcome: "ok", step: null, duration_ms: 14200 },
  { id: "2", operation: "create", outcome: "error", step: "lease", duration_ms: 300000 },
  { id: "3", operation: "delete", outcome: "ok", step: null, duration_ms: 900 },
];

function inventory(ops = OPS): Query & { sql: string[] } {
  const sql: string[] = [];
  const q = async (text: string, params?: readonly unknown[]) => {
    sql.push(text);
    if (text === INVENTORY_SQL) return VMS;
    if (text === OPERATIONS_SQL) return ops.filter((o) => Number(o.id) > Number(params![0])).slice(0, Number(params![1]));
    throw new Error(`unexpected SQL: ${text}`);
  };
  return Object.assign(q, { sql });
}

function exporter(opts: { down?: string[]; query?: Query; node1Domstats?: string; timeoutMs?: number; nowMs?: number } = {}) {
  const lines: string[] = [];
  const e = new Exporter(
    { cloud, dhcpRange, onHost: fixtureOnHost(answers(opts.node1Domstats), opts.down), query: opts.query ?? inventory(), timeoutMs: opts.timeoutMs ?? 5000, now: () => opts.nowMs ?? CAPTURED_MS },
    (l) => lines.push(l),
  );
  return { e, lines };
}

describe("the exporter over captured lab output", () => {
  it("reports the running guest's libvirt statistics under its VM and node", async () => {
    const m = parseExposition(await exporter().e.collect());
    const vm = { vm: "h5-fix-da996f", node: "node1" };
    expect(value(m, "kvmcloud_vm_running", vm)).toBe(1);
    expect(value(m, "kvmcloud_vm_state", { ...vm, state: "running" })).toBe(1);
    expect(value(m, "kvmcloud_vm_vcpus", vm)).toBe(1);
    expect(value(m, "kvmcloud_vm_memory_bytes", vm)).toBe(192 * 1024 * 1024);
    expect(value(m, "kvmcloud_vm_cpu_seconds_total", vm)).toBeCloseTo(6.43, 6);
    expect(value(m, "kvmcloud_vm_disk_read_bytes_total", { ...vm, device: "vda" })).toBe(10283008);
    expect(value(m, "kvmcloud_vm_disk_written_bytes_total", { ...vm, device: "vda" })).toBe(0);
    expect(value(m, "kvmcloud_vm_network_receive_bytes_total", { ...vm, interface: "vnet0" })).toBe(2197);
    expect(value(m, "kvmcloud_vm_network_transmit_bytes_total", { ...vm, interface: "vnet0" })).toBe(1661);
  });

  it("reports node capacity from libvirt and allocation from the inventory", async () => {
    const m = parseExposition(await exporter().e.collect());
    expect(value(m, "kvmcloud_node_up", { node: "node1" })).toBe(1);
    expect(value(m, "kvmcloud_node_cpus", { node: "node1" })).toBe(2);
    expect(value(m, "kvmcloud_node_memory_bytes", { node: "node1" })).toBe(Math.floor(6645980 / 1024) * 1024 * 1024);
    expect(value(m, "kvmcloud_node_allocated_vcpus", { node: "node2" })).toBe(3);
    expect(value(m, "kvmcloud_node_allocated_memory_bytes", { node: "node2" })).toBe((1024 + 256) * 1024 * 1024);
    expect(value(m, "kvmcloud_node_vms", { node: "node1" })).toBe(1);
    expect(value(m, "kvmcloud_inventory_vms", { state: "running" })).toBe(2);
    expect(value(m, "kvmcloud_vm_info", { vm: "h5-fix-da996f", ip: "10.77.100.99", mac: "52:54:00:c9:3c:db" })).toBe(1);
    expect(value(m, "kvmcloud_vm_info", { vm: "web-2", ip: "" })).toBe(1);
    expect(value(m, "kvmcloud_vm_expected_running", { vm: "web-2" })).toBe(1);
    expect(value(m, "kvmcloud_vm_expected_running", { vm: "idle-3" })).toBe(0);
    // web-2 should run but no node runs it: the VmNotRunning rule's input.
    expect(samples(m, "kvmcloud_vm_running", { vm: "web-2" })).toEqual([]);
  });

  it("reports Ceph pool usage and DHCP leases against the range", async () => {
    const m = parseExposition(await exporter().e.collect());
    expect(value(m, "kvmcloud_ceph_pool_stored_bytes", { pool: "libvirt-pool" })).toBe(10338520);
    expect(value(m, "kvmcloud_ceph_pool_max_available_bytes", { pool: "libvirt-pool" })).toBe(1725389184);
    expect(value(m, "kvmcloud_ceph_pool_used_ratio", { pool: "libvirt-pool" })).toBeCloseTo(0.005975, 5);
    expect(value(m, "kvmcloud_dhcp_leases_active")).toBe(1);
    expect(value(m, "kvmcloud_dhcp_range_addresses")).toBe(241);
  });

  it("counts an expired lease as free", async () => {
    const { e } = exporter({ nowMs: 1795310079 * 1000 });
    expect(value(parseExposition(await e.collect()), "kvmcloud_dhcp_leases_active")).toBe(0);
  });

  it("counts provider operations and their durations once each across scrapes", async () => {
    const q = inventory();
    const { e } = exporter({ query: q });
    await e.collect();
    const m = parseExposition(await e.collect());
    expect(value(m, "kvmcloud_provider_operations_total", { operation: "create", outcome: "ok" })).toBe(1);
    expect(value(m, "kvmcloud_provider_operations_total", { operation: "create", outcome: "error" })).toBe(1);
    expect(value(m, "kvmcloud_provider_operations_total", { operation: "update", outcome: "ok" })).toBe(0);
    expect(value(m, "kvmcloud_provider_operation_errors_total", { operation: "create", step: "lease" })).toBe(1);
    expect(value(m, "kvmcloud_provider_operation_duration_seconds_sum", { operation: "create", outcome: "ok" })).toBeCloseTo(14.2, 6);
    expect(value(m, "kvmcloud_provider_operation_duration_seconds_bucket", { operation: "create", outcome: "ok", le: "10" })).toBe(0);
    expect(value(m, "kvmcloud_provider_operation_duration_seconds_bucket", { operation: "create", outcome: "ok", le: "20" })).toBe(1);
    expect(value(m, "kvmcloud_provider_operation_duration_seconds_count", { operation: "delete", outcome: "ok" })).toBe(1);
    expect(e.metrics.lastOperationId).toBe(3);
  });

  it("turns an unreachable node into node_up 0 and a counted scrape error, and asks Ceph through another node", async () => {
    const { e, lines } = exporter({ down: ["10.77.0.21"] });
    await e.collect();
    const m = parseExposition(await e.collect());
    expect(value(m, "kvmcloud_node_up", { node: "node1" })).toBe(0);
    expect(value(m, "kvmcloud_node_up", { node: "node2" })).toBe(1);
    expect(value(m, "kvmcloud_scrape_source_up", { source: "libvirt", target: "node1" })).toBe(0);
    expect(value(m, "kvmcloud_scrape_errors_total", { source: "libvirt", target: "node1" })).toBe(2);
    expect(value(m, "kvmcloud_scrape_errors_total", { source: "libvirt", target: "node2" })).toBe(0);
    expect(value(m, "kvmcloud_scrape_source_up", { source: "ceph", target: "libvirt-pool" })).toBe(1);
    expect(samples(m, "kvmcloud_vm_running", { node: "node1" })).toEqual([]);
    expect(lines.join("\n")).toMatch(/libvirt node1 failed: cannot reach node1 .*ECONNREFUSED/);
  });

  it("bounds a scrape whose node never answers, and reports the rest", async () => {
    const hang = () => new Promise<string>(() => undefined);
    const ans = answers();
    (ans["10.77.0.21"] as Record<string, unknown>)[key(DOMSTATS_ARGV)] = hang;
    const onHost = fixtureOnHost(ans);
    const e = new Exporter({ cloud, dhcpRange, onHost, query: inventory(), timeoutMs: 300, now: () => CAPTURED_MS });
    const t0 = Date.now();
    const m = parseExposition(await e.collect());
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(value(m, "kvmcloud_scrape_source_up", { source: "libvirt", target: "node1" })).toBe(0);
    expect(value(m, "kvmcloud_node_up", { node: "node2" })).toBe(1);
    expect(value(m, "kvmcloud_dhcp_leases_active")).toBe(1);
  });

  it("keeps reporting libvirt and DHCP when the inventory is unreachable, without leaking its URL", async () => {
    const down: Query = async () => {
      throw new Error("connect ECONNREFUSED 10.77.0.3:5432");
    };
    const { e, lines } = exporter({ query: down });
    const text = await e.collect();
    const m = parseExposition(text);
    expect(value(m, "kvmcloud_scrape_source_up", { source: "inventory", target: "postgres" })).toBe(0);
    expect(samples(m, "kvmcloud_vm_info")).toEqual([]);
    expect(value(m, "kvmcloud_vm_running", { vm: "h5-fix-da996f" })).toBe(1);
    expect(text + lines.join("\n")).not.toContain(PG_PASSWORD);
    expect(text + lines.join("\n")).not.toContain("not-a-real-key");
  });

  it("drops a VM's libvirt series once its domain is gone", async () => {
    const m = parseExposition(await exporter({ node1Domstats: fixture("virsh-domstats-node2-empty.txt") }).e.collect());
    expect(samples(m, "kvmcloud_vm_cpu_seconds_total")).toEqual([]);
    expect(value(m, "kvmcloud_vm_expected_running", { vm: "h5-fix-da996f" })).toBe(1);
  });

  it("passes promtool's lint of metric names, types and units", async () => {
    const text = await exporter().e.collect();
    const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    expect(r.error).toBeUndefined();
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
    for (const name of new Set(parseExposition(text).map((s) => s.name))) expect(name).toMatch(/^kvmcloud_/);
  });
});
