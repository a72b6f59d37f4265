import { stringify } from "yaml";
import { check } from "../core/errors";

/**
 * Grafana's provisioning files: the Prometheus data source and the file
 * provider that loads kvm-cloud's dashboards. The dashboard JSON refers to
 * the data source by PROMETHEUS_DATASOURCE_UID.
 */
export const PROMETHEUS_DATASOURCE_UID = "kvmcloud-prometheus";

export function renderGrafanaDatasource(o: { readonly prometheusUrl: string; readonly scrapeIntervalSeconds?: number }): string {
  let ok = false;
  try {
    ok = /^https?:$/.test(new URL(o.prometheusUrl).protocol);
  } catch {
    ok = false;
  }
  check(ok, "prometheusUrl", o.prometheusUrl, "an http:// or https:// URL, e.g. http://prometheus:9090");
  const doc = {
    apiVersion: 1,
    datasources: [
      {
        name: "Prometheus",
        type: "prometheus",
        uid: PROMETHEUS_DATASOURCE_UID,
        access: "proxy",
        url: o.prometheusUrl,
        isDefault: true,
        editable: false,
        jsonData: { timeInterval: `${o.scrapeIntervalSeconds ?? 15}s` },
      },
    ],
  };
  return stringify(doc, { lineWidth: 0 });
}

export function renderGrafanaDashboardProvider(o: { readonly path: string }): string {
  check(typeof o.path === "string" && /^\/[^\0\n]*$/.test(o.path), "path", o.path, "an absolute directory path inside the Grafana container");
  const doc = {
    apiVersion: 1,
    providers: [
      {
        name: "kvm-cloud",
        folder: "kvm-cloud",
        type: "file",
        disableDeletion: true,
        allowUiUpdates: false,
        options: { path: o.path, foldersFromFilesStructure: false },
      },
    ],
  };
  return stringify(doc, { lineWidth: 0 });
}
