import * as pulumi from "@pulumi/pulumi";
import { Cloud } from "../components/cloud";
import { LoadBalancer } from "../components/load-balancer";
import { VirtualMachine } from "../dynamic-providers/virtual-machine";
import { CloudConfig } from "../lib/cloud/cloud-config";
import { StackConfig, StackFrontend, StackVm, validateStackConfig } from "../lib/cloud/stack-config";

/**
 * The kvm-cloud program: the whole cloud from `kvm-cloud:cloud`, the VMs of
 * `kvm-cloud:vms` on it, and a load balancer with `kvm-cloud:frontends` in
 * front of them. The whole config is validated first, so a bad value fails
 * `pulumi preview` with the field named and nothing registered. Config keys:
 * README, "Stack configuration".
 */
const config = new pulumi.Config("kvm-cloud");

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

const statsPassword = config.getSecret("lbStatsPassword");
const loadBalancer =
  stack.frontends.length === 0
    ? undefined
    : new LoadBalancer("lb", {
        connection: cloud.connections.loadBalancer!,
        statsPort: stack.cloud.loadBalancer?.statsPort,
        statsAuth: statsPassword === undefined ? undefined : { user: "admin", password: statsPassword },
        frontends: stack.frontends.map((f) => ({
          name: f.name,
          port: f.port,
          backendPort: f.backendPort,
          mode: f.mode,
          balance: f.balance,
          healthCheck: f.healthCheckPath === undefined ? undefined : { httpPath: f.healthCheckPath },
          // Each backend is the VM's address once it has leased one.
          backends: f.vms.map((name) => vms.get(name)!.ip.apply((address) => ({ name, address }))),
        })),
      });

// ---- Monitoring ----------------------------------------------------------
// The Monitoring component (Prometheus + Grafana on the database host,
// scraping nodes, Ceph, HAProxy and the inventory) is added here. Its inputs:
// cloud.connections.database, cloud.nodes, cloud.ceph, loadBalancer?.metricsUrl.
// Its URLs join `monitoringUrls` below.
// ---------------------------------------------------------------------------

/** Every VM: name, address, node. */
export const virtualMachines = pulumi.all(
  [...vms.values()].map((vm) => pulumi.all({ name: vm.name, ip: vm.ip, node: vm.node, fqdn: vm.fqdn })),
);
export const loadBalancerAddress = loadBalancer?.address;
export const loadBalancerUrls = loadBalancer?.frontendUrls;
export const monitoringUrls = {
  haproxyStats: loadBalancer?.statsUrl,
  haproxyMetrics: loadBalancer?.metricsUrl,
};
export const baseImage = cloud.imageSpec;
export const nodes = pulumi.all(cloud.nodes.map((n) => pulumi.all({ name: n.name, address: n.address, libvirtUri: n.libvirtUri })));
export const dhcp = { domain: cloud.dns.domain, range: cloud.dns.range, leaseFile: cloud.dns.leaseFile };
export const cephMonitors = cloud.ceph.monitorAddresses;
/** Inventory URLs carry passwords: secret outputs (`pulumi stack output --show-secrets`). */
export const inventory = { postgresUrl: cloud.inventory.postgresUrl, redisUrl: cloud.inventory.redisUrl };
