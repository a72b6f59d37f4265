import { labCloudConfig } from "../../lab/lab-stack";
import { hostByName } from "../../lab/topology";
import { parse } from "yaml";
import { renderAlertRules } from "../../lib/monitoring/alert-rules";
import { exporterScrapeBoundSeconds, kvmcloudScrapeTimeoutSeconds } from "../../lib/monitoring/prometheus-config";
import { validateCloudConfig } from "../../lib/cloud/cloud-config";

/** The lab's monitoring settings (pure, from the lab's topology), checked before any lab runs them. */
describe("the lab's monitoring settings", () => {
  const c = labCloudConfig();
  const m = c.monitoring!;

  it("pass the whole stack's checks", () => {
    expect(() => validateCloudConfig(c)).not.toThrow();
  });

  it("see a stopped VM within two evaluation intervals: scrape interval + exporter bound <= evaluation interval", () => {
    const scrape = m.scrapeIntervalSeconds!;
    const bound = exporterScrapeBoundSeconds(kvmcloudScrapeTimeoutSeconds({ scrapeIntervalSeconds: scrape }));
    expect(bound).toBeLessThan(scrape);
    expect(scrape + bound).toBeLessThanOrEqual(m.evaluationIntervalSeconds!);
    // Lab alerts fire at the first evaluation that sees the condition.
    expect(parse(renderAlertRules({ pendingFor: m.alertPendingFor })).groups[0].rules.every((r: { for: string }) => r.for === "0s")).toBe(true);
  });

  it("admit only Prometheus' host to the node exporters, and to Prometheus only the manager, the database host and the test monitoring host", () => {
    expect(m.nodeExporterClients).toEqual([`${hostByName("db").address}/32`]);
    expect(c.database!.allowedClients).toEqual(["mgr", "db", "lb"].map((h) => `${hostByName(h).address}/32`));
  });
});
