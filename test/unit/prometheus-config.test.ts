import { parse } from "yaml";
import { renderAlertRules } from "../../lib/monitoring/alert-rules";
import { PrometheusConfigInput, renderPrometheusConfig } from "../../lib/monitoring/prometheus-config";
import { promtool } from "../helpers/promtool";

const input: PrometheusConfigInput = {
  scrapeIntervalSeconds: 15,
  evaluationIntervalSeconds: 15,
  ruleFiles: ["kvm-cloud.rules.yml"],
  prometheus: { host: "mon", address: "localhost:9090" },
  nodeExporters: [
    { host: "node1", address: "10.0.0.21:9100" },
    { host: "node2", address: "10.0.0.22:9100" },
  ],
  cephManagers: [{ host: "ceph1", address: "10.0.0.11:9283" }],
  haproxy: [{ host: "lb", address: "10.0.0.5:8404" }],
  kvmcloudExporters: [{ host: "mon", address: "kvmcloud-exporter:9810" }],
  externalLabels: { cloud: "prod" },
};

type Job = { job_name: string; static_configs: Array<{ targets: string[]; labels: { host: string } }>; [k: string]: unknown };

describe("renderPrometheusConfig", () => {
  it("passes promtool check config, rule file included", () => {
    const r = promtool((d) => ["check", "config", `${d}/prometheus.yml`], {
      "prometheus.yml": renderPrometheusConfig(input),
      "kvm-cloud.rules.yml": renderAlertRules(),
    });
    expect(r.output).toMatch(/SUCCESS/);
    expect(r.code).toBe(0);
  });

  it("scrapes every host's node exporter, the Ceph manager, HAProxy and the exporter, labelled by host", () => {
    const doc = parse(renderPrometheusConfig(input));
    const jobs = doc.scrape_configs as Job[];
    expect(jobs.map((j) => j.job_name)).toEqual(["prometheus", "node", "ceph", "haproxy", "kvmcloud"]);
    const node = jobs.find((j) => j.job_name === "node")!;
    expect(node.static_configs).toEqual([
      { targets: ["10.0.0.21:9100"], labels: { host: "node1" } },
      { targets: ["10.0.0.22:9100"], labels: { host: "node2" } },
    ]);
    expect(jobs.find((j) => j.job_name === "ceph")!.honor_labels).toBe(true);
    expect(doc.global.external_labels).toEqual({ cloud: "prod" });
    expect(doc.rule_files).toEqual(["kvm-cloud.rules.yml"]);
  });

  it("gives the exporter its own interval with a timeout no longer than it, and leaves out jobs without targets", () => {
    const doc = parse(renderPrometheusConfig({ ...input, scrapeIntervalSeconds: 5, evaluationIntervalSeconds: 5, kvmcloudScrapeIntervalSeconds: 3, haproxy: [] }));
    const jobs = doc.scrape_configs as Job[];
    expect(jobs.map((j) => j.job_name)).not.toContain("haproxy");
    const k = jobs.find((j) => j.job_name === "kvmcloud")!;
    expect([k.scrape_interval, k.scrape_timeout]).toEqual(["3s", "3s"]);
    expect([doc.global.scrape_interval, doc.global.scrape_timeout, doc.global.evaluation_interval]).toEqual(["5s", "5s", "5s"]);
  });

  it("is deterministic", () => {
    expect(renderPrometheusConfig(input)).toBe(renderPrometheusConfig({ ...input }));
  });

  it.each([
    [{ nodeExporters: [{ host: "node1", address: "10.0.0.21" }] }, /nodeExporters\[0\].address: "10.0.0.21".*host:port/],
    [{ cephManagers: [{ host: "Ceph_1", address: "10.0.0.11:9283" }] }, /cephManagers\[0\].host: "Ceph_1"/],
    [{ scrapeIntervalSeconds: 0 }, /scrapeIntervalSeconds: 0.*whole seconds 1-3600/],
    [{ kvmcloudScrapeIntervalSeconds: 2.5 }, /kvmcloudScrapeIntervalSeconds: 2.5/],
    [{ externalLabels: { "bad-label": "x" } }, /externalLabels.bad-label.*label name/],
    [{ ruleFiles: ["a\nb"] }, /ruleFiles.*file paths/],
  ])("rejects %j naming the field", (bad, msg) => {
    expect(() => renderPrometheusConfig({ ...input, ...(bad as Partial<PrometheusConfigInput>) })).toThrow(msg);
  });
});
