import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { exporterBundle } from "../lib/exporter/bundle";
import { alertRules, renderAlertRules } from "../lib/render/alert-rules";
import { renderPrometheusConfig } from "../lib/render/prometheus-config";
import { cloudSpecFromLab } from "./cloud-spec";
import { LabDescription } from "./description";
import { inNetns, run, waitFor } from "./exec";
import { alive, Daemon, ensureDaemon, stopDaemon } from "./lab-daemon";
import { writeIfChanged } from "./write-if-changed";
import { LabPaths } from "./paths";
import { CEPH_HOSTS, DHCP, HOSTS, hostByName } from "./topology";

/** Hosts whose daemons the lab runs itself; bare hosts get theirs from the stack. */
const LAB_RUN_HOSTS = HOSTS.filter((h) => !h.bare);

/**
 * The lab's monitoring with Debian's packages: a node exporter on every lab
 * host (inside its namespace, bound to the host's address), the kvm-cloud
 * exporter and Prometheus in the manager namespace, Prometheus running the
 * rendered prometheus.yml and alert rules with short intervals so the tests
 * see alerts within seconds. Every daemon lives in a lab namespace, so
 * lab:down's namespace sweep ends it; its files live in the state directory.
 */
export const MONITORING = {
  nodeExporterPort: 9100,
  exporterPort: 9810,
  prometheusPort: 9090,
  cephMgrPort: 9283,
  /** Prometheus' scrape interval in the lab. */
  intervalSeconds: 5,
  /**
   * Rule evaluation interval. A stopped VM shows in the exporter's next scrape
   * (<= 5 s + its ~2 s duration) and fires at the next evaluation after that:
   * with 10 s that is always within two evaluation intervals.
   */
  evaluationSeconds: 10,
  /** The exporter's own bound, below the job's scrape_timeout. */
  exporterScrapeTimeoutSeconds: 4,
} as const;

/** Node exporter collectors the lab keeps: enough for the dashboard, light on 2 cores. */
const NODE_COLLECTORS = ["cpu", "meminfo", "loadavg", "netdev", "filesystem", "diskstats", "time", "uname", "stat"];

export function monitoringFiles(p: LabPaths) {
  const dir = path.join(p.state, "monitoring");
  return {
    dir,
    cloudSpec: path.join(dir, "cloud-spec.json"),
    prometheusYml: path.join(dir, "prometheus.yml"),
    rules: path.join(dir, "kvm-cloud.rules.yml"),
    tsdb: path.join(dir, "prometheus-data"),
    /** The exporter's bundle (lib/exporter/bundle.ts), as the Monitoring component ships it. */
    exporterBundle: path.join(dir, "kvm-cloud-exporter.js"),
    /** Digest of what the running exporter was started with (spec and code). */
    exporterStamp: path.join(dir, "exporter.digest"),
  };
}

/**
 * What the running exporter was started with: its spec and every module it
 * imports (the same closure the Monitoring component ships), so a change to
 * any of them restarts it.
 */
function exporterDigest(root: string, specText: string): string {
  const h = crypto.createHash("sha256").update(specText);
  return h.update(exporterBundle(root).sha256).digest("hex");
}

/** Pure: where the lab's Prometheus and exporter answer (inside kcl-mgr). */
export function monitoringUrls(): { prometheusUrl: string; exporterUrl: string } {
  const mgr = hostByName("mgr").address;
  return { prometheusUrl: `http://${mgr}:${MONITORING.prometheusPort}`, exporterUrl: `http://${mgr}:${MONITORING.exporterPort}` };
}

/** Pure: the lab's prometheus.yml and rules, from the lab's fixed topology. */
export function labPrometheusFiles(rulesPath: string): { config: string; rules: string } {
  const mgr = hostByName("mgr").address;
  const config = renderPrometheusConfig({
    scrapeIntervalSeconds: MONITORING.intervalSeconds,
    evaluationIntervalSeconds: MONITORING.evaluationSeconds,
    kvmcloudScrapeTimeoutSeconds: MONITORING.intervalSeconds,
    ruleFiles: [rulesPath],
    prometheus: { host: "mgr", address: `${mgr}:${MONITORING.prometheusPort}` },
    nodeExporters: LAB_RUN_HOSTS.map((h) => ({ host: h.name, address: `${h.address}:${MONITORING.nodeExporterPort}` })),
    // CephCluster puts the manager on the first Ceph host.
    cephManagers: [{ host: CEPH_HOSTS[0].name, address: `${CEPH_HOSTS[0].address}:${MONITORING.cephMgrPort}` }],
    // The lab has no load balancer; the haproxy job is proven by promtool only.
    haproxy: [],
    kvmcloudExporters: [{ host: "mgr", address: `${mgr}:${MONITORING.exporterPort}` }],
    externalLabels: { cloud: "lab" },
  });
  return { config, rules: renderAlertRules({ pendingFor: "0s" }) };
}

function daemons(p: LabPaths): Daemon[] {
  const f = monitoringFiles(p);
  const mgr = hostByName("mgr");
  const nodeExporters: Daemon[] = LAB_RUN_HOSTS.map((h) => ({
    name: `node exporter ${h.name}`,
    host: h,
    argv: [
      "prometheus-node-exporter",
      `--web.listen-address=${h.address}:${MONITORING.nodeExporterPort}`,
      "--collector.disable-defaults",
      ...NODE_COLLECTORS.map((c) => `--collector.${c}`),
    ],
    comm: "prometheus-node-exporter",
    pidFile: path.join(f.dir, `node-exporter-${h.name}.pid`),
    logFile: path.join(f.dir, `node-exporter-${h.name}.log`),
  }));
  const exporter: Daemon = {
    name: "kvm-cloud exporter",
    host: mgr,
    argv: [
      // The same single-file bundle the Monitoring component ships.
      process.execPath, f.exporterBundle,
      "--cloud-spec", f.cloudSpec,
      "--dhcp-range", `${DHCP.rangeStart}-${DHCP.rangeEnd}`,
      "--listen", `${mgr.address}:${MONITORING.exporterPort}`,
      "--scrape-timeout", String(MONITORING.exporterScrapeTimeoutSeconds),
    ],
    comm: "node",
    pidFile: path.join(f.dir, "exporter.pid"),
    logFile: path.join(f.dir, "exporter.log"),
    cwd: p.root,
  };
  const prometheus: Daemon = {
    name: "prometheus",
    host: mgr,
    argv: [
      "prometheus",
      `--config.file=${f.prometheusYml}`,
      `--storage.tsdb.path=${f.tsdb}`,
      "--storage.tsdb.retention.time=6h",
      `--web.listen-address=${mgr.address}:${MONITORING.prometheusPort}`,
    ],
    comm: "prometheus",
    pidFile: path.join(f.dir, "prometheus.pid"),
    logFile: path.join(f.dir, "prometheus.log"),
  };
  return [...nodeExporters, exporter, prometheus];
}

/** GET url from inside the manager namespace (lab addresses exist nowhere else). */
export async function labHttpGet(d: LabDescription, url: string, timeoutSeconds = 5): Promise<{ ok: boolean; body: string; error: string }> {
  const r = await run(inNetns(d.managerNamespace, ["curl", "-sS", "-f", "-m", String(timeoutSeconds), url]), { allowFail: true, timeoutMs: (timeoutSeconds + 5) * 1000 });
  return { ok: r.code === 0, body: r.stdout, error: r.stderr.trim().split("\n").pop() ?? "" };
}

/**
 * Makes (or mends) the lab's monitoring. Idempotent: running daemons are kept;
 * a changed config is reloaded (Prometheus, SIGHUP) or restarts the exporter.
 */
export async function ensureMonitoring(p: LabPaths, d: LabDescription, log: (l: string) => void = () => undefined): Promise<{ prometheusUrl: string }> {
  const f = monitoringFiles(p);
  fs.mkdirSync(f.tsdb, { recursive: true, mode: 0o700 });
  fs.chmodSync(f.dir, 0o700);
  const all = daemons(p);
  const byName = (n: string) => all.find((x) => x.name === n)!;

  const specText = JSON.stringify(cloudSpecFromLab(d), null, 2) + "\n";
  writeIfChanged(f.cloudSpec, specText, 0o600);
  writeIfChanged(f.exporterBundle, exporterBundle(p.root).content, 0o644);
  // A running exporter started from another spec or older code is restarted.
  const digest = exporterDigest(p.root, specText);
  const exporterChanged = writeIfChanged(f.exporterStamp, digest + "\n");
  const { config, rules } = labPrometheusFiles(f.rules);
  const rulesChanged = writeIfChanged(f.rules, rules);
  const configChanged = writeIfChanged(f.prometheusYml, config);
  await run(["promtool", "check", "config", f.prometheusYml], { timeoutMs: 30_000 });

  if (exporterChanged) {
    stopDaemon(byName("kvm-cloud exporter"));
    log("monitoring: the exporter's spec or code changed; restarting it");
  }
  const prometheus = byName("prometheus");
  const pid = alive(prometheus);
  if (pid !== undefined && (rulesChanged || configChanged)) {
    process.kill(pid, "SIGHUP");
    log("monitoring: prometheus reloads its changed config");
  }
  const urls = monitoringUrls();
  const since = Date.now();
  let started = false;
  // Prometheus last, once what it scrapes answers: its first scrapes then succeed.
  for (const dm of all.filter((x) => x !== prometheus)) {
    // A stopped exporter needs a moment to free its port.
    if (dm.name === "kvm-cloud exporter" && exporterChanged) {
      await waitFor("the old exporter to exit", async () => (alive(dm) === undefined ? true : undefined), 10_000, 100);
    }
    if (await ensureDaemon(dm)) {
      log(`monitoring: started ${dm.name}`);
      started = true;
    }
  }
  await waitFor("the kvm-cloud exporter to answer", async () => ((await labHttpGet(d, `${urls.exporterUrl}/healthz`)).ok ? true : undefined), 60_000, 500);
  if (await ensureDaemon(prometheus)) {
    log("monitoring: started prometheus");
    started = true;
  }
  await waitFor("Prometheus to be ready", async () => ((await labHttpGet(d, `${urls.prometheusUrl}/-/ready`)).ok ? true : undefined), 60_000, 500);
  // Wait (bounded) until Prometheus has scraped every target up, so that
  // lab:status right after lab:up tells the truth: after our own (re)start for
  // up to 60 s (a fresh lab's Ceph manager module may still be starting),
  // otherwise for a few scrapes (a daemon lab:up just mended). A target that
  // stays down costs metrics, not the lab: it is logged and lab:status says so.
  const settled = async () => {
    const t = await activeTargets(d);
    return t.every((x) => x.health === "up" && (!started || Date.parse(x.lastScrape) > since)) ? true : undefined;
  };
  const bound = started ? 60_000 : (MONITORING.intervalSeconds * 3 + 5) * 1000;
  await waitFor("every Prometheus target scraped up", settled, bound, 1000).catch(async () =>
    log(`monitoring: targets not up: ${(await downTargets(d).catch(() => [])).join(", ")}`),
  );
  return { prometheusUrl: urls.prometheusUrl };
}

interface ActiveTarget {
  readonly health: "up" | "down" | "unknown";
  /** RFC 3339 time of the last scrape. */
  readonly lastScrape: string;
  readonly scrapePool: string;
  readonly scrapeUrl: string;
  readonly labels: { readonly host?: string };
}

async function activeTargets(d: LabDescription): Promise<ActiveTarget[]> {
  const r = await labHttpGet(d, `${monitoringUrls().prometheusUrl}/api/v1/targets?state=active`);
  if (!r.ok) throw new Error(`Prometheus does not answer: ${r.error}`);
  return (JSON.parse(r.body).data?.activeTargets ?? []) as ActiveTarget[];
}

async function downTargets(d: LabDescription): Promise<string[]> {
  return (await activeTargets(d)).filter((t) => t.health !== "up").map((t) => `${t.scrapePool}/${t.labels.host} ${t.health}`);
}

/** Problems of the monitoring, one entry per part (undefined when healthy). */
export async function monitoringProblems(p: LabPaths, d: LabDescription): Promise<Array<{ part: string; ok: boolean; detail: string }>> {
  const all = daemons(p);
  const urls = monitoringUrls();
  const out: Array<{ part: string; ok: boolean; detail: string }> = [];
  const exporters = all.filter((x) => x.comm === "prometheus-node-exporter");
  const deadExporters = exporters.filter((x) => alive(x) === undefined).map((x) => x.host.name);
  out.push({
    part: "node exporters",
    ok: deadExporters.length === 0,
    detail: deadExporters.length === 0 ? `${exporters.length} hosts, port ${MONITORING.nodeExporterPort}` : `not running on ${deadExporters.join(", ")}`,
  });
  const exporter = await labHttpGet(d, `${urls.exporterUrl}/healthz`);
  out.push({ part: "kvm exporter", ok: exporter.ok, detail: exporter.ok ? `${urls.exporterUrl}/metrics` : `no answer: ${exporter.error}` });
  try {
    const active = await activeTargets(d);
    const notUp = active.filter((t) => t.health !== "up");
    // Not scraped yet ("unknown") or down at its last scrape but answering now
    // (mended since): Prometheus catches up at its next scrape; not a failure.
    const failing: string[] = [];
    for (const t of notUp.filter((x) => x.health === "down")) {
      if (!(await labHttpGet(d, t.scrapeUrl)).ok) failing.push(`${t.scrapePool}/${t.labels.host}`);
    }
    out.push({
      part: "prometheus",
      ok: failing.length === 0,
      detail:
        `${urls.prometheusUrl}: ${active.length - notUp.length}/${active.length} targets up` +
        (notUp.length ? ` (${notUp.map((t) => `${t.scrapePool}/${t.labels.host} ${t.health}`).join(", ")}${failing.length ? `; not answering: ${failing.join(", ")}` : ""})` : "") +
        `, ${alertRules().length} alert rules`,
    });
  } catch (e) {
    out.push({ part: "prometheus", ok: false, detail: (e as Error).message });
  }
  return out;
}
