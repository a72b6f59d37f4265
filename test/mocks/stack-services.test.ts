import * as pulumi from "@pulumi/pulumi";
import { cloudStdout, installComponentMocks } from "../helpers/component-mocks";
import { isWrappedSecret, plainInputsText, REMOTE_COMMAND, settle, unwrapSecrets, valueOf } from "../helpers/pulumi-mocks";

/**
 * stacks/index.ts with `kvm-cloud:services`: some of the cloud's services on
 * their hosts (the lab's way to have the product build its dnsmasq host and
 * inventory). DnsmasqServer and InventoryDatabase (packages runtime) over SSH
 * with the host keys from knownHosts, the CloudSpec's dhcp and (secret)
 * inventory as outputs, and bad config failing naming the field before
 * anything is registered.
 */
jest.setTimeout(60_000);

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\ninventory-only-key\n-----END OPENSSH PRIVATE KEY-----\n";
/** A well-formed ed25519 key blob: type and 32 key bytes, each length-prefixed. */
const blob = (parts: Buffer[]) => Buffer.concat(parts.flatMap((b) => [Buffer.from([0, 0, 0, b.length]), b]));
const HOST_KEY = `ssh-ed25519 ${blob([Buffer.from("ssh-ed25519"), Buffer.alloc(32, 7)]).toString("base64")}`;

function load(config: Record<string, unknown>, stdoutFor: (name: string) => string | undefined = () => undefined) {
  const text = Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
  pulumi.runtime.setAllConfig({ ...text, "kvm-cloud:sshPrivateKey": KEY }, ["kvm-cloud:sshPrivateKey"]);
  const reg = installComponentMocks({ stdoutFor });
  let stack: Record<string, any> = {};
  const run = () => jest.isolateModules(() => (stack = require("../../stacks/index")));
  return { reg, run, stack: () => stack };
}

const network = { gateway: "192.0.2.1", netmask: "255.255.255.0", domain: "cloud.example", dhcpRange: { start: "192.0.2.100", end: "192.0.2.200" } };
const good = {
  "kvm-cloud:services": { ssh: { user: "admin" }, network, dns: { address: "192.0.2.1", interface: "eth0" }, database: { address: "192.0.2.3", runtime: "packages" } },
  "kvm-cloud:knownHosts": `192.0.2.1 ${HOST_KEY}\n192.0.2.3 ${HOST_KEY}\n`,
};
const withServices = (services: Record<string, unknown>) => ({ ...good, "kvm-cloud:services": services });
/** dns and database of `good`, with Ceph and two KVM nodes: every section monitoring watches. */
const whole = {
  ...good["kvm-cloud:services"],
  ceph: { publicNetwork: "192.0.2.0/24", hosts: [1, 2, 3].map((n) => ({ name: `ceph${n}`, address: `192.0.2.1${n}`, osdFiles: ["/var/lib/ceph/osd-files/0.img"] })) },
  nodes: [1, 2].map((n) => ({ name: `node${n}`, address: `192.0.2.2${n}`, prefixLength: 24, nic: "eth0" })),
};

describe("stacks/index.ts with services", () => {
  it("registers only the dnsmasq host and the inventory, each reached with its host's key", async () => {
    const l = load(good);
    l.run();
    await settle();
    expect([...new Set(l.reg.map((r) => r.type))].sort()).toEqual(
      ["kvmcloud:index:DnsmasqServer", "kvmcloud:index:InventoryDatabase", "pulumi-nodejs:dynamic/kvmcloud:GeneratedPassword", REMOTE_COMMAND].sort(),
    );
    const services = l.reg.find((r) => r.name === "kvmcloud-inventory-services")!;
    expect(String(services.inputs.script)).toContain("postgresql");
    expect(unwrapSecrets(services.inputs.connection)).toMatchObject({ host: "192.0.2.3", port: 22, user: "admin", hostKey: HOST_KEY });
    const dnsmasq = l.reg.find((r) => r.name === "kvmcloud-dns-dnsmasq")!;
    expect(String(dnsmasq.inputs.script)).toContain("dhcp-range=192.0.2.100,192.0.2.200");
    expect(unwrapSecrets(dnsmasq.inputs.connection)).toMatchObject({ host: "192.0.2.1", user: "admin", hostKey: HOST_KEY });
    expect(await valueOf(l.stack().dhcp.leaseFile)).toBe("/var/lib/misc/dnsmasq.kvmcloud.leases");
    expect(await valueOf(l.stack().dhcp.range)).toEqual({ start: "192.0.2.100", end: "192.0.2.200" });
    // The key travels only inside secrets.
    const conns = l.reg.filter((r) => r.type === REMOTE_COMMAND).map((r) => r.inputs.connection as Record<string, unknown>);
    expect(conns.every((c) => isWrappedSecret(c) || isWrappedSecret(c.privateKey))).toBe(true);
    expect(l.reg.filter((r) => r.type !== REMOTE_COMMAND && plainInputsText(r).includes("inventory-only-key"))).toEqual([]);
    const urls = l.stack().inventory;
    expect(await pulumi.isSecret(urls.postgresUrl)).toBe(true);
    expect(await valueOf(urls.postgresUrl)).toMatch(/^postgres:\/\/kvmcloud:.+@192\.0\.2\.3:5432\/kvmcloud$/);
    expect(await valueOf(urls.redisUrl)).toMatch(/^redis:\/\/:.+@192\.0\.2\.3:6379\/0$/);
    expect(isWrappedSecret(services.inputs.stdin)).toBe(true);
  });

  it("builds the Ceph cluster of the ceph section and gives its client key only as a secret", async () => {
    const ceph = {
      publicNetwork: "192.0.2.0/24",
      osdFileSizeGiB: 2,
      hosts: [1, 2, 3].map((n) => ({ name: `ceph${n}`, address: `192.0.2.1${n}`, osdFiles: ["/var/lib/ceph/osd-files/0.img"] })),
    };
    const knownHosts = [1, 2, 3].map((n) => `192.0.2.1${n} ${HOST_KEY}\n`).join("");
    // What the first monitor's bootstrap and the pool script print on a real host.
    const key = (what: string) => `AQAAAAAAAAAAABAA${what.padEnd(22, "A")}==`;
    const printed = (name: string) =>
      name.endsWith("-bootstrap")
        ? `fsid=4a0e8b1c-2d3f-4a5b-8c6d-7e8f9a0b1c2d\nmon_key=${key("mon")}\nadmin_key=${key("admin")}\nbootstrap_osd_key=${key("osd")}\nmonmap=AAECAw==\n`
        : name.endsWith("-pool")
          ? key("client")
          : undefined;
    const l = load({ "kvm-cloud:services": { ceph }, "kvm-cloud:knownHosts": knownHosts }, printed);
    l.run();
    await settle();
    expect([...new Set(l.reg.map((r) => r.type))].sort()).toEqual(["kvmcloud:index:CephCluster", REMOTE_COMMAND].sort());
    const osds = l.reg.filter((r) => /-osd-\d$/.test(r.name));
    expect(osds.map((r) => r.name).sort()).toEqual(["kvmcloud-ceph-ceph1-osd-0", "kvmcloud-ceph-ceph2-osd-0", "kvmcloud-ceph-ceph3-osd-0"]);
    expect(unwrapSecrets(osds[1].inputs.connection)).toMatchObject({ host: "192.0.2.12", hostKey: HOST_KEY });
    expect(await valueOf(l.stack().ceph.monitors)).toEqual(["192.0.2.11", "192.0.2.12", "192.0.2.13"]);
    expect(await valueOf(l.stack().ceph.pool)).toBe("libvirt-pool");
    expect(await pulumi.isSecret(l.stack().ceph.clientKey)).toBe(true);
    expect(await valueOf(l.stack().ceph.clientKey)).toBe(key("client"));
    expect(l.stack().dhcp).toBeUndefined();
  });

  it("sets up the KVM nodes of the nodes section on its Ceph cluster, with the migration mesh between them", async () => {
    const ceph = { publicNetwork: "192.0.2.0/24", hosts: [1, 2, 3].map((n) => ({ name: `ceph${n}`, address: `192.0.2.1${n}`, osdFiles: ["/var/lib/ceph/osd-files/0.img"] })) };
    const nodes = [1, 2].map((n) => ({ name: `node${n}`, address: `192.0.2.2${n}`, prefixLength: 24, nic: "eth0", networkBackend: "networkd", securityDriver: "none" }));
    const knownHosts = ["11", "12", "13", "21", "22"].map((n) => `192.0.2.${n} ${HOST_KEY}\n`).join("");
    const l = load({ "kvm-cloud:services": { ceph, nodes }, "kvm-cloud:knownHosts": knownHosts }, cloudStdout);
    l.run();
    await settle();
    expect(l.reg.filter((r) => r.type === "kvmcloud:index:KvmNode").map((r) => r.name)).toEqual(["kvmcloud-node1", "kvmcloud-node2"]);
    expect(l.reg.filter((r) => r.type === "kvmcloud:index:MigrationMesh").map((r) => r.name)).toEqual(["kvmcloud-migration"]);
    const cephClient = l.reg.find((r) => r.name === "kvmcloud-node2-ceph-client")!;
    expect(unwrapSecrets(cephClient.inputs.connection)).toMatchObject({ host: "192.0.2.22", hostKey: HOST_KEY });
    expect(String(cephClient.inputs.script)).toContain("mon_host = [v2:192.0.2.11:3300,v1:192.0.2.11:6789],[v2:192.0.2.12:3300");
    expect(isWrappedSecret(cephClient.inputs.stdin)).toBe(true);
    expect(String(l.reg.find((r) => r.name === "kvmcloud-node1-bridge")!.inputs.script)).toContain("systemd-networkd");
    const out = await valueOf(pulumi.output(l.stack().nodes));
    expect(out.map((n: { name: string; libvirtUri: string }) => [n.name, n.libvirtUri])).toEqual([
      ["node1", "qemu+ssh://root@192.0.2.21/system?keyfile=/root/.ssh/kvmcloud_migration"],
      ["node2", "qemu+ssh://root@192.0.2.22/system?keyfile=/root/.ssh/kvmcloud_migration"],
    ]);
    expect(out[0]).toMatchObject({ bridge: "br0", vcpus: 8, memoryMiB: 16000 });
    expect(out[0].secretUuid).toBe(out[1].secretUuid);
  });

  it("with every section, puts the whole stack's Monitoring on the database host: node exporters on every host, the exporter bounded below Prometheus' timeout", async () => {
    const monitoring = { scrapeIntervalSeconds: 5, evaluationIntervalSeconds: 10, alertPendingFor: "0s", nodeExporterClients: ["192.0.2.3/32"] };
    const services = { ...whole, monitoring, domainType: "qemu" };
    const knownHosts = ["1", "3", "11", "12", "13", "21", "22"].map((n) => `192.0.2.${n} ${HOST_KEY}\n`).join("");
    const l = load({ "kvm-cloud:services": services, "kvm-cloud:knownHosts": knownHosts }, cloudStdout);
    l.run();
    await settle();
    expect(l.reg.filter((r) => r.type === "kvmcloud:index:Monitoring").map((r) => r.name)).toEqual(["monitoring"]);
    const exporters = l.reg.filter((r) => r.name.startsWith("monitoring-node-exporter-")).map((r) => r.name.replace("monitoring-node-exporter-", ""));
    expect(exporters.sort()).toEqual(["ceph1", "ceph2", "ceph3", "database", "dns", "node1", "node2"]);
    const guard = l.reg.find((r) => r.name === "monitoring-node-exporter-node2")!;
    expect(String(guard.inputs.script)).toContain("192.0.2.3/32");
    const exporter = l.reg.find((r) => r.name === "monitoring-exporter")!;
    expect(unwrapSecrets(exporter.inputs.connection)).toMatchObject({ host: "192.0.2.3" });
    expect(String(exporter.inputs.script)).toContain("--scrape-timeout 4");
    expect(isWrappedSecret(exporter.inputs.stdin)).toBe(true);
    const prometheus = String(l.reg.find((r) => r.name === "monitoring-prometheus")!.inputs.script);
    expect(prometheus).toContain("scrape_interval: 5s");
    expect(prometheus).toContain("evaluation_interval: 10s");
    expect(await valueOf(l.stack().monitoring.prometheusUrl)).toBe("http://192.0.2.3:9090");
  });

  it("imports the base image on the first node as the cluster's client, once that node is set up", async () => {
    const baseImage = { source: "/var/lib/kvm-cloud/tiny.img", format: "raw", name: "tiny", snapshot: "base" };
    const knownHosts = ["1", "3", "11", "12", "13", "21", "22"].map((n) => `192.0.2.${n} ${HOST_KEY}\n`).join("");
    const l = load({ "kvm-cloud:services": { ...whole, baseImage }, "kvm-cloud:knownHosts": knownHosts }, cloudStdout);
    l.run();
    await settle();
    const imported = l.reg.find((r) => r.name === "kvmcloud-image-import")!;
    expect(unwrapSecrets(imported.inputs.connection)).toMatchObject({ host: "192.0.2.21" });
    expect(String(imported.inputs.script)).toContain("/var/lib/kvm-cloud/tiny.img");
    expect(String(imported.inputs.script)).toContain("--id libvirt");
    expect(await valueOf(l.stack().baseImage.spec)).toBe("libvirt-pool/tiny@base");
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ["no service", withServices({ network }), /^services: .*at least one of "dns", "database", "ceph" or "nodes"/],
    ["monitoring without the nodes it watches", withServices({ ...good["kvm-cloud:services"], monitoring: {} }), /^monitoring: "\[without ceph, nodes\]" .*"dns", "database", "ceph" and "nodes" sections/],
    ["a monitoring interval of no whole seconds", withServices({ ...whole, monitoring: { scrapeIntervalSeconds: 0.5 } }), /^monitoring\.scrapeIntervalSeconds: 0\.5 .*whole seconds 1-3600/],
    ["an alert pending time that is no duration", withServices({ ...whole, monitoring: { alertPendingFor: "soon" } }), /^monitoring\.alertPendingFor: "soon"/],
    ["a base image without nodes", withServices({ ...good["kvm-cloud:services"], baseImage: { source: "/i.img" } }), /^baseImage: "\[without nodes\]"/],
    ["a base image on an unknown node", withServices({ ...whole, baseImage: { source: "/i.img", node: "node9" } }), /^baseImage\.node: "node9" .*node1, node2/],
    ["nodes without ceph", withServices({ nodes: [{ name: "node1", address: "192.0.2.21", prefixLength: 24, nic: "eth0" }] }), /^nodes: .*a "ceph" section beside it/],
    ["a node with an unknown network backend", withServices({ ceph: { publicNetwork: "192.0.2.0/24", hosts: [{ name: "c1", address: "192.0.2.11", osdFiles: ["/o.img"] }], monitors: 1, replicaSize: 1 }, nodes: [{ name: "node1", address: "192.0.2.21", prefixLength: 24, nic: "eth0", networkBackend: "nmcli" }] }), /^nodes\[0\]\.networkBackend: "nmcli"/],
    ["a Ceph host with a bad OSD file", withServices({ ceph: { publicNetwork: "192.0.2.0/24", replicaSize: 1, monitors: 1, hosts: [{ name: "c1", address: "192.0.2.11", osdFiles: ["osd.img"] }] } }), /^ceph\.hosts\[0\]\.osdFiles\[0\]: "osd\.img"/],
    ["an unknown runtime", withServices({ database: { address: "192.0.2.3", runtime: "podman" } }), /^database\.runtime: "podman" .*"docker" or "packages"/],
    ["an address that is no IPv4", withServices({ database: { address: "db.example" } }), /^database\.address: "db\.example"/],
    ["dns without its network", withServices({ dns: { address: "192.0.2.1", interface: "eth0" } }), /^network: undefined .*the "network" section/],
    ["a DHCP range outside the network", withServices({ network: { ...network, dhcpRange: { start: "198.51.100.1", end: "198.51.100.9" } }, dns: { address: "192.0.2.1", interface: "eth0" } }), /^network\.dhcpRange/],
    ["a host knownHosts does not list", { ...good, "kvm-cloud:knownHosts": `192.0.2.1 ${HOST_KEY}\n` }, /^knownHosts: "192\.0\.2\.3" .*none for 192\.0\.2\.3:22/],
  ])("%s fails with the field named, before anything is registered", async (_what, config, message) => {
    const l = load(config);
    expect(() => l.run()).toThrow(message);
    await settle();
    expect(l.reg).toHaveLength(0);
  });
});
