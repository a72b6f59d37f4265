import { MONITORING_DEFAULTS, resolveMonitoringServices } from "../../lib/monitoring/monitoring-services";

describe("resolveMonitoringServices", () => {
  it("fills every default once, from one table", () => {
    expect(resolveMonitoringServices({}, "docker")).toEqual(MONITORING_DEFAULTS);
  });

  it("keeps what is given", () => {
    const given = { prometheusPort: 19090, grafanaPort: 13000, bindAddress: "10.0.0.3", prometheusImage: "prom/prometheus:v3", grafanaImage: "grafana/grafana:12", exporterImage: "node:22" };
    expect(resolveMonitoringServices(given, "docker")).toEqual(given);
  });

  it("lets Prometheus take Grafana's default port when there is no Grafana (packages)", () => {
    expect(resolveMonitoringServices({ prometheusPort: 3000 }, "packages").prometheusPort).toBe(3000);
    expect(() => resolveMonitoringServices({ prometheusPort: 3000 }, "docker")).toThrow(/grafanaPort: 3000.*prometheusPort 3000/);
  });

  it.each([
    [{ prometheusPort: 0 }, /prometheusPort: 0/],
    [{ grafanaPort: 1.5 }, /grafanaPort: 1.5/],
    [{ bindAddress: "10.0.0.300" }, /bindAddress: "10.0.0.300"/],
    [{ grafanaImage: "Grafana" }, /grafanaImage: "Grafana"/],
  ])("refuses %j naming the field", (bad, msg) => {
    expect(() => resolveMonitoringServices(bad, "docker")).toThrow(msg);
  });
});
