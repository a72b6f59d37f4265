import { CEPH_HOSTS, NODES } from "../../lab/topology";
import * as crypto from "crypto";
import { parse } from "yaml";
import { cloudSpecFromLab } from "../../lab/cloud-spec";
import { readLabDescription } from "../../lab/description";
import { run, waitFor } from "../../lab/exec";
import { Dashboard, dashboardExpressions, readDashboardText } from "../../lib/monitoring/exporter/dashboard";
import { pooledAccess } from "../../lib/vm/pooled-access";
import { Exporter } from "../../lib/monitoring/exporter/server";
import { alertRules } from "../../lib/monitoring/alert-rules";
import { renderInventorySchema } from "../../lib/inventory/schema";
import { cloudAccess } from "../../lib/vm/cloud-access";
import { createVm } from "../../lib/vm/vm-create";
import { deleteVm } from "../../lib/vm/vm-delete";
import { VmRecord } from "../../lib/vm/vm-model";
import { assertInManagerNamespace, nodeUri, tcpConnect, virsh } from "../helpers/lab-client";
import { parseExposition, value } from "../helpers/exposition";
import { PrometheusApi, PromSample } from "../helpers/prometheus-api";
import { eventually, scrub, withPg } from "../helpers/vm-lab";

/**
 * The lab's monitoring, seen through Prometheus' HTTP API from kcl-mgr, with
 * one VM made by the VirtualMachine provider's operations (so the provider's
 * operation log has a real row): every target up, every PromQL expression of
 * the dashboard and the alert rules returns data (with this VM where the
 * expression is per VM), and a guest stopped by hand fires VmNotRunning within
 * two evaluation intervals.
 */

jest.setTimeout(10 * 60_000);

const d = readLabDescription();
const cloud = cloudSpecFromLab(d);
const name = `h5-mon-${crypto.randomBytes(3).toString("hex")}`;
const prom = new PrometheusApi(d.monitoring?.prometheusUrl ?? "http://prometheus-not-in-lab-description");
const dashboard = JSON.parse(readDashboardText()) as Dashboard;
let vm: VmRecord | undefined;
let evaluationSeconds = 0;

const seconds = (ms: number) => (ms / 1000).toFixed(1);

/** Polls expr until check accepts its result; bounded. */
async function until(what: string, expr: string, check: (r: PromSample[]) => boolean, timeoutMs = 60_000, intervalMs = 250): Promise<PromSample[]> {
  return waitFor(what, async () => {
    const r = await prom.query(expr);
    return check(r) ? r : undefined;
  }, timeoutMs, intervalMs);
}

async function firing(alert: string, vmName: string): Promise<boolean> {
  return (await prom.alerts()).some((a) => a.labels.alertname === alert && a.labels.vm === vmName && a.state === "firing");
}

beforeAll(async () => {
  assertInManagerNamespace(d);
  if (!d.monitoring) throw new Error("the lab description has no monitoring: run npm run lab:up");
  evaluationSeconds = parseInt(String(parse(await prom.configYaml()).global.evaluation_interval), 10);
  await withPg(cloud, (q) => q(renderInventorySchema()));
  const t0 = Date.now();
  vm = await createVm(cloud, cloudAccess(cloud), { name, vcpus: 1, memoryMiB: 192, diskGiB: 1, image: d.baseImage.spec, sshAuthorizedKeys: [d.ssh.publicKey], stack: "h5-monitoring" });
  process.stdout.write(`  ${name} created on ${vm.node} (${vm.ip}) in ${seconds(Date.now() - t0)} s\n`);
  // Rates need two scrapes of the running VM; the inventory row gets its IP once recorded.
  await until(`CPU rate of ${name}`, `rate(kvmcloud_vm_cpu_seconds_total{vm="${name}"}[1m])`, (r) => r.length === 1, 60_000, 1000);
  await until(`the recorded IP of ${name}`, `kvmcloud_vm_info{vm="${name}",ip!=""}`, (r) => r.length === 1, 30_000, 1000);
});

afterAll(async () => {
  try {
    if (vm) await deleteVm(cloud, cloudAccess(cloud), vm);
  } finally {
    await scrub(d, cloud, name);
    await withPg(cloud, (q) => q("DELETE FROM vm_operations WHERE vm = $1", [name])).catch(() => undefined);
  }
});

describe("the lab's Prometheus", () => {
  it("has every target up: node exporters on every host of the stack, the Ceph manager, the kvm-cloud exporter, itself", async () => {
    const targets = await waitFor("every target up", async () => {
      const t = await prom.targets();
      return t.length > 0 && t.every((x) => x.health === "up") ? t : undefined;
    }, 30_000, 1000).catch(async () => prom.targets());
    expect(targets.filter((t) => t.health !== "up").map((t) => `${t.scrapePool}/${t.labels.host}: ${t.lastError}`)).toEqual([]);
    const stackHosts = ["dns", "database", ...CEPH_HOSTS.map((h) => h.name), ...NODES.map((h) => h.name)];
    expect(targets.filter((t) => t.scrapePool === "node").map((t) => t.labels.host).sort()).toEqual(stackHosts.sort());
    expect(new Set(targets.map((t) => t.scrapePool))).toEqual(new Set(["prometheus", "node", "ceph", "kvmcloud"]));
  });

  it("has node exporters that admit Prometheus' host only: this manager is reset", async () => {
    for (const h of [...CEPH_HOSTS, ...NODES]) {
      expect([h.name, await tcpConnect(h.address, d.monitoring!.nodeExporterPort)]).toEqual([h.name, "ECONNREFUSED"]);
    }
  });

  it("sees the VM as libvirt and the inventory have it", async () => {
    const one = async (expr: string) => {
      const r = await prom.query(expr);
      expect([expr, r.length]).toEqual([expr, 1]);
      return r[0];
    };
    expect((await one(`kvmcloud_vm_running{vm="${name}"}`)).metric.node).toBe(vm!.node);
    expect(Number((await one(`kvmcloud_vm_vcpus{vm="${name}"}`)).value[1])).toBe(1);
    // The balloon's momentary size: at the domain's maximum until the guest's balloon driver has inflated it.
    // A timeout fails the test, naming the last figure.
    await eventually(
      "the VM's balloon to settle at its declared memory (192 MiB)",
      async () => Number((await one(`kvmcloud_vm_memory_bytes{vm="${name}"}`)).value[1]),
      (bytes) => bytes === 192 * 2 ** 20,
      60_000,
      1000,
    );
    expect((await one(`kvmcloud_vm_info{vm="${name}"}`)).metric).toMatchObject({ node: vm!.node, ip: vm!.ip, mac: vm!.mac, stack: "h5-monitoring" });
    expect(Number((await one(`kvmcloud_vm_expected_running{vm="${name}"}`)).value[1])).toBe(1);
    // Our create is in the provider's log, so the counter is at least 1.
    expect(Number((await one('kvmcloud_provider_operations_total{operation="create",outcome="ok"}')).value[1])).toBeGreaterThanOrEqual(1);
  });

  it("answers every dashboard expression with data, including this VM in the per-VM ones", async () => {
    const exprs = dashboardExpressions(dashboard);
    expect(exprs.length).toBeGreaterThanOrEqual(20);
    const empty: string[] = [];
    const withoutVm: string[] = [];
    for (const e of exprs) {
      const r = await prom.query(e);
      if (r.length === 0) empty.push(e);
      if (/kvmcloud_vm_(cpu|memory|disk_(read|written)|network)/.test(e) && !r.some((s) => s.metric.vm === name)) withoutVm.push(e);
    }
    expect(empty).toEqual([]);
    expect(withoutVm).toEqual([]);
  });

  it("answers every alert rule's input with data, and nothing fires for the healthy VM or hosts", async () => {
    for (const rule of alertRules()) {
      const r = await prom.query(rule.dataExpr);
      expect([rule.alert, r.length > 0]).toEqual([rule.alert, true]);
    }
    expect((await prom.query(`kvmcloud_vm_expected_running{vm="${name}"}`)).length).toBe(1);
    const bad = (await prom.alerts()).filter((a) => a.labels.vm === name || ["HostDown", "KvmNodeUnreachable", "ScrapeTargetDown"].includes(a.labels.alertname));
    expect(bad).toEqual([]);
  });

  it("reports a node nobody answers for as down, in a bounded scrape, and the rest as usual (the exporter's real SSH and pg)", async () => {
    // 10.77.0.99 is on the lab's network but no host has it: connecting hangs until the bound.
    const ghost = { ...cloud.nodes[0], name: "ghost", ssh: { ...cloud.nodes[0].ssh, host: "10.77.0.99" }, libvirtUri: "qemu+tcp://10.77.0.99/system" };
    const withGhost = { ...cloud, nodes: [...cloud.nodes, ghost] };
    const lines: string[] = [];
    const access = pooledAccess(withGhost, { boundMs: 3500, warn: (l) => lines.push(l) });
    try {
      const exporter = new Exporter({ cloud: withGhost, dhcpRange: { start: d.dhcp.rangeStart, end: d.dhcp.rangeEnd }, access, timeoutMs: 4000 }, (l) => lines.push(l));
      const t0 = Date.now();
      const m = parseExposition(await exporter.collect());
      const took = Date.now() - t0;
      process.stdout.write(`  scrape with an unreachable node: ${seconds(took)} s\n`);
      expect(took).toBeLessThan(6000);
      expect(value(m, "kvmcloud_node_up", { node: "ghost" })).toBe(0);
      expect(value(m, "kvmcloud_scrape_source_up", { source: "libvirt", target: "ghost" })).toBe(0);
      for (const n of d.nodes) expect([n.name, value(m, "kvmcloud_node_up", { node: n.name })]).toEqual([n.name, 1]);
      expect(value(m, "kvmcloud_vm_running", { vm: name })).toBe(1);
      expect(value(m, "kvmcloud_scrape_source_up", { source: "inventory" })).toBe(1);
      expect(lines.join("\n")).toMatch(/libvirt ghost failed/);
      expect(lines.join("\n")).not.toContain(cloud.inventory.postgresUrl);
    } finally {
      await access.close();
    }
  });

  it("fires VmNotRunning within two evaluation intervals of the guest being stopped by hand, and clears it when it runs again", async () => {
    expect(evaluationSeconds).toBeGreaterThan(0);
    const uri = nodeUri(d, vm!.node);
    await run(virsh(uri, "destroy", name));
    const t0 = Date.now();
    await waitFor("VmNotRunning to fire", async () => ((await firing("VmNotRunning", name)) ? true : undefined), evaluationSeconds * 3000 + 10_000, 250);
    const fired = Date.now() - t0;
    process.stdout.write(`  VmNotRunning fired ${seconds(fired)} s after virsh destroy (evaluation interval ${evaluationSeconds} s)\n`);
    expect(fired).toBeLessThanOrEqual(2 * evaluationSeconds * 1000);

    await run(virsh(uri, "start", name));
    const t1 = Date.now();
    await waitFor("VmNotRunning to clear", async () => ((await firing("VmNotRunning", name)) ? undefined : true), evaluationSeconds * 3000 + 10_000, 250);
    process.stdout.write(`  VmNotRunning cleared ${seconds(Date.now() - t1)} s after virsh start\n`);
  });
});
