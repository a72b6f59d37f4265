import { stringify } from "yaml";
import { alertRules, renderAlertRules } from "../../lib/monitoring/alert-rules";
import { promtool } from "../helpers/promtool";

/**
 * The alert rules through promtool: `check rules` for syntax and templates,
 * and `test rules` for behaviour, with input series shaped like the
 * exporter's, the node exporters' and the Ceph manager's.
 */

interface Case {
  readonly name: string;
  readonly series: Record<string, string>;
  readonly at: string;
  readonly alert: string;
  /** Labels of each firing alert (severity included); [] when it must not fire. */
  readonly firing: Array<Record<string, string>>;
  /** Annotations where a template uses $value (the others are filled from the labels). */
  readonly annotations?: Record<string, string>;
}

/** The rule's annotations with {{ $labels.x }} filled in: what Prometheus should send. */
function annotationsFor(alert: string, labels: Record<string, string>): Record<string, string> {
  const rule = alertRules().find((r) => r.alert === alert)!;
  const fill = (t: string) => t.replace(/\{\{ \$labels\.([a-z_]+) \}\}/g, (_, k: string) => labels[k] ?? "");
  return { summary: fill(rule.summary), description: fill(rule.description) };
}

function runCases(rulesText: string, cases: readonly Case[], interval = "15s") {
  const tests = cases.map((c) => ({
    name: c.name,
    interval,
    input_series: Object.entries(c.series).map(([series, values]) => ({ series, values })),
    alert_rule_test: [
      {
        eval_time: c.at,
        alertname: c.alert,
        exp_alerts: c.firing.map((labels) => ({ exp_labels: labels, exp_annotations: { ...annotationsFor(c.alert, labels), ...c.annotations } })),
      },
    ],
  }));
  return promtool((d) => ["test", "rules", `${d}/tests.yml`], {
    "rules.yml": rulesText,
    "tests.yml": stringify({ rule_files: ["rules.yml"], evaluation_interval: interval, tests }),
  });
}

describe("renderAlertRules", () => {
  it("passes promtool check rules", () => {
    for (const o of [{}, { pendingFor: "0s" }, { dhcpFullRatio: 0.75 }]) {
      const r = promtool((d) => ["check", "rules", `${d}/rules.yml`], { "rules.yml": renderAlertRules(o) });
      expect(r.output).toMatch(/SUCCESS: 7 rules found/);
      expect(r.code).toBe(0);
    }
  });

  it("covers node down, Ceph health, a VM not running and a nearly full DHCP range", () => {
    expect(alertRules().map((r) => r.alert)).toEqual(
      expect.arrayContaining(["HostDown", "KvmNodeUnreachable", "CephHealthNotOk", "VmNotRunning", "DhcpRangeNearlyFull"]),
    );
  });

  it("fires each alert on its condition and only then (promtool test rules)", () => {
    const vm = (v: string, node: string) => `{vm="${v}",node="${node}",job="kvmcloud",instance="x:9810"}`;
    const r = runCases(renderAlertRules({ pendingFor: "0s" }), [
      {
        name: "a VM that should run and runs nowhere fires; running, stopped-on-purpose and unreachable-node VMs do not",
        series: {
          [`kvmcloud_vm_expected_running${vm("web-1", "node1")}`]: "1x4",
          [`kvmcloud_vm_running${vm("web-1", "node1")}`]: "1x4",
          [`kvmcloud_vm_expected_running${vm("web-2", "node1")}`]: "1x4",
          [`kvmcloud_vm_running${vm("web-2", "node1")}`]: "1 1 0 0 0",
          [`kvmcloud_vm_expected_running${vm("idle-3", "node1")}`]: "0x4",
          [`kvmcloud_vm_expected_running${vm("db-4", "node2")}`]: "1x4",
          [`kvmcloud_vm_expected_running${vm("web-5", "node1")}`]: "1x4",
          'kvmcloud_node_up{node="node1",job="kvmcloud",instance="x:9810"}': "1x4",
          'kvmcloud_node_up{node="node2",job="kvmcloud",instance="x:9810"}': "0x4",
        },
        at: "45s",
        alert: "VmNotRunning",
        firing: [
          { vm: "web-2", node: "node1", job: "kvmcloud", instance: "x:9810", severity: "critical" },
          { vm: "web-5", node: "node1", job: "kvmcloud", instance: "x:9810", severity: "critical" },
        ],
      },
      {
        name: "a VM that migrated (inventory says node2, running on node2) does not fire",
        series: {
          [`kvmcloud_vm_expected_running${vm("mig-6", "node2")}`]: "1x4",
          [`kvmcloud_vm_running${vm("mig-6", "node1")}`]: "0x4",
          [`kvmcloud_vm_running${vm("mig-6", "node2")}`]: "1x4",
        },
        at: "45s",
        alert: "VmNotRunning",
        firing: [],
      },
      {
        name: "Ceph HEALTH_WARN fires",
        series: { 'ceph_health_status{job="ceph",instance="c:9283"}': "0 0 1 1" },
        at: "45s",
        alert: "CephHealthNotOk",
        firing: [{ job: "ceph", instance: "c:9283", severity: "warning" }],
        annotations: { summary: "Ceph health is HEALTH_WARN" },
      },
      {
        name: "Ceph HEALTH_OK does not fire",
        series: { 'ceph_health_status{job="ceph",instance="c:9283"}': "0x4" },
        at: "45s",
        alert: "CephHealthNotOk",
        firing: [],
      },
      {
        name: "a host whose node exporter is down fires",
        series: { 'up{job="node",host="node2",instance="10.0.0.22:9100"}': "1 0 0 0", 'up{job="node",host="node1",instance="10.0.0.21:9100"}': "1x4" },
        at: "45s",
        alert: "HostDown",
        firing: [{ job: "node", host: "node2", instance: "10.0.0.22:9100", severity: "critical" }],
      },
      {
        name: "DHCP range above 90% fires, below does not",
        series: { 'kvmcloud_dhcp_leases_active{job="kvmcloud"}': "100 200 230 230", 'kvmcloud_dhcp_range_addresses{job="kvmcloud"}': "241x4" },
        at: "45s",
        alert: "DhcpRangeNearlyFull",
        firing: [{ job: "kvmcloud", severity: "warning" }],
        annotations: { summary: "DHCP range is 95.44% full" },
      },
      {
        name: "DHCP range at 83% does not fire",
        series: { 'kvmcloud_dhcp_leases_active{job="kvmcloud"}': "200x4", 'kvmcloud_dhcp_range_addresses{job="kvmcloud"}': "241x4" },
        at: "45s",
        alert: "DhcpRangeNearlyFull",
        firing: [],
      },
      {
        name: "an unreachable KVM node fires",
        series: { 'kvmcloud_node_up{node="node2",job="kvmcloud"}': "0x4" },
        at: "45s",
        alert: "KvmNodeUnreachable",
        firing: [{ node: "node2", job: "kvmcloud", severity: "critical" }],
      },
    ]);
    expect(r.output).toMatch(/SUCCESS/);
    expect(r.code).toBe(0);
  });

  it("waits the default pending time before firing in production", () => {
    const series = { 'up{job="node",host="n",instance="n:9100"}': "0x20" };
    const r = runCases(renderAlertRules(), [
      { name: "pending at 1m", series, at: "1m", alert: "HostDown", firing: [] },
      { name: "firing at 3m", series, at: "3m", alert: "HostDown", firing: [{ job: "node", host: "n", instance: "n:9100", severity: "critical" }] },
    ]);
    expect(r.output).toMatch(/SUCCESS/);
    expect(r.code).toBe(0);
  });

  it("can fail: promtool reports an alert that does not fire as expected", () => {
    const r = runCases(renderAlertRules({ pendingFor: "0s" }), [
      { name: "HEALTH_OK wrongly expected to fire", series: { 'ceph_health_status{job="ceph"}': "0x4" }, at: "45s", alert: "CephHealthNotOk", firing: [{ job: "ceph", severity: "warning" }] },
    ]);
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/FAILED/);
  });

  it.each([
    [{ pendingFor: "2 minutes" }, /pendingFor: "2 minutes".*Prometheus duration/],
    [{ dhcpFullRatio: 1.5 }, /dhcpFullRatio: 1.5.*between 0 and 1/],
  ])("rejects %j naming the field", (bad, msg) => {
    expect(() => renderAlertRules(bad)).toThrow(msg);
  });
});
