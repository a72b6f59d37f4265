import { labServicesConfig } from "../../lab/services";
import { hostByName } from "../../lab/topology";
import { parse } from "yaml";
import { renderAlertRules } from "../../lib/render/alert-rules";
import { exporterScrapeBoundSeconds, kvmcloudScrapeTimeoutSeconds } from "../../lib/render/prometheus-config";
import { validateServicesConfig } from "../../stacks/services";

/** The lab's monitoring settings (pure, from the lab's topology), checked before any lab runs them. */
describe("the lab's monitoring settings", () => {
  const c = labServicesConfig();
  const m = c.monitoring!;

  it("pass the services stack's checks, with every section monitoring needs", () => {
    expect(() => validateServicesConfig(c)).not.toThrow();
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
