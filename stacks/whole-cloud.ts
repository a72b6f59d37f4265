import * as pulumi from "@pulumi/pulumi";
import { Cloud } from "../components/cloud";
import { VirtualMachine } from "../dynamic-providers/virtual-machine";
import { CloudConfig } from "../lib/cloud/cloud-config";
import { StackConfig, StackFrontend, StackVm, validateStackConfig } from "../lib/cloud/stack-config";
import { DEFAULT_HOST_RUNTIME } from "../lib/core/host-runtime";
import { cloudMonitoring } from "./cloud-monitoring";
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
        ha: v.ha,
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
  const c = stack.cloud;
  const runtime = c.database.runtime ?? DEFAULT_HOST_RUNTIME;
  const monitoring = cloudMonitoring({
    config: c,
    connections: cloud.connections,
    cloud: cloud.cloud,
    dhcpRange: cloud.dns.range,
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
    baseImageSizeBytes: cloud.baseImage.sizeBytes,
    /** Every KVM node: libvirtUri is where the others migrate guests to; capacity as the host reports it. */
    nodes: pulumi.output(cloud.nodes.map((n) => ({ name: n.name, address: n.address, libvirtUri: n.libvirtUri, bridge: n.bridge, secretUuid: n.secretUuid, vcpus: n.vcpus, memoryMiB: n.memoryMiB }))),
    dhcp: { domain: cloud.dns.domain, range: cloud.dns.range, leaseFile: cloud.dns.leaseFile, hostsDir: cloud.dns.hostsDir },
    cephMonitors: cloud.ceph.monitorAddresses,
    /** The cluster as other Ceph clients need it; the libvirt client's key is a secret output. */
    ceph: { fsid: cloud.ceph.fsid, monitors: cloud.ceph.monitorAddresses, pool: cloud.ceph.pool, clientName: cloud.ceph.clientName, clientKey: cloud.ceph.clientKey },
    /** Inventory URLs carry passwords: secret outputs (`pulumi stack output --show-secrets`). */
    inventory: { postgresUrl: cloud.inventory.postgresUrl, redisUrl: cloud.inventory.redisUrl },
  };
}
