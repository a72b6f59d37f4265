import { stringify } from "yaml";
import { check } from "../core/errors";
import { checkDnsLabel } from "../core/network";

/**
 * prometheus.yml for a kvm-cloud: node exporters on every host, the Ceph
 * manager's prometheus module, HAProxy's built-in exporter and the kvm-cloud
 * exporter. Pure and deterministic: the Monitoring component, the lab and the
 * tests (promtool check config) use the same text.
 */

/** Job names; alert rules and the dashboard select on them. */
export const JOBS = {
  prometheus: "prometheus",
  node: "node",
  ceph: "ceph",
  haproxy: "haproxy",
  kvmcloud: "kvmcloud",
} as const;

export interface ScrapeTarget {
  /** The host's name, added to every series as label `host`. */
  readonly host: string;
  /** host:port Prometheus connects to. */
  readonly address: string;
}

export interface PrometheusConfigInput {
  /** Default 15. */
  readonly scrapeIntervalSeconds?: number;
  /** Default 15. */
  readonly evaluationIntervalSeconds?: number;
  /** Per-job override for the kvm-cloud exporter, whose data drives the VM alerts. Default: scrapeIntervalSeconds. */
  readonly kvmcloudScrapeIntervalSeconds?: number;
  /** Bound of the exporter's scrape (it runs SSH and SQL per scrape). Default 10, at most its interval. */
  readonly kvmcloudScrapeTimeoutSeconds?: number;
  /** Paths of rule files as Prometheus sees them. */
  readonly ruleFiles: readonly string[];
  /** Prometheus' own address (host:port) for its self-scrape. */
  readonly prometheus: ScrapeTarget;
  readonly nodeExporters: readonly ScrapeTarget[];
  /** Ceph managers running the prometheus module (port 9283). */
  readonly cephManagers: readonly ScrapeTarget[];
  /** HAProxy frontends that serve `prometheus-exporter` on /metrics. */
  readonly haproxy: readonly ScrapeTarget[];
  readonly kvmcloudExporters: readonly ScrapeTarget[];
  /** Labels added to every series and alert, e.g. { cloud: "prod" }. */
  readonly externalLabels?: Readonly<Record<string, string>>;
}

const HOST_PORT = /^[A-Za-z0-9.-]{1,253}:\d{1,5}$/;

/** Prometheus' scrape_timeout for the kvm-cloud exporter: the given one (default 10 s), at most its scrape interval. */
export function kvmcloudScrapeTimeoutSeconds(c: Pick<PrometheusConfigInput, "scrapeIntervalSeconds" | "kvmcloudScrapeIntervalSeconds" | "kvmcloudScrapeTimeoutSeconds">): number {
  return Math.min(c.kvmcloudScrapeTimeoutSeconds ?? 10, c.kvmcloudScrapeIntervalSeconds ?? c.scrapeIntervalSeconds ?? 15);
}

/**
 * The exporter's own bound on a scrape: a second below Prometheus' timeout,
 * so a slow node shows as down in the answer instead of the scrape failing.
 */
export function exporterScrapeBoundSeconds(prometheusTimeoutSeconds: number): number {
  return Math.max(1, prometheusTimeoutSeconds - 1);
}

function checkTargets(field: string, ts: readonly ScrapeTarget[]): void {
  check(Array.isArray(ts), field, ts, "a list of { host, address }");
  ts.forEach((t, i) => {
    checkDnsLabel(`${field}[${i}].host`, t.host);
    check(typeof t.address === "string" && HOST_PORT.test(t.address) && Number(t.address.split(":").pop()) <= 65535, `${field}[${i}].address`, t.address, "host:port, e.g. 10.0.0.21:9100");
  });
}

function checkSeconds(field: string, v: number | undefined, max = 3600): void {
  if (v !== undefined) check(Number.isInteger(v) && v >= 1 && v <= max, field, v, `whole seconds 1-${max}`);
}

function job(name: string, targets: readonly ScrapeTarget[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    job_name: name,
    ...extra,
    static_configs: targets.map((t) => ({ targets: [t.address], labels: { host: t.host } })),
  };
}

/** Every rule of the config's input, each error naming its field. */
export function checkPrometheusConfig(c: PrometheusConfigInput): void {
  checkSeconds("scrapeIntervalSeconds", c.scrapeIntervalSeconds);
  checkSeconds("evaluationIntervalSeconds", c.evaluationIntervalSeconds);
  checkSeconds("kvmcloudScrapeIntervalSeconds", c.kvmcloudScrapeIntervalSeconds);
  checkSeconds("kvmcloudScrapeTimeoutSeconds", c.kvmcloudScrapeTimeoutSeconds);
  checkTargets("prometheus", [c.prometheus]);
  checkTargets("nodeExporters", c.nodeExporters);
  checkTargets("cephManagers", c.cephManagers);
  checkTargets("haproxy", c.haproxy);
  checkTargets("kvmcloudExporters", c.kvmcloudExporters);
  check(Array.isArray(c.ruleFiles) && c.ruleFiles.every((f) => typeof f === "string" && f.length > 0 && !f.includes("\n")), "ruleFiles", c.ruleFiles, "a list of file paths");
  for (const [k, v] of Object.entries(c.externalLabels ?? {})) {
    check(/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(k), `externalLabels.${k}`, k, "a Prometheus label name [a-zA-Z_][a-zA-Z0-9_]*");
    check(typeof v === "string", `externalLabels.${k}`, v, "a string");
  }
}

export function renderPrometheusConfig(c: PrometheusConfigInput): string {
  checkPrometheusConfig(c);
  const scrape = c.scrapeIntervalSeconds ?? 15;
  const kvmInterval = c.kvmcloudScrapeIntervalSeconds ?? scrape;
  const kvmTimeout = kvmcloudScrapeTimeoutSeconds(c);
  const jobs = [
    job(JOBS.prometheus, [c.prometheus]),
    job(JOBS.node, c.nodeExporters),
    // The manager labels series itself (ceph_daemon, pool_id); keep its labels.
    job(JOBS.ceph, c.cephManagers, { honor_labels: true }),
    job(JOBS.haproxy, c.haproxy, { metrics_path: "/metrics" }),
    job(JOBS.kvmcloud, c.kvmcloudExporters, { scrape_interval: `${kvmInterval}s`, scrape_timeout: `${kvmTimeout}s` }),
  ].filter((j) => (j.static_configs as unknown[]).length > 0);
  const doc = {
    global: {
      scrape_interval: `${scrape}s`,
      scrape_timeout: `${Math.min(10, scrape)}s`,
      evaluation_interval: `${c.evaluationIntervalSeconds ?? 15}s`,
      ...(c.externalLabels && Object.keys(c.externalLabels).length > 0 ? { external_labels: { ...c.externalLabels } } : {}),
    },
    rule_files: [...c.ruleFiles],
    scrape_configs: jobs,
  };
  return `# Rendered by kvm-cloud; edits are overwritten.\n${stringify(doc, { lineWidth: 0 })}`;
}
