import * as pulumi from "@pulumi/pulumi";
import type { CloudConnections } from "../components/cloud";
import { Monitoring, MonitoredHost } from "../components/monitoring";
import { CloudConfig } from "../lib/cloud/cloud-config";
import { CloudSpec } from "../lib/vm/cloud-spec";
import { ScrapeTarget } from "../lib/monitoring/prometheus-config";
import { DEFAULT_HOST_RUNTIME } from "../lib/core/host-runtime";

/** What a cloud's monitoring is made from: its config's hosts, SSH to them, its CloudSpec. */
export interface CloudMonitoringParts {
  readonly config: Pick<CloudConfig, "dns" | "ceph" | "nodes" | "database" | "loadBalancer" | "monitoring">;
  readonly connections: CloudConnections;
  readonly cloud: pulumi.Input<CloudSpec>;
  readonly dhcpRange: pulumi.Input<{ readonly start: string; readonly end: string }>;
  /** HAProxy's /metrics endpoints. Default none. */
  readonly haproxy?: pulumi.Input<ScrapeTarget[]>;
}

/**
 * Prometheus, the kvm-cloud exporter (and Grafana with Docker) on the
 * database host, a node exporter on every host, the Ceph managers and HAProxy
 * scraped too: one construction for the whole-cloud and services stacks.
 */
export function cloudMonitoring(p: CloudMonitoringParts): Monitoring {
  const c = p.config;
  const hosts: MonitoredHost[] = [
    { name: "dns", address: c.dns.address, connection: p.connections.dns },
    ...c.ceph.hosts.map((h) => ({ name: h.name, address: h.address, connection: p.connections.ceph[h.name] })),
    ...c.nodes.map((n) => ({ name: n.name, address: n.address, connection: p.connections.nodes[n.name] })),
    { name: "database", address: c.database.address, connection: p.connections.database },
    ...(c.loadBalancer && p.connections.loadBalancer ? [{ name: "lb", address: c.loadBalancer.address, connection: p.connections.loadBalancer }] : []),
  ];
  // The database host's runtime serves the monitoring beside the inventory too.
  const runtime = c.database.runtime ?? DEFAULT_HOST_RUNTIME;
  return new Monitoring("monitoring", {
    runtime,
    connection: p.connections.database,
    dockerSshOptions: runtime === "docker" && c.database.dockerSshOptions ? [...c.database.dockerSshOptions] : undefined,
    // The hosts admitted to the inventory are the ones admitted to Prometheus beside it.
    allowedClients: runtime === "packages" ? c.database.allowedClients : undefined,
    address: c.database.address,
    cloud: p.cloud,
    dhcpRange: p.dhcpRange,
    hosts,
    // Managers go to the first Ceph hosts; their prometheus module listens on 9283.
    cephManagers: c.ceph.hosts.slice(0, c.ceph.managers ?? 1).map((h) => ({ host: h.name, address: `${h.address}:9283` })),
    haproxy: p.haproxy ?? [],
    scrapeIntervalSeconds: c.monitoring?.scrapeIntervalSeconds,
    evaluationIntervalSeconds: c.monitoring?.evaluationIntervalSeconds,
    alertPendingFor: c.monitoring?.alertPendingFor,
    nodeExporterClients: c.monitoring?.nodeExporterClients,
  });
}
