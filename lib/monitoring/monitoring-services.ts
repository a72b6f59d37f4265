import { withDefaults } from "../core/defaults";
import { check } from "../core/errors";
import { checkImageReference, HostRuntime } from "../core/host-runtime";
import { checkIPv4, checkPort } from "../core/network";

/** Where and from what the monitoring host's services run, as given (plain). */
export interface MonitoringServicesOptions {
  readonly prometheusPort?: number;
  readonly grafanaPort?: number;
  readonly bindAddress?: string;
  readonly prometheusImage?: string;
  readonly grafanaImage?: string;
  readonly exporterImage?: string;
}

export const MONITORING_DEFAULTS = {
  prometheusPort: 9090,
  grafanaPort: 3000,
  /** Every address of the host; set the management address to keep guests out. */
  bindAddress: "0.0.0.0",
  prometheusImage: "prom/prometheus:v2.53.2",
  grafanaImage: "grafana/grafana:11.2.2",
  /** The exporter is one bundled file run by plain node: any Node.js 18+ image serves. */
  exporterImage: "node:20-bookworm-slim",
} as const;

export type ResolvedMonitoringServices = { readonly [K in keyof MonitoringServicesOptions]-?: NonNullable<MonitoringServicesOptions[K]> };

/** Pure: every default filled once, then every rule checked on what the runtime will use. */
export function resolveMonitoringServices(o: MonitoringServicesOptions, runtime: HostRuntime): ResolvedMonitoringServices {
  const r = withDefaults<ResolvedMonitoringServices>(o, MONITORING_DEFAULTS);
  checkPort("prometheusPort", r.prometheusPort);
  checkPort("grafanaPort", r.grafanaPort);
  // Both are published on the same address under Docker; the packages runtime has no Grafana.
  if (runtime === "docker") check(r.grafanaPort !== r.prometheusPort, "grafanaPort", r.grafanaPort, `a port other than prometheusPort ${r.prometheusPort}`);
  checkIPv4("bindAddress", r.bindAddress);
  for (const key of ["prometheusImage", "grafanaImage", "exporterImage"] as const) checkImageReference(key, r[key]);
  return r;
}
