import * as pulumi from "@pulumi/pulumi";
import { RemoteCommand } from "../dynamic-providers/remote-command";
import { GeneratedPassword } from "../dynamic-providers/generated-password";
import { CloudSpec, validateCloudSpec } from "../lib/vm/cloud-spec";
import { readDashboardText } from "../lib/monitoring/exporter/dashboard";
import { renderAlertRules } from "../lib/monitoring/alert-rules";
import { checkPrometheusConfig, PrometheusConfigInput, renderPrometheusConfig, ScrapeTarget } from "../lib/monitoring/prometheus-config";
import { NODE_EXPORTER_PORT, renderNodeExporterRemoveScript, renderNodeExporterScript } from "../lib/monitoring/node-exporter-script";
import { localAddress, PROMETHEUS_RULES } from "../lib/monitoring/monitoring-packages";
import { resolveMonitoringServices, ResolvedMonitoringServices } from "../lib/monitoring/monitoring-services";
import { check } from "../lib/core/errors";
import { checkHostRuntime, DEFAULT_HOST_RUNTIME, HostRuntime } from "../lib/core/host-runtime";
import { checkClientNetworks } from "../lib/core/cidr";
import { checkDnsLabel, checkIPv4, ipToInt } from "../lib/core/network";
import { HostConnection } from "./connection";
import { resolveArgs } from "./inputs";
import { DockerHostArgs } from "./docker-host";
import { dockerExporterTarget, monitoringContainers } from "./monitoring-docker";
import { monitoringServices, PACKAGES_EXPORTER_TARGET } from "./monitoring-packages";

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
  /**
   * How the services run on the host: "docker" (Prometheus, Grafana and the
   * exporter as containers) or "packages" (Debian's Prometheus and the exporter
   * under systemd; Debian has no Grafana, so there is none: import the
   * `grafanaDashboard` output into a Grafana of your own). Default "docker".
   * Plain: it decides the resources.
   */
  readonly runtime?: HostRuntime;
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
  /** Image the exporter runs in: one bundled file run by plain node, so any Node.js 18+ image serves; nothing is installed at start (default "node:20-bookworm-slim"). */
  readonly exporterImage?: pulumi.Input<string>;
  /** Default 9090. */
  readonly prometheusPort?: pulumi.Input<number>;
  /**
   * Networks (CIDR) allowed to reach Prometheus (packages runtime): an
   * nftables table resets any other source, e.g. the guests. Default: any.
   */
  readonly allowedClients?: readonly string[];
  /**
   * Networks (CIDR) allowed to reach the node exporters the component installs
   * (hosts with a connection; port 9100), e.g. Prometheus' host: an nftables
   * table on each host resets any other source. Either runtime. Default: any.
   */
  readonly nodeExporterClients?: readonly string[];
  /** Default 3000. */
  readonly grafanaPort?: pulumi.Input<number>;
  /** Grafana's admin password, applied when Grafana first starts (default: generated once, kept in state). A secret. */
  readonly grafanaAdminPassword?: pulumi.Input<string>;
}

/** Settings only the Docker runtime has: given with "packages", they are refused rather than ignored. */
const DOCKER_ONLY = ["prometheusImage", "grafanaImage", "exporterImage", "grafanaPort", "grafanaAdminPassword", "dockerSshOptions", "installDocker"] as const;
/** Settings only the packages runtime has (Docker's published ports bypass the host's input filter). */
const PACKAGES_ONLY = ["allowedClients"] as const;

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

/** Everything that must be plain (it decides which resources exist), checked before anything is registered. */
function checkPlainArgs(args: MonitoringArgs, runtime: HostRuntime): void {
  checkHostRuntime("runtime", runtime);
  if (runtime === "packages") {
    for (const key of DOCKER_ONLY) {
      check(args[key] === undefined, key, "[given]", 'unset with runtime "packages" (a Docker runtime setting; Debian packages no Grafana)');
    }
    if (args.allowedClients !== undefined) checkClientNetworks("allowedClients", args.allowedClients);
  } else {
    for (const key of PACKAGES_ONLY) {
      check(args[key] === undefined, key, "[given]", 'unset unless runtime is "packages" (Docker\'s published ports bypass the host\'s input filter)');
    }
  }
  if (args.nodeExporterClients !== undefined) checkClientNetworks("nodeExporterClients", args.nodeExporterClients);
  checkHosts(args.hosts ?? []);
}

/** Pure: prometheus.yml's settings but the node exporters, defaults filled, each checked. */
function resolvePrometheusSettings(
  name: string,
  runtime: HostRuntime,
  services: ResolvedMonitoringServices,
  v: { scrapeIntervalSeconds?: number; evaluationIntervalSeconds?: number; cephManagers?: ScrapeTarget[]; haproxy?: ScrapeTarget[] },
): Omit<PrometheusConfigInput, "nodeExporters"> {
  const c = {
    scrapeIntervalSeconds: v.scrapeIntervalSeconds,
    evaluationIntervalSeconds: v.evaluationIntervalSeconds,
    ruleFiles: [PROMETHEUS_RULES],
    // In its container Prometheus listens on 9090; from packages where the host binds it.
    prometheus: { host: "monitoring", address: runtime === "packages" ? `${localAddress(services.bindAddress)}:${services.prometheusPort}` : "localhost:9090" },
    cephManagers: v.cephManagers ?? [],
    haproxy: v.haproxy ?? [],
    kvmcloudExporters: [{ host: "monitoring", address: runtime === "packages" ? PACKAGES_EXPORTER_TARGET : dockerExporterTarget(name) }],
  };
  checkPrometheusConfig({ ...c, nodeExporters: [] });
  return c;
}

/**
 * Monitoring for a kvm-cloud on one host: Prometheus with the rendered config
 * and alert rules, and the kvm-cloud exporter (the repo's exporter, one
 * bundled file run by plain node, reading the same CloudSpec the
 * VirtualMachine provider takes); with the Docker runtime also Grafana with
 * the Prometheus data source and the kvm-cloud dashboard provisioned. Node
 * exporters are installed on the hosts given a connection.
 */
export class Monitoring extends pulumi.ComponentResource {
  public readonly prometheusUrl: pulumi.Output<string>;
  /** Undefined with the packages runtime (no Grafana). */
  public readonly grafanaUrl: pulumi.Output<string | undefined>;
  /** A secret; undefined with the packages runtime. */
  public readonly grafanaAdminPassword: pulumi.Output<string | undefined>;
  /** The kvm-cloud dashboard's JSON, for a Grafana of your own. */
  public readonly grafanaDashboard: pulumi.Output<string>;
  /** The rendered prometheus.yml. */
  public readonly prometheusConfig: pulumi.Output<string>;

  constructor(name: string, args: MonitoringArgs, opts: pulumi.ComponentResourceOptions = {}) {
    const runtime = args.runtime ?? DEFAULT_HOST_RUNTIME;
    checkPlainArgs(args, runtime);
    const hosts = args.hosts ?? [];
    const dhcpRange = resolveArgs(args.dhcpRange, (r) => {
      checkRange(r);
      return { start: r.start, end: r.end };
    });
    const rules = resolveArgs({ pendingFor: args.alertPendingFor, dhcpFullRatio: args.dhcpFullRatio }, renderAlertRules);
    // The spec holds SSH keys and the inventory's password.
    const spec = pulumi.secret(resolveArgs(args.cloud, (c) => JSON.stringify(validateCloudSpec(c as CloudSpec), null, 2)));
    const serviceArgs = {
      prometheusPort: args.prometheusPort,
      grafanaPort: args.grafanaPort,
      bindAddress: args.bindAddress,
      prometheusImage: args.prometheusImage,
      grafanaImage: args.grafanaImage,
      exporterImage: args.exporterImage,
    };
    const services = resolveArgs(serviceArgs, (v) => resolveMonitoringServices(v, runtime));
    // Targets and intervals are resolved apart from the hosts' addresses, which are often Outputs;
    // the services are resolved again with them (pure), so that plain settings are checked now.
    const settings = resolveArgs(
      {
        ...serviceArgs,
        scrapeIntervalSeconds: args.scrapeIntervalSeconds,
        evaluationIntervalSeconds: args.evaluationIntervalSeconds,
        cephManagers: args.cephManagers,
        haproxy: args.haproxy,
      },
      (v) => resolvePrometheusSettings(name, runtime, resolveMonitoringServices(v, runtime), v),
    );
    const addresses = resolveArgs(
      hosts.map((h) => h.address),
      (list) => list.map((a, i) => (checkIPv4(`hosts[${i}].address`, a), a)),
    );
    const prometheusConfig = pulumi.all([settings, addresses]).apply(([c, list]) =>
      renderPrometheusConfig({ ...c, nodeExporters: hosts.map((h, i) => ({ host: h.name, address: `${list[i]}:${NODE_EXPORTER_PORT}` })) }),
    );
    super("kvmcloud:index:Monitoring", name, {}, opts);
    const address = pulumi.output(args.address ?? args.connection.host);

    this.installNodeExporters(name, hosts, args.nodeExporterClients);
    this.prometheusConfig = prometheusConfig;
    if (runtime === "packages") {
      monitoringServices(this, name, args, { prometheusConfig: this.prometheusConfig, rules, spec, dhcpRange, services });
      this.grafanaAdminPassword = pulumi.output(undefined);
      this.grafanaUrl = pulumi.output(undefined);
    } else {
      this.grafanaAdminPassword = this.adminPassword(name, args);
      const range = dhcpRange.apply((r) => `${r.start}-${r.end}`);
      monitoringContainers(this, name, args, { prometheusConfig: this.prometheusConfig, rules, spec, range, services, grafanaAdminPassword: this.grafanaAdminPassword as pulumi.Output<string> });
      this.grafanaUrl = pulumi.interpolate`http://${address}:${services.grafanaPort}`;
    }
    this.grafanaDashboard = pulumi.output(readDashboardText());
    this.prometheusUrl = pulumi.interpolate`http://${address}:${services.prometheusPort}`;
    this.registerOutputs({
      prometheusUrl: this.prometheusUrl,
      grafanaUrl: this.grafanaUrl,
      grafanaAdminPassword: this.grafanaAdminPassword,
      grafanaDashboard: this.grafanaDashboard,
      prometheusConfig: this.prometheusConfig,
    });
  }

  private installNodeExporters(name: string, hosts: readonly MonitoredHost[], allowedClients: readonly string[] | undefined): void {
    for (const h of hosts.filter((x) => x.connection !== undefined)) {
      new RemoteCommand(
        `${name}-node-exporter-${h.name}`,
        {
          connection: h.connection!,
          // A changed address changes the script: the update runs it again.
          script: pulumi.output(h.address).apply((a) => renderNodeExporterScript({ listenAddress: a, allowedClients })),
          deleteScript: renderNodeExporterRemoveScript(),
        },
        { parent: this },
      );
    }
  }

  private adminPassword(name: string, args: MonitoringArgs): pulumi.Output<string> {
    if (args.grafanaAdminPassword !== undefined) return pulumi.secret(args.grafanaAdminPassword);
    return pulumi.secret(new GeneratedPassword(`${name}-grafana-admin-password`, { length: 32 }, { parent: this }).value);
  }
}
