import { parse, stringify } from "yaml";
import { Dashboard, dashboardExpressions, readDashboardText } from "../../lib/monitoring/exporter/dashboard";
import { alertRules } from "../../lib/monitoring/alert-rules";
import { PROMETHEUS_DATASOURCE_UID, renderGrafanaDashboardProvider, renderGrafanaDatasource } from "../../lib/monitoring/grafana-provisioning";
import { promtool } from "../helpers/promtool";
import { parseExposition } from "../helpers/exposition";
import { exporterOutputFromFixtures } from "../helpers/exporter-fixture-output";

/**
 * The kvm-cloud dashboard (lib/monitoring/exporter/dashboards/kvm-cloud.json) and the
 * Grafana provisioning that loads it. Grafana is not in Debian, so the
 * dashboard's PromQL is proven by promtool, and its kvm-cloud metric names
 * against what the exporter really prints for the lab's fixtures.
 */

const dash = JSON.parse(readDashboardText()) as Dashboard;
const exprs = dashboardExpressions(dash);

describe("the kvm-cloud dashboard", () => {
  it("is a dashboard Grafana can provision: uid, unique panel ids, on the 24-column grid", () => {
    expect(dash.uid).toBe("kvm-cloud");
    const ids = dash.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dash.panels) {
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
      expect(p.gridPos.h).toBeGreaterThan(0);
    }
  });

  it("queries the provisioned Prometheus data source in every panel and target", () => {
    const panels = dash.panels.filter((p) => p.type !== "row");
    expect(panels.length).toBeGreaterThanOrEqual(15);
    for (const p of panels) {
      expect(p.datasource).toEqual({ type: "prometheus", uid: PROMETHEUS_DATASOURCE_UID });
      expect(p.targets!.length).toBeGreaterThan(0);
    }
  });

  it("has PromQL that promtool parses (each expression as a recording rule)", () => {
    const rules = { groups: [{ name: "dashboard", rules: exprs.map((expr, i) => ({ record: `dashboard:expr_${i}`, expr })) }] };
    const r = promtool((d) => ["check", "rules", `${d}/dashboard.yml`], { "dashboard.yml": stringify(rules) });
    expect(r.output).toMatch(new RegExp(`SUCCESS: ${exprs.length} rules found`));
    expect(r.code).toBe(0);
  });

  it("promtool rejects a broken expression the same way (the check can fail)", () => {
    const rules = { groups: [{ name: "dashboard", rules: [{ record: "dashboard:bad", expr: "rate(kvmcloud_vm_cpu_seconds_total[1m]" }] }] };
    expect(promtool((d) => ["check", "rules", `${d}/bad.yml`], { "bad.yml": stringify(rules) }).code).not.toBe(0);
  });

  it("uses only kvm-cloud metrics the exporter prints (dashboard and alert rules)", async () => {
    const printed = new Set(parseExposition(await exporterOutputFromFixtures()).map((s) => s.name.replace(/_(bucket|sum|count)$/, "")));
    const used = [...exprs, ...alertRules().flatMap((r) => [r.expr, r.dataExpr])].flatMap((e) => e.match(/kvmcloud_[a-z_]+/g) ?? []);
    expect(used.length).toBeGreaterThan(20);
    for (const m of new Set(used)) expect([m, printed.has(m.replace(/_(bucket|sum|count)$/, ""))]).toEqual([m, true]);
  });
});

describe("Grafana provisioning", () => {
  it("declares the Prometheus data source under the uid the dashboard uses", () => {
    const doc = parse(renderGrafanaDatasource({ prometheusUrl: "http://prometheus:9090", scrapeIntervalSeconds: 15 }));
    expect(doc.apiVersion).toBe(1);
    expect(doc.datasources).toEqual([
      expect.objectContaining({ type: "prometheus", uid: PROMETHEUS_DATASOURCE_UID, url: "http://prometheus:9090", access: "proxy", isDefault: true, jsonData: { timeInterval: "15s" } }),
    ]);
  });

  it("loads dashboards from the directory the component uploads them to", () => {
    const doc = parse(renderGrafanaDashboardProvider({ path: "/etc/grafana/dashboards/kvm-cloud" }));
    expect(doc.providers[0]).toEqual(expect.objectContaining({ type: "file", options: { path: "/etc/grafana/dashboards/kvm-cloud", foldersFromFilesStructure: false } }));
  });

  it.each([
    [() => renderGrafanaDatasource({ prometheusUrl: "prometheus:9090" }), /prometheusUrl: "prometheus:9090".*http/],
    [() => renderGrafanaDashboardProvider({ path: "dashboards" }), /path: "dashboards".*absolute/],
  ])("rejects bad input naming the field (%#)", (f, msg) => {
    expect(f).toThrow(msg);
  });
});
