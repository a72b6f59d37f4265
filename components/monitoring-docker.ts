import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { readDashboardText } from "../lib/monitoring/exporter/dashboard";
import { exporterBundle } from "../lib/monitoring/exporter/bundle";
import { DEFAULT_EXPORTER_PORT } from "../lib/monitoring/exporter/options";
import { renderGrafanaDashboardProvider, renderGrafanaDatasource } from "../lib/monitoring/grafana-provisioning";
import { PROMETHEUS_CONFIG, PROMETHEUS_RULES } from "../lib/monitoring/monitoring-packages";
import { ResolvedMonitoringServices } from "../lib/monitoring/monitoring-services";
import { dockerHostProvider, dockerService } from "./docker-host";
import type { MonitoringArgs } from "./monitoring";

/**
 * Monitoring's Docker runtime: Prometheus, Grafana and the kvm-cloud exporter
 * as containers on one network of their own, through @pulumi/docker over SSH.
 * Data volumes outlive the component (retainOnDelete).
 */

const GRAFANA_DASHBOARDS = "/etc/grafana/dashboards/kvm-cloud";
const GRAFANA_PASSWORD_FILE = "/etc/grafana/admin-password";
const EXPORTER_DIR = "/opt/kvm-cloud-exporter";
const CLOUD_SPEC_FILE = "/etc/kvm-cloud/cloud.json";
/** Grafana's user in its official image. */
const GRAFANA_UID = "472";

/** Where Prometheus reaches the exporter: containers on the component's network reach each other by name. */
export function dockerExporterTarget(name: string): string {
  return `${name}-exporter:${DEFAULT_EXPORTER_PORT}`;
}

export interface MonitoringContainersInput {
  readonly prometheusConfig: pulumi.Output<string>;
  readonly rules: pulumi.Output<string>;
  /** The CloudSpec as JSON: a secret. */
  readonly spec: pulumi.Output<string>;
  readonly range: pulumi.Output<string>;
  readonly grafanaAdminPassword: pulumi.Output<string>;
  readonly services: pulumi.Output<ResolvedMonitoringServices>;
}

export function monitoringContainers(parent: pulumi.Resource, name: string, args: MonitoringArgs, i: MonitoringContainersInput): void {
  const provider = dockerHostProvider(name, args, parent);
  const o = { parent, provider };
  const network = new docker.Network(`${name}-net`, { name: `${name}-net` }, o);
  const networksAdvanced = [{ name: network.name }];

  const bundle = exporterBundle();
  dockerService(
    `${name}-exporter`,
    {
      image: i.services.exporterImage,
      container: {
        networksAdvanced,
        uploads: [
          { file: `${EXPORTER_DIR}/${bundle.fileName}`, content: bundle.content },
          // The spec holds SSH keys and the inventory's password: readable by root only.
          { file: CLOUD_SPEC_FILE, content: i.spec, permissions: "0400" },
        ],
        command: [
          "node", `${EXPORTER_DIR}/${bundle.fileName}`,
          "--cloud-spec", CLOUD_SPEC_FILE,
          "--dhcp-range", i.range,
          "--listen", `0.0.0.0:${DEFAULT_EXPORTER_PORT}`,
        ],
      },
    },
    o,
  );

  const prometheus = dockerService(
    `${name}-prometheus`,
    {
      image: i.services.prometheusImage,
      dataPath: "/prometheus",
      container: {
        networksAdvanced,
        uploads: [
          { file: PROMETHEUS_CONFIG, content: i.prometheusConfig },
          { file: PROMETHEUS_RULES, content: i.rules },
        ],
        command: [`--config.file=${PROMETHEUS_CONFIG}`, "--storage.tsdb.path=/prometheus", "--storage.tsdb.retention.time=30d"],
        ports: [{ internal: 9090, external: i.services.prometheusPort, ip: i.services.bindAddress }],
      },
    },
    o,
  );

  const datasource = pulumi
    .all([prometheus.name, args.scrapeIntervalSeconds])
    .apply(([host, scrape]) => renderGrafanaDatasource({ prometheusUrl: `http://${host}:9090`, scrapeIntervalSeconds: scrape }));
  dockerService(
    `${name}-grafana`,
    {
      image: i.services.grafanaImage,
      dataPath: "/var/lib/grafana",
      container: {
        networksAdvanced,
        // The password comes from a file, not the environment `docker inspect` shows.
        envs: [`GF_SECURITY_ADMIN_PASSWORD__FILE=${GRAFANA_PASSWORD_FILE}`, "GF_USERS_ALLOW_SIGN_UP=false", `GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH=${GRAFANA_DASHBOARDS}/kvm-cloud.json`],
        uploads: [
          { file: "/etc/grafana/provisioning/datasources/kvm-cloud.yaml", content: datasource },
          { file: "/etc/grafana/provisioning/dashboards/kvm-cloud.yaml", content: renderGrafanaDashboardProvider({ path: GRAFANA_DASHBOARDS }) },
          { file: `${GRAFANA_DASHBOARDS}/kvm-cloud.json`, content: readDashboardText() },
          { file: GRAFANA_PASSWORD_FILE, content: i.grafanaAdminPassword, owner: GRAFANA_UID, permissions: "0400" },
        ],
        ports: [{ internal: 3000, external: i.services.grafanaPort, ip: i.services.bindAddress }],
      },
    },
    o,
  );
}
