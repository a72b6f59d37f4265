import * as pulumi from "@pulumi/pulumi";
import * as zlib from "zlib";
import { RemoteCommand } from "../dynamic-providers/remote-command";
import { exporterBundle } from "../lib/monitoring/exporter/bundle";
import { DEFAULT_EXPORTER_PORT } from "../lib/monitoring/exporter/options";
import { exporterScrapeBoundSeconds, kvmcloudScrapeTimeoutSeconds } from "../lib/monitoring/prometheus-config";
import {
  exporterStdin,
  renderExporterServiceRemoveScript,
  renderExporterServiceScript,
  renderPrometheusPackagesRemoveScript,
  renderPrometheusPackagesScript,
} from "../lib/monitoring/monitoring-packages";
import { ResolvedMonitoringServices } from "../lib/monitoring/monitoring-services";
import type { MonitoringArgs } from "./monitoring";

/**
 * Monitoring's packages runtime: Debian's Prometheus and the kvm-cloud
 * exporter under systemd on the host, each set up by a RemoteCommand
 * (`${name}-prometheus`, `${name}-exporter`). No Docker engine and no
 * registry: the exporter is one bundled file, sent with the spec on stdin.
 */

/** The exporter listens on the host's loopback only: Prometheus beside it is its one reader. */
export const PACKAGES_EXPORTER_TARGET = `127.0.0.1:${DEFAULT_EXPORTER_PORT}`;

export interface MonitoringServicesInput {
  readonly prometheusConfig: pulumi.Output<string>;
  readonly rules: pulumi.Output<string>;
  /** The CloudSpec as JSON: a secret. */
  readonly spec: pulumi.Output<string>;
  readonly dhcpRange: pulumi.Output<{ start: string; end: string }>;
  readonly services: pulumi.Output<ResolvedMonitoringServices>;
}

export function monitoringServices(parent: pulumi.Resource, name: string, args: MonitoringArgs, i: MonitoringServicesInput): void {
  const bundle = exporterBundle();
  // gzip's header carries no time from Node's zlib: the same code gives the same stdin, so no rerun.
  const gz = zlib.gzipSync(Buffer.from(bundle.content, "utf8"), { level: 9 });
  const [address, port] = PACKAGES_EXPORTER_TARGET.split(":");
  new RemoteCommand(
    `${name}-exporter`,
    {
      connection: args.connection,
      script: pulumi
        .all([i.dhcpRange, args.scrapeIntervalSeconds])
        .apply(([dhcpRange, scrapeIntervalSeconds]) =>
          renderExporterServiceScript({
            dhcpRange,
            listenAddress: address,
            port: Number(port),
            scrapeTimeoutSeconds: exporterScrapeBoundSeconds(kvmcloudScrapeTimeoutSeconds({ scrapeIntervalSeconds })),
          }),
        ),
      stdin: pulumi.secret(i.spec.apply((s) => exporterStdin(s, gz))),
      deleteScript: renderExporterServiceRemoveScript(),
    },
    { parent },
  );
  new RemoteCommand(
    `${name}-prometheus`,
    {
      connection: args.connection,
      script: pulumi
        .all([i.prometheusConfig, i.rules, i.services.bindAddress, i.services.prometheusPort])
        .apply(([config, rules, listenAddress, p]) => renderPrometheusPackagesScript({ config, rules, listenAddress, port: p, allowedClients: args.allowedClients })),
      deleteScript: renderPrometheusPackagesRemoveScript(),
    },
    { parent },
  );
}
