import { stringify } from "yaml";
import { check } from "../core/errors";
import { JOBS } from "./prometheus-config";

/**
 * kvm-cloud's alert rules, as data and as a Prometheus rules file. Each rule
 * carries `dataExpr`: the series its condition is computed from, which must
 * return data in a healthy cloud (else the alert could never fire); the lab
 * test queries both.
 */
export interface AlertRule {
  readonly alert: string;
  /** The condition: the alert fires while this returns series. */
  readonly expr: string;
  /** What the condition is computed from; returns data whether or not the alert fires. */
  readonly dataExpr: string;
  /** Pending duration, e.g. "2m". */
  readonly for: string;
  readonly severity: "critical" | "warning";
  readonly summary: string;
  readonly description: string;
}

export interface AlertRulesInput {
  /** Overrides every rule's pending time (the lab uses "0s" to see alerts at once). Default: per rule. */
  readonly pendingFor?: string;
  /** Share of the DHCP range in use that counts as nearly full, 0-1 exclusive. Default 0.9. */
  readonly dhcpFullRatio?: number;
}

const DURATION = /^(0|\d+(ms|s|m|h|d|w|y))+$/;

/** The rules, with defaults filled in and input checked. */
export function alertRules(o: AlertRulesInput = {}): AlertRule[] {
  const ratio = o.dhcpFullRatio ?? 0.9;
  check(typeof ratio === "number" && ratio > 0 && ratio < 1, "dhcpFullRatio", ratio, "a number between 0 and 1 (exclusive)");
  if (o.pendingFor !== undefined) check(DURATION.test(o.pendingFor), "pendingFor", o.pendingFor, 'a Prometheus duration like "0s", "30s" or "2m"');
  const pending = (d: string) => o.pendingFor ?? d;
  const dhcpShare = "kvmcloud_dhcp_leases_active / kvmcloud_dhcp_range_addresses";
  return [
    {
      alert: "HostDown",
      expr: `up{job="${JOBS.node}"} == 0`,
      dataExpr: `up{job="${JOBS.node}"}`,
      for: pending("2m"),
      severity: "critical",
      summary: "Host {{ $labels.host }} is down",
      description: "The node exporter on {{ $labels.host }} ({{ $labels.instance }}) has not answered Prometheus.",
    },
    {
      alert: "KvmNodeUnreachable",
      expr: "kvmcloud_node_up == 0",
      dataExpr: "kvmcloud_node_up",
      for: pending("2m"),
      severity: "critical",
      summary: "KVM node {{ $labels.node }} is unreachable",
      description: "The kvm-cloud exporter cannot reach libvirt on {{ $labels.node }} over SSH; its VMs are not monitored and no VM can be placed there.",
    },
    {
      alert: "CephHealthNotOk",
      expr: "ceph_health_status != 0",
      dataExpr: "ceph_health_status",
      for: pending("5m"),
      severity: "warning",
      summary: "Ceph health is {{ if eq $value 1.0 }}HEALTH_WARN{{ else }}HEALTH_ERR{{ end }}",
      description: "The Ceph manager reports a health status other than HEALTH_OK; see `ceph health detail`.",
    },
    {
      alert: "VmNotRunning",
      // A VM on a node the exporter cannot reach is KvmNodeUnreachable's business, not this rule's.
      expr: "(kvmcloud_vm_expected_running == 1 unless on (vm) (kvmcloud_vm_running == 1)) unless on (node) (kvmcloud_node_up == 0)",
      dataExpr: "kvmcloud_vm_expected_running",
      for: pending("2m"),
      severity: "critical",
      summary: "VM {{ $labels.vm }} is not running",
      description: "The inventory says VM {{ $labels.vm }} on {{ $labels.node }} should be running, but no node's libvirt runs it.",
    },
    {
      alert: "DhcpRangeNearlyFull",
      expr: `${dhcpShare} > ${ratio}`,
      dataExpr: dhcpShare,
      for: pending("10m"),
      severity: "warning",
      summary: "DHCP range is {{ $value | humanizePercentage }} full",
      description: `More than ${Math.round(ratio * 100)}% of the DHCP range's addresses are leased; new VMs will soon get no address.`,
    },
    {
      alert: "ScrapeTargetDown",
      expr: `up{job!="${JOBS.node}"} == 0`,
      dataExpr: `up{job!="${JOBS.node}"}`,
      for: pending("5m"),
      severity: "warning",
      summary: "{{ $labels.job }} target {{ $labels.instance }} is down",
      description: "Prometheus cannot scrape {{ $labels.job }} on {{ $labels.host }}.",
    },
    {
      alert: "ExporterSourceFailing",
      expr: 'kvmcloud_scrape_source_up{source!="libvirt"} == 0',
      dataExpr: 'kvmcloud_scrape_source_up{source!="libvirt"}',
      for: pending("5m"),
      severity: "warning",
      summary: "kvm-cloud exporter cannot read {{ $labels.source }} ({{ $labels.target }})",
      description: "The exporter's last scrapes of {{ $labels.source }} failed; the exporter's log says why.",
    },
  ];
}

export function renderAlertRules(o: AlertRulesInput = {}): string {
  const doc = {
    groups: [
      {
        name: "kvm-cloud",
        rules: alertRules(o).map((r) => ({
          alert: r.alert,
          expr: r.expr,
          for: r.for,
          labels: { severity: r.severity },
          annotations: { summary: r.summary, description: r.description },
        })),
      },
    ],
  };
  return `# Rendered by kvm-cloud; edits are overwritten.\n${stringify(doc, { lineWidth: 0 })}`;
}
