import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { RemoteCommand } from "../dynamic-providers/remote-command";
import { GeneratedPassword } from "../dynamic-providers/generated-password";
import { CloudSpec, validateCloudSpec } from "../lib/cloud/cloud-spec";
import { readDashboardText } from "../lib/exporter/dashboard";
import { DEFAULT_EXPORTER_PORT } from "../lib/exporter/options";
import { renderAlertRules } from "../lib/render/alert-rules";
import { renderGrafanaDashboardProvider, renderGrafanaDatasource } from "../lib/render/grafana-provisioning";
import { renderPrometheusConfig, ScrapeTarget } from "../lib/render/prometheus-config";
import { NODE_EXPORTER_PORT, renderNodeExporterRemoveScript, renderNodeExporterScript } from "../lib/render/scripts/node-exporter";
import { check } from "../lib/validate/errors";
import { checkDnsLabel, checkIPv4, ipToInt } from "../lib/validate/network";
import { HostConnection } from "./connection";
import { EXPORTER_MAIN, exporterBundle } from "../lib/exporter/bundle";
import { validateWhenKnown } from "./inputs";
import { DockerHostArgs, dockerHostProvider } from "./docker-host";

/** A host whose node exporter Prometheus scrapes. */
export interface MonitoredHost {
  /** The `host` label of its series (a DNS label). Must be a plain value. */
  readonly name: string;
  /** IPv4 address Prometheus reaches the node exporter on (port 9100); it listens there only. */
  readonly address: pulumi.Input<string>;
  /** When given, the component installs and configures prometheus-node-exporter over SSH. Default: none (installed by other means). */
  readonly connection?: HostConnection;
}

export interface MonitoringArgs extends DockerHostArgs {
  /** The cloud as the VirtualMachine provider sees it; the exporter reaches it the same way. Holds secrets. */
  readonly cloud: pulumi.Input<CloudSpec>;
  /** The DHCP range the exporter counts leases against. */
  readonly dhcpRange: pulumi.Input<{ readonly start: string; readonly end: string }>;
  /** Hosts with node exporters (a plain list: it decides which install commands exist). Default none. */
  readonly hosts?: readonly MonitoredHost[];
  /** Ceph managers with the prometheus module, host:9283. Default none. */
  readonly cephManagers?: pulumi.Input<ScrapeTarget[]>;
  /** HAProxy Prometheus endpoints (LoadBalancer's stats port, /metrics). Default none. */
  readonly haproxy?: pulumi.Input<ScrapeTarget[]>;
  /** Default 15. */
  readonly scrapeIntervalSeconds?: pulumi.Input<number>;
  /** Default 15. */
  readonly evaluationIntervalSeconds?: pulumi.Input<number>;
  /** Overrides every alert's pending time, e.g. "0s" (default: per rule, 2-10 m). */
  readonly alertPendingFor?: pulumi.Input<string>;
  /** Share of the DHCP range in use that raises DhcpRangeNearlyFull (default 0.9). */
  readonly dhcpFullRatio?: pulumi.Input<number>;
  /** Default "prom/prometheus:v2.53.2". */
  readonly prometheusImage?: pulumi.Input<string>;
  /** Default "grafana/grafana:11.2.2". */
  readonly grafanaImage?: pulumi.Input<string>;
  /** Image the exporter runs in; it installs the exporter's npm packages at start (default "node:20-bookworm-slim"). */
  readonly exporterImage?: pulumi.Input<string>;
  /** Default 9090. */
  readonly prometheusPort?: pulumi.Input<number>;
  /** Default 3000. */
  readonly grafanaPort?: pulumi.Input<number>;
  /** Grafana's admin password, applied when Grafana first starts (default: generated once, kept in state). A secret. */
  readonly grafanaAdminPassword?: pulumi.Input<string>;
}

const PROMETHEUS_DIR = "/etc/prometheus";
const RULES_FILE = `${PROMETHEUS_DIR}/rules/kvm-cloud.rules.yml`;
const GRAFANA_DASHBOARDS = "/etc/grafana/dashboards/kvm-cloud";
const GRAFANA_PASSWORD_FILE = "/etc/grafana/admin-password";
const EXPORTER_DIR = "/opt/kvm-cloud-exporter";
const CLOUD_SPEC_FILE = "/etc/kvm-cloud/cloud.json";
/** Grafana's user in its official image. */
const GRAFANA_UID = "472";

function checkHosts(hosts: readonly MonitoredHost[]): void {
  check(Array.isArray(hosts), "hosts", typeof hosts, "a plain list of { name, address, connection? } (it decides which resources exist)");
  const seen = new Set<string>();
  hosts.forEach((h, i) => {
    checkDnsLabel(`hosts[${i}].name`, h.name);
    check(!seen.has(h.name), `hosts[${i}].name`, h.name, "a name no other host has");
    seen.add(h.name);
  });
}

function checkRange(r: { start: string; end: string }): void {
  checkIPv4("dhcpRange.start", r?.start);
  checkIPv4("dhcpRange.end", r?.end);
  check(ipToInt(r.start) <= ipToInt(r.end), "dhcpRange", `${r.start}-${r.end}`, "start <= end");
}

/**
 * Monitoring for a kvm-cloud on one Docker host: Prometheus with the rendered
 * config and alert rules, Grafana with the Prometheus data source and the
 * kvm-cloud dashboard provisioned, and the kvm-cloud exporter (the repo's
 * exporter code, transpiled and copied into a node container, reading the
 * same CloudSpec the VirtualMachine provider takes). Node exporters are
 * installed on the hosts given a connection. Data volumes outlive the
 * component (retainOnDelete).
 */
export class Monitoring extends pulumi.ComponentResource {
  public readonly prometheusUrl: pulumi.Output<string>;
  public readonly grafanaUrl: pulumi.Output<string>;
  /** A secret. */
  public readonly grafanaAdminPassword: pulumi.Output<string>;
  /** The rendered prometheus.yml. */
  public readonly prometheusConfig: pulumi.Output<string>;

  constructor(name: string, args: MonitoringArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("kvmcloud:index:Monitoring", name, {}, opts);
    this.validate(name, args);
    const address = pulumi.output(args.address ?? args.connection.host);
    const hosts = args.hosts ?? [];

    this.installNodeExporters(name, hosts);
    const provider = this.dockerProvider(name, args);
    const network = new docker.Network(`${name}-net`, { name: `${name}-net` }, { parent: this, provider });
    this.prometheusConfig = this.renderPrometheusConfig(name, args, hosts);
    this.exporterContainer(name, args, provider, network);
    const prometheus = this.prometheusContainer(name, args, provider, network);
    this.grafanaAdminPassword = this.adminPassword(name, args);
    this.grafanaContainer(name, args, provider, network, prometheus);

    this.prometheusUrl = pulumi.interpolate`http://${address}:${args.prometheusPort ?? 9090}`;
    this.grafanaUrl = pulumi.interpolate`http://${address}:${args.grafanaPort ?? 3000}`;
    this.registerOutputs({ prometheusUrl: this.prometheusUrl, grafanaUrl: this.grafanaUrl, grafanaAdminPassword: this.grafanaAdminPassword, prometheusConfig: this.prometheusConfig });
  }

  /** Everything checkable now is checked before any resource is registered. */
  private validate(name: string, args: MonitoringArgs): void {
    checkHosts(args.hosts ?? []);
    validateWhenKnown(args.dhcpRange, (r) => checkRange(r as { start: string; end: string }));
    validateWhenKnown(args.cloud, (c) => validateCloudSpec(c as CloudSpec));
    validateWhenKnown([args.alertPendingFor, args.dhcpFullRatio], ([pendingFor, ratio]) =>
      renderAlertRules({ pendingFor: pendingFor as string | undefined, dhcpFullRatio: ratio as number | undefined }),
    );
    (args.hosts ?? []).forEach((h, i) => validateWhenKnown(h.address, (a) => checkIPv4(`hosts[${i}].address`, a)));
    // The config without hosts checks the other targets and the intervals.
    validateWhenKnown([args.cephManagers, args.haproxy, args.scrapeIntervalSeconds, args.evaluationIntervalSeconds], () =>
      this.prometheusConfigText(name, args, [], {}),
    );
  }

  private prometheusConfigText(name: string, args: MonitoringArgs, hosts: readonly MonitoredHost[], resolved: Record<string, unknown>): string {
    const v = <T>(key: string, given: unknown, dflt: T): T => (key in resolved ? (resolved[key] as T) : ((given as T) ?? dflt));
    const addresses = v<string[]>("addresses", hosts.map((h) => h.address), []);
    return renderPrometheusConfig({
      scrapeIntervalSeconds: v("scrape", args.scrapeIntervalSeconds, undefined),
      evaluationIntervalSeconds: v("evaluation", args.evaluationIntervalSeconds, undefined),
      ruleFiles: [RULES_FILE],
      prometheus: { host: "monitoring", address: "localhost:9090" },
      nodeExporters: hosts.map((h, i) => ({ host: h.name, address: `${addresses[i]}:${NODE_EXPORTER_PORT}` })),
      cephManagers: v("ceph", args.cephManagers, []),
      haproxy: v("haproxy", args.haproxy, []),
      // Containers on the component's network reach each other by name.
      kvmcloudExporters: [{ host: "monitoring", address: `${name}-exporter:${DEFAULT_EXPORTER_PORT}` }],
    });
  }

  private renderPrometheusConfig(name: string, args: MonitoringArgs, hosts: readonly MonitoredHost[]): pulumi.Output<string> {
    return pulumi
      .all([hosts.map((h) => h.address), args.scrapeIntervalSeconds, args.evaluationIntervalSeconds, args.cephManagers ?? [], args.haproxy ?? []])
      .apply(([addresses, scrape, evaluation, ceph, haproxy]) =>
        this.prometheusConfigText(name, args, hosts, { addresses, scrape, evaluation, ceph, haproxy }),
      );
  }

  private installNodeExporters(name: string, hosts: readonly MonitoredHost[]): void {
    for (const h of hosts.filter((x) => x.connection !== undefined)) {
      new RemoteCommand(
        `${name}-node-exporter-${h.name}`,
        {
          connection: h.connection!,
          // A changed address changes the script: the update runs it again.
          script: pulumi.output(h.address).apply((a) => renderNodeExporterScript({ listenAddress: a })),
          deleteScript: renderNodeExporterRemoveScript(),
        },
        { parent: this },
      );
    }
  }

  private dockerProvider(name: string, args: MonitoringArgs): docker.Provider {
    return dockerHostProvider(name, args, this);
  }

  private exporterContainer(name: string, args: MonitoringArgs, provider: docker.Provider, network: docker.Network): docker.Container {
    const o = { parent: this, provider };
    const bundle = exporterBundle();
    const image = new docker.RemoteImage(`${name}-exporter-image`, { name: args.exporterImage ?? "node:20-bookworm-slim", keepLocally: true }, o);
    const range = pulumi.output(args.dhcpRange).apply((r) => {
      checkRange(r);
      return `${r.start}-${r.end}`;
    });
    // The spec holds SSH keys and the inventory's password: uploaded as a secret, readable by root only.
    const spec = pulumi.secret(pulumi.output(args.cloud).apply((c) => JSON.stringify(validateCloudSpec(c as CloudSpec), null, 2)));
    return new docker.Container(
      `${name}-exporter`,
      {
        name: `${name}-exporter`,
        image: image.imageId,
        restart: "unless-stopped",
        networksAdvanced: [{ name: network.name }],
        uploads: [
          ...bundle.files.map((f) => ({ file: `${EXPORTER_DIR}/${f.path}`, content: f.content })),
          { file: `${EXPORTER_DIR}/package.json`, content: bundle.packageJson },
          { file: CLOUD_SPEC_FILE, content: spec, permissions: "0400" },
        ],
        command: [
          "sh", "-c",
          `cd ${EXPORTER_DIR} && npm install --omit=dev --no-audit --no-fund --loglevel=error && exec node ${EXPORTER_MAIN} "$@"`,
          "kvm-cloud-exporter",
          "--cloud-spec", CLOUD_SPEC_FILE,
          "--dhcp-range", range,
          "--listen", `0.0.0.0:${DEFAULT_EXPORTER_PORT}`,
        ],
      },
      o,
    );
  }

  private prometheusContainer(name: string, args: MonitoringArgs, provider: docker.Provider, network: docker.Network): docker.Container {
    const o = { parent: this, provider };
    const image = new docker.RemoteImage(`${name}-prometheus-image`, { name: args.prometheusImage ?? "prom/prometheus:v2.53.2", keepLocally: true }, o);
    const volume = new docker.Volume(`${name}-prometheus-data`, { name: `${name}-prometheus-data` }, { ...o, retainOnDelete: true });
    const rules = pulumi.all([args.alertPendingFor, args.dhcpFullRatio]).apply(([pendingFor, dhcpFullRatio]) => renderAlertRules({ pendingFor, dhcpFullRatio }));
    return new docker.Container(
      `${name}-prometheus`,
      {
        name: `${name}-prometheus`,
        image: image.imageId,
        restart: "unless-stopped",
        networksAdvanced: [{ name: network.name }],
        uploads: [
          { file: `${PROMETHEUS_DIR}/prometheus.yml`, content: this.prometheusConfig },
          { file: RULES_FILE, content: rules },
        ],
        command: [`--config.file=${PROMETHEUS_DIR}/prometheus.yml`, "--storage.tsdb.path=/prometheus", "--storage.tsdb.retention.time=30d"],
        volumes: [{ volumeName: volume.name, containerPath: "/prometheus" }],
        ports: [{ internal: 9090, external: args.prometheusPort ?? 9090, ip: args.bindAddress ?? "0.0.0.0" }],
      },
      o,
    );
  }

  private adminPassword(name: string, args: MonitoringArgs): pulumi.Output<string> {
    if (args.grafanaAdminPassword !== undefined) return pulumi.secret(args.grafanaAdminPassword);
    return pulumi.secret(new GeneratedPassword(`${name}-grafana-admin-password`, { length: 32 }, { parent: this }).value);
  }

  private grafanaContainer(name: string, args: MonitoringArgs, provider: docker.Provider, network: docker.Network, prometheus: docker.Container): docker.Container {
    const o = { parent: this, provider };
    const image = new docker.RemoteImage(`${name}-grafana-image`, { name: args.grafanaImage ?? "grafana/grafana:11.2.2", keepLocally: true }, o);
    const volume = new docker.Volume(`${name}-grafana-data`, { name: `${name}-grafana-data` }, { ...o, retainOnDelete: true });
    const datasource = pulumi
      .all([prometheus.name, args.scrapeIntervalSeconds])
      .apply(([host, scrape]) => renderGrafanaDatasource({ prometheusUrl: `http://${host}:9090`, scrapeIntervalSeconds: scrape }));
    return new docker.Container(
      `${name}-grafana`,
      {
        name: `${name}-grafana`,
        image: image.imageId,
        restart: "unless-stopped",
        networksAdvanced: [{ name: network.name }],
        // The password comes from a file, not the environment `docker inspect` shows.
        envs: [`GF_SECURITY_ADMIN_PASSWORD__FILE=${GRAFANA_PASSWORD_FILE}`, "GF_USERS_ALLOW_SIGN_UP=false", `GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH=${GRAFANA_DASHBOARDS}/kvm-cloud.json`],
        uploads: [
          { file: "/etc/grafana/provisioning/datasources/kvm-cloud.yaml", content: datasource },
          { file: "/etc/grafana/provisioning/dashboards/kvm-cloud.yaml", content: renderGrafanaDashboardProvider({ path: GRAFANA_DASHBOARDS }) },
          { file: `${GRAFANA_DASHBOARDS}/kvm-cloud.json`, content: readDashboardText() },
          { file: GRAFANA_PASSWORD_FILE, content: this.grafanaAdminPassword, owner: GRAFANA_UID, permissions: "0400" },
        ],
        volumes: [{ volumeName: volume.name, containerPath: "/var/lib/grafana" }],
        ports: [{ internal: 3000, external: args.grafanaPort ?? 3000, ip: args.bindAddress ?? "0.0.0.0" }],
      },
      o,
    );
  }
}
