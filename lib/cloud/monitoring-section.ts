import { renderAlertRules } from "../monitoring/alert-rules";
import { renderPrometheusConfig } from "../monitoring/prometheus-config";
import { checkClientNetworks } from "../core/cidr";
import { check, within } from "../core/errors";

/** The `monitoring` section of a cloud's config: what the Monitoring component takes beyond the cloud's hosts. */
export interface MonitoringSection {
  /** Prometheus' scrape interval. Default 15. */
  readonly scrapeIntervalSeconds?: number;
  /** Prometheus' rule evaluation interval. Default 15. */
  readonly evaluationIntervalSeconds?: number;
  /** Overrides every alert's pending time, e.g. "0s". Default: per rule (2-10 m). */
  readonly alertPendingFor?: string;
  /** Networks (CIDR) allowed to reach the hosts' node exporters (port 9100), e.g. Prometheus' host. Default: any. */
  readonly nodeExporterClients?: readonly string[];
}

/** The section checked by the renderers that will use it, its fields named from the top of the config. */
export function checkMonitoringSection(m: MonitoringSection): void {
  check(typeof m === "object" && m !== null && !Array.isArray(m), "monitoring", m, "an object { scrapeIntervalSeconds?, evaluationIntervalSeconds?, alertPendingFor?, nodeExporterClients? }");
  within("monitoring.", () =>
    renderPrometheusConfig({
      scrapeIntervalSeconds: m.scrapeIntervalSeconds,
      evaluationIntervalSeconds: m.evaluationIntervalSeconds,
      ruleFiles: ["rules.yml"],
      prometheus: { host: "monitoring", address: "127.0.0.1:9090" },
      nodeExporters: [],
      cephManagers: [],
      haproxy: [],
      kvmcloudExporters: [],
    }),
  );
  within("monitoring.", () => renderAlertRules({ pendingFor: m.alertPendingFor }), { pendingFor: "alertPendingFor" });
  if (m.nodeExporterClients !== undefined) checkClientNetworks("monitoring.nodeExporterClients", m.nodeExporterClients);
}
