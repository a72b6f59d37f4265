import { parse } from "yaml";
import { labPrometheusFiles, MONITORING } from "../../lab/monitoring";
import { HOSTS } from "../../lab/topology";
import { promtool } from "../helpers/promtool";

/** The lab's Prometheus files (pure, from the lab's topology), proven by promtool before any lab runs them. */
describe("the lab's Prometheus files", () => {
  const { config, rules } = labPrometheusFiles("kvm-cloud.rules.yml");
  const doc = parse(config);

  it("pass promtool check config (rules included)", () => {
    const r = promtool((d) => ["check", "config", `${d}/prometheus.yml`], { "prometheus.yml": config, "kvm-cloud.rules.yml": rules });
    expect(r.output).toMatch(/SUCCESS: 7 rules found/);
    expect(r.code).toBe(0);
  });

  it("scrape a node exporter on every host the lab runs (not bare hosts) at its own address, the Ceph manager and the exporter", () => {
    const jobs = Object.fromEntries((doc.scrape_configs as Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>).map((j) => [j.job_name, j.static_configs.flatMap((s) => s.targets)]));
    expect(jobs.node).toEqual(HOSTS.filter((h) => !h.bare).map((h) => `${h.address}:9100`));
    expect(jobs.node).not.toContain("10.77.0.4:9100");
    expect(jobs.ceph).toEqual(["10.77.0.11:9283"]);
    expect(jobs.kvmcloud).toEqual(["10.77.0.2:9810"]);
    expect(jobs.haproxy).toBeUndefined();
  });

  it("see a stopped VM within two evaluation intervals: scrape interval + exporter bound <= evaluation interval", () => {
    expect(doc.global.evaluation_interval).toBe(`${MONITORING.evaluationSeconds}s`);
    expect(MONITORING.intervalSeconds + MONITORING.exporterScrapeTimeoutSeconds).toBeLessThanOrEqual(MONITORING.evaluationSeconds);
    // Lab alerts fire at the first evaluation that sees the condition.
    expect(parse(rules).groups[0].rules.every((r: { for: string }) => r.for === "0s")).toBe(true);
  });
});
