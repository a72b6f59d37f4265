import * as pulumi from "@pulumi/pulumi";
import { Cloud } from "../components/cloud";
import { Monitoring, MonitoredHost } from "../components/monitoring";
import { VirtualMachine } from "../dynamic-providers/virtual-machine";
import { CloudConfig } from "../lib/cloud/cloud-config";
import { StackConfig, StackFrontend, StackVm, validateStackConfig } from "../lib/cloud/stack-config";
import { DEFAULT_HOST_RUNTIME } from "../lib/validate/host-runtime";
import { frontendsLoadBalancer } from "./frontends";

/**
 * The whole cloud from `kvm-cloud:cloud`, the VMs of
 * `kvm-cloud:vms` on it, and a load balancer with `kvm-cloud:frontends` in
 * front of them. The whole config is validated first, so a bad value fails
 * `pulumi preview` with the field named and nothing registered. Config keys:
 * README, "Stack configuration".
 */
export function wholeCloud(config: pulumi.Config) {
  const stack: StackConfig = {
    cloud: config.requireObject<CloudConfig>("cloud"),
    vms: config.getObject<StackVm[]>("vms") ?? [],
    frontends: config.getObject<StackFrontend[]>("frontends") ?? [],
  };
  validateStackConfig(stack);

  // Secrets: `pulumi config set --secret` stores them as `secure:` values; they stay secret here.
  const cloud = new Cloud("kvmcloud", {
    config: stack.cloud,
    sshPrivateKey: config.requireSecret("sshPrivateKey"),
    knownHosts: config.get("knownHosts"),
    postgresPassword: config.getSecret("postgresPassword"),
    redisPassword: config.getSecret("redisPassword"),
  });

  const authorizedKeys = config.getObject<string[]>("sshAuthorizedKeys") ?? [];
  const vms = new Map(
    stack.vms.map((v) => [
      v.name,
      new VirtualMachine(v.name, {
        cloud: cloud.cloud,
        name: v.name,
        vcpus: v.vcpus,
        memoryMiB: v.memoryMiB,
        diskGiB: v.diskGiB,
        image: cloud.imageSpec,
        node: v.node,
        state: v.state,
        sshAuthorizedKeys: authorizedKeys,
      }),
    ]),
  );

  const loadBalancer = frontendsLoadBalancer({
    connection: cloud.connections.loadBalancer,
    statsPort: stack.cloud.loadBalancer?.statsPort,
    statsClients: stack.cloud.loadBalancer?.statsClients,
    statsPassword: config.getSecret("lbStatsPassword"),
    frontends: stack.frontends,
    vmAddresses: new Map([...vms].map(([name, vm]) => [name, vm.ip])),
  });

  // ---- Monitoring ----------------------------------------------------------
  // Prometheus, the kvm-cloud exporter (and Grafana with Docker) on the database host; a node
  // exporter on every host; the Ceph managers and HAProxy scraped too.
  const c = stack.cloud;
  const monitoredHosts: MonitoredHost[] = [
    { name: "dns", address: c.dns.address, connection: cloud.connections.dns },
    ...c.ceph.hosts.map((h) => ({ name: h.name, address: h.address, connection: cloud.connections.ceph[h.name] })),
    ...c.nodes.map((n) => ({ name: n.name, address: n.address, connection: cloud.connections.nodes[n.name] })),
    { name: "database", address: c.database.address, connection: cloud.connections.database },
    ...(c.loadBalancer ? [{ name: "lb", address: c.loadBalancer.address, connection: cloud.connections.loadBalancer }] : []),
  ];
  // The database host's runtime serves the monitoring beside the inventory too.
  const runtime = c.database.runtime ?? DEFAULT_HOST_RUNTIME;
  const monitoring = new Monitoring("monitoring", {
    runtime,
    connection: cloud.connections.database,
    dockerSshOptions: runtime === "docker" && c.database.dockerSshOptions ? [...c.database.dockerSshOptions] : undefined,
    // The hosts admitted to the inventory are the ones admitted to Prometheus beside it.
    allowedClients: runtime === "packages" ? c.database.allowedClients : undefined,
    address: c.database.address,
    cloud: cloud.cloud,
    dhcpRange: cloud.dns.range,
    hosts: monitoredHosts,
    // Managers go to the first Ceph hosts; their prometheus module listens on 9283.
    cephManagers: c.ceph.hosts.slice(0, c.ceph.managers ?? 1).map((h) => ({ host: h.name, address: `${h.address}:9283` })),
    haproxy: loadBalancer ? loadBalancer.metricsUrl.apply((u) => [{ host: "lb", address: new URL(u).host }]) : [],
  });

  return {
    /** Every VM: name, address, node. */
    virtualMachines: pulumi.all([...vms.values()].map((vm) => pulumi.all({ name: vm.name, ip: vm.ip, node: vm.node, fqdn: vm.fqdn }))),
    loadBalancerAddress: loadBalancer?.address,
    loadBalancerUrls: loadBalancer?.frontendUrls,
    monitoringUrls: {
      prometheus: monitoring.prometheusUrl,
      grafana: monitoring.grafanaUrl,
      haproxyStats: loadBalancer?.statsUrl,
      haproxyMetrics: loadBalancer?.metricsUrl,
    },
    /** Grafana's `admin` password: a secret output (Docker runtime only: packages have no Grafana). */
    ...(runtime === "docker" ? { grafanaAdminPassword: monitoring.grafanaAdminPassword } : {}),
    baseImage: cloud.imageSpec,
    nodes: pulumi.all(cloud.nodes.map((n) => pulumi.all({ name: n.name, address: n.address, libvirtUri: n.libvirtUri }))),
    dhcp: { domain: cloud.dns.domain, range: cloud.dns.range, leaseFile: cloud.dns.leaseFile },
    cephMonitors: cloud.ceph.monitorAddresses,
    /** Inventory URLs carry passwords: secret outputs (`pulumi stack output --show-secrets`). */
    inventory: { postgresUrl: cloud.inventory.postgresUrl, redisUrl: cloud.inventory.redisUrl },
  };
}
