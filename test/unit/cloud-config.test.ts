import { CloudConfig, validateCloudConfig } from "../../lib/cloud/cloud-config";
import { StackConfig, validateStackConfig } from "../../lib/cloud/stack-config";
import { copy, stackFileConfig } from "../helpers/dev-config";

/**
 * The pure validation of a whole cloud (Cloud component) and of the stack's
 * config (cloud + VMs + frontends): the shipped stack files pass, and each
 * kind of mistake fails with the field named from the top of the config,
 * the bad value and what is allowed.
 */
const dev = stackFileConfig("dev");
const devCloud = dev["kvm-cloud:cloud"] as CloudConfig;
const devStack: StackConfig = { cloud: devCloud, vms: dev["kvm-cloud:vms"] as never, frontends: dev["kvm-cloud:frontends"] as never };

function cloudWith(change: (c: Record<string, any>) => void): CloudConfig {
  const c = copy(devCloud) as Record<string, any>;
  change(c);
  return c as CloudConfig;
}

describe("validateCloudConfig", () => {
  it("accepts the reference topology of Pulumi.dev.yaml and the lab's Pulumi.lab.yaml", () => {
    expect(() => validateCloudConfig(devCloud)).not.toThrow();
    expect(() => validateCloudConfig(stackFileConfig("lab")["kvm-cloud:cloud"] as CloudConfig)).not.toThrow();
  });

  it.each<[string, CloudConfig, RegExp]>([
    ["no dnsmasq host address", cloudWith((c) => delete c.dns.address), /^dns\.address: undefined is not allowed; expected an IPv4 address like 192\.0\.2\.10$/],
    ["no database section", cloudWith((c) => delete c.database), /^database: undefined is not allowed; expected a "database" section/],
    ["a Ceph host without an address", cloudWith((c) => delete c.ceph.hosts[1].address), /^ceph\.hosts\[1\]\.address: undefined/],
    ["a node at a bad address", cloudWith((c) => (c.nodes[1].address = "192.0.2.300")), /^nodes\[1\]\.address: "192\.0\.2\.300"/],
    ["2 monitors", cloudWith((c) => (c.ceph.monitors = 2)), /^ceph\.monitors: 2 is not allowed; expected an odd number from 1 to 3 .*majority/],
    ["more replicas than OSD hosts", cloudWith((c) => (c.ceph.hosts[2].devices = [])), /^ceph\.replicaSize: 3 is not allowed; expected at most 2/],
    [
      "a static reservation inside the DHCP range",
      cloudWith((c) => (c.network.reservations = [{ mac: "52:54:00:00:00:10", ip: "192.0.2.100", name: "printer" }])),
      /^network\.reservations\[0\]\.ip: "192\.0\.2\.100" is not allowed; expected an address outside the DHCP range 192\.0\.2\.100-192\.0\.2\.200/,
    ],
    ["a range that ends before it starts", cloudWith((c) => (c.network.dhcpRange.end = "192.0.2.50")), /^network\.dhcpRange\.end: "192\.0\.2\.50" .*not below/],
    ["the gateway inside the DHCP range", cloudWith((c) => (c.network.gateway = "192.0.2.150")), /^network\.gateway: "192\.0\.2\.150" .*outside the DHCP range/],
    ["a bad domain", cloudWith((c) => (c.network.domain = "Cloud_Example")), /^network\.domain: "Cloud_Example"/],
    ["NAT out of the VM interface", cloudWith((c) => (c.dns.natInterface = "eth0")), /^dns\.natInterface: "eth0" .*the uplink/],
    ["a node without its NIC (not the word 'undefined')", cloudWith((c) => delete c.nodes[0].nic), /^nodes\[0\]\.nic: undefined .*uplink NIC/],
    ["a node name used twice", cloudWith((c) => (c.nodes[1].name = "node1")), /^nodes\[1\]\.name: "node1" .*no other node/],
    ["a node name that is not a DNS label", cloudWith((c) => (c.nodes[0].name = "Node_1")), /^nodes\[0\]\.name: "Node_1"/],
    ["an unknown network backend", cloudWith((c) => (c.nodes[0].networkBackend = "nmcli")), /^nodes\[0\]\.networkBackend: "nmcli" .*ifupdown, networkd, netplan/],
    ["an unknown security driver", cloudWith((c) => (c.nodes[0].securityDriver = "grsec")), /^nodes\[0\]\.securityDriver: "grsec"/],
    ["one port for Postgres and Redis", cloudWith((c) => Object.assign(c.database, { postgresPort: 7000, redisPort: 7000 })), /^database\.redisPort: 7000/],
    ["an unknown database runtime", cloudWith((c) => Object.assign(c.database, { runtime: "podman" })), /^database\.runtime: "podman" is not allowed; expected "docker" or "packages"/],
    ["Docker ssh options with the packages runtime", cloudWith((c) => Object.assign(c.database, { runtime: "packages", dockerSshOptions: ["-i", "k"] })), /^database\.dockerSshOptions: .*unset with runtime "packages"/],
    ["a load balancer without an address", cloudWith((c) => delete c.loadBalancer.address), /^loadBalancer\.address: undefined/],
    ["an image imported on an unknown node", cloudWith((c) => (c.baseImage.node = "node3")), /^baseImage\.node: "node3" .*node1, node2/],
    ["an image with a bad checksum", cloudWith((c) => (c.baseImage.sha256 = "xyz")), /^baseImage\.sha256: "xyz" .*64 lower-case hex/],
    ["an image name with a space", cloudWith((c) => (c.baseImage.name = "debian 12")), /^baseImage\.name: "debian 12"/],
    ["an unknown domain type", cloudWith((c) => (c.domainType = "xen")), /^domainType: "xen" .*"kvm" or "qemu"/],
    ["an SSH port of 0", cloudWith((c) => (c.ssh.port = 0)), /^ssh\.port: 0 /],
  ])("refuses %s", (_what, config, message) => {
    expect(() => validateCloudConfig(config)).toThrow(message);
  });
});

describe("validateStackConfig", () => {
  it("accepts Pulumi.dev.yaml's VMs and frontends", () => {
    expect(() => validateStackConfig(devStack)).not.toThrow();
  });

  it.each<[string, Partial<StackConfig>, RegExp]>([
    ["a bad cloud field, named from the top", { cloud: cloudWith((c) => (c.ceph.monitors = 2)) }, /^cloud\.ceph\.monitors: 2/],
    ["a VM with 0 vCPUs", { vms: [{ name: "a", vcpus: 0, memoryMiB: 256, diskGiB: 1 }] }, /^vms\[0\]\.vcpus: 0 .*1-64/],
    ["a VM on an unknown node", { vms: [{ name: "a", vcpus: 1, memoryMiB: 256, diskGiB: 1, node: "node3" }], frontends: [] }, /^vms\[0\]\.node: "node3"/],
    ["a frontend without VMs", { frontends: [{ name: "web", port: 80, vms: [] }] }, /^frontends\[0\]\.vms: \[\] .*non-empty/],
    ["a frontend over a VM not declared", { frontends: [{ name: "web", port: 80, vms: ["db-1"] }] }, /^frontends\[0\]\.vms\[0\]: "db-1"/],
    ["an HTTP check in TCP mode", { frontends: [{ name: "pg", port: 5432, mode: "tcp", vms: ["web-1"], healthCheckPath: "/" }] }, /^frontends\[0\]\.healthCheck\.httpPath: "\/" .*mode "tcp"/],
    ["two frontends on one port", { frontends: [{ name: "a", port: 80, vms: ["web-1"] }, { name: "b", port: 80, vms: ["web-2"] }] }, /^frontends\[1\]\.port: 80 .*already bound/],
  ])("refuses %s", (_what, change, message) => {
    expect(() => validateStackConfig({ ...devStack, ...change })).toThrow(message);
  });

  it("takes an ha VM only when the cloud has its HA cluster", () => {
    const vms = [{ name: "a", vcpus: 1, memoryMiB: 256, diskGiB: 1, ha: true }];
    const without = cloudWith((c) => delete c.ha);
    expect(() => validateStackConfig({ ...devStack, cloud: without, vms, frontends: [] })).toThrow(/^vms\[0\]\.ha: true .*`ha` section/);
    expect(() => validateStackConfig({ ...devStack, cloud: cloudWith((c) => (c.ha = {})), vms, frontends: [] })).not.toThrow();
  });

  it("needs a load balancer host only when there are frontends", () => {
    const cloud = cloudWith((c) => delete c.loadBalancer);
    expect(() => validateStackConfig({ ...devStack, cloud })).toThrow(/^cloud\.loadBalancer: undefined .*when frontends are given/);
    expect(() => validateStackConfig({ ...devStack, cloud, frontends: [] })).not.toThrow();
  });
});
