import * as fs from "fs";
import * as path from "path";

/** The kvm-cloud Grafana dashboard shipped with the repo, and the PromQL it uses. */
export const DASHBOARD_FILE = path.join(__dirname, "dashboards", "kvm-cloud.json");

export interface DashboardPanel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly datasource?: { readonly type: string; readonly uid: string };
  readonly targets?: ReadonlyArray<{ readonly expr: string; readonly refId: string }>;
  readonly gridPos: { readonly h: number; readonly w: number; readonly x: number; readonly y: number };
}

export interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly panels: readonly DashboardPanel[];
}

export function readDashboardText(file = DASHBOARD_FILE): string {
  return fs.readFileSync(file, "utf8");
}

/** Every PromQL expression of the dashboard's panels, in panel order. */
export function dashboardExpressions(d: Dashboard): string[] {
  return d.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
}
