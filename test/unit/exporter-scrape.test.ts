import { spawnSync } from "child_process";
import { DOMSTATS_ARGV } from "../../lib/monitoring/exporter/collect-libvirt";
import { Sql } from "../../lib/inventory/vm-rows";
import { Exporter } from "../../lib/monitoring/exporter/server";
import { parseExposition, samples, value } from "../helpers/exposition";
import { fixture, fixtureAccess } from "../helpers/fixture-runner";
import { answers, CAPTURED_MS, cloud, dhcpRange, exporter, inventory, key, PG_PASSWORD } from "../helpers/exporter-fixture-output";

/**
 * The exporter end to end minus the network: collectors fed with output
 * captured from the lab, inventory rows shaped as pg returns them, and the
 * exposition text checked value by value and by `promtool check metrics`.
 */

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
    const { e } = exporter({ sql: inventory() });
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

  it("counts the HA events Pacemaker's alert agent logs beside the provider's operations", async () => {
    const ha = [
      { id: "7", operation: "ha-fence", outcome: "ok", step: "reboot", duration_ms: 0 },
      { id: "8", operation: "ha-start", outcome: "ok", step: "start", duration_ms: 2100 },
      { id: "9", operation: "ha-migrate", outcome: "error", step: "migrate_to", duration_ms: 40000 },
    ];
    const { e } = exporter({ sql: inventory(ha) });
    const m = parseExposition(await e.collect());
    expect(value(m, "kvmcloud_provider_operations_total", { operation: "ha-fence", outcome: "ok" })).toBe(1);
    expect(value(m, "kvmcloud_provider_operations_total", { operation: "ha-start", outcome: "ok" })).toBe(1);
    expect(value(m, "kvmcloud_provider_operations_total", { operation: "ha-stop", outcome: "ok" })).toBe(0);
    expect(value(m, "kvmcloud_provider_operation_errors_total", { operation: "ha-migrate", step: "migrate_to" })).toBe(1);
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
    const e = new Exporter({ cloud, dhcpRange, access: fixtureAccess(cloud, ans, inventory()), timeoutMs: 300, now: () => CAPTURED_MS });
    const t0 = Date.now();
    const m = parseExposition(await e.collect());
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(value(m, "kvmcloud_scrape_source_up", { source: "libvirt", target: "node1" })).toBe(0);
    expect(value(m, "kvmcloud_node_up", { node: "node2" })).toBe(1);
    expect(value(m, "kvmcloud_dhcp_leases_active")).toBe(1);
  });

  it("keeps reporting libvirt and DHCP when the inventory is unreachable, without leaking its URL", async () => {
    const down: Sql = {
      query: async () => {
        throw new Error("connect ECONNREFUSED 10.77.0.3:5432");
      },
    };
    const { e, lines } = exporter({ sql: down });
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
