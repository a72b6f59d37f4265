import * as pulumi from "@pulumi/pulumi";
import { Cloud, CloudArgs } from "../../components/cloud";
import { CloudConfig } from "../../lib/cloud/cloud-config";
import { validateCloudSpec } from "../../lib/vm/cloud-spec";
import { cloudStdout, dependenciesOf, installComponentMocks, MOCK_CEPH_CLIENT_KEY, resourceName } from "../helpers/component-mocks";
import { copy, stackFileConfig } from "../helpers/dev-config";
import { plainInputsText, Registered, settle, unwrapSecrets, valueOf, REMOTE_COMMAND } from "../helpers/pulumi-mocks";

/**
 * Cloud under Pulumi's mocks with the reference topology of Pulumi.dev.yaml:
 * every host gets its parts, `cloud` is a valid CloudSpec that carries every
 * part as a dependency and stays secret, and bad configs fail first.
 */
const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nh4b-cloud-key\n-----END OPENSSH PRIVATE KEY-----\n";
const devCloud = stackFileConfig("dev")["kvm-cloud:cloud"] as CloudConfig;

async function build(config: CloudConfig, extra: Partial<CloudArgs> = {}) {
  const reg = installComponentMocks({ stdoutFor: cloudStdout });
  const cloud = new Cloud("kvmcloud", { config, sshPrivateKey: pulumi.secret(KEY), ...extra });
  const spec = await valueOf(cloud.cloud);
  await settle();
  return { reg, cloud, spec };
}

/** Commands by the host they run on. */
function commandsByHost(reg: Registered[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const r of reg.filter((x) => x.type === REMOTE_COMMAND)) {
    const host = String((unwrapSecrets(r.inputs.connection) as { host: string }).host);
    out.set(host, [...(out.get(host) ?? []), r.name]);
  }
  return out;
}

describe("Cloud", () => {
  it("gives every host of the reference topology its own parts", async () => {
    const { reg } = await build(devCloud);
    const byHost = commandsByHost(reg);
    expect([...byHost.keys()].sort()).toEqual(["192.0.2.1", "192.0.2.11", "192.0.2.12", "192.0.2.13", "192.0.2.21", "192.0.2.22", "192.0.2.3"]);
    expect(byHost.get("192.0.2.1")!.every((n) => n.startsWith("kvmcloud-dns-"))).toBe(true);
    for (const [i, host] of ["192.0.2.11", "192.0.2.12", "192.0.2.13"].entries()) {
      expect(byHost.get(host)).toEqual(expect.arrayContaining([`kvmcloud-ceph-ceph${i + 1}-mon`, `kvmcloud-ceph-ceph${i + 1}-config`]));
    }
    for (const node of ["node1", "node2"]) {
      const host = node === "node1" ? "192.0.2.21" : "192.0.2.22";
      expect(byHost.get(host)).toEqual(expect.arrayContaining([`kvmcloud-${node}-packages`, `kvmcloud-${node}-libvirt-ceph`, `kvmcloud-migration-kvmcloud-${node}`]));
    }
    // The base image is imported on the first node, as the node's Ceph client.
    expect(byHost.get("192.0.2.21")).toContain("kvmcloud-image-import");
    // Pulumi.dev.yaml's database host runs Debian's packages: no Docker provider.
    expect(byHost.get("192.0.2.3")).toEqual(["kvmcloud-inventory-services", "kvmcloud-inventory-schema"]);
    expect(reg.filter((r) => r.type === "pulumi:providers:docker")).toEqual([]);
    expect(reg.filter((r) => r.type.startsWith("kvmcloud:index:")).map((r) => r.type).sort()).toEqual([
      "kvmcloud:index:BaseImage",
      "kvmcloud:index:CephCluster",
      "kvmcloud:index:Cloud",
      "kvmcloud:index:DnsmasqServer",
      "kvmcloud:index:InventoryDatabase",
      "kvmcloud:index:KvmNode",
      "kvmcloud:index:KvmNode",
      "kvmcloud:index:MigrationMesh",
    ]);
  });

  it("yields a CloudSpec the VM provider accepts, with every node, the pool, the lease file and the inventory", async () => {
    const { spec, cloud } = await build(devCloud);
    expect(validateCloudSpec(spec)).toEqual(spec);
    expect(spec.nodes.map((n) => [n.name, n.ssh.host, n.libvirtUri])).toEqual([
      ["node1", "192.0.2.21", "qemu+ssh://root@192.0.2.21/system?keyfile=/root/.ssh/kvmcloud_migration"],
      ["node2", "192.0.2.22", "qemu+ssh://root@192.0.2.22/system?keyfile=/root/.ssh/kvmcloud_migration"],
    ]);
    expect(spec.ceph).toEqual({ pool: "libvirt-pool", monitors: ["192.0.2.11", "192.0.2.12", "192.0.2.13"], clientName: "libvirt", secretUuid: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(spec.dhcp).toEqual({ ssh: expect.objectContaining({ host: "192.0.2.1" }), leaseFile: "/var/lib/misc/dnsmasq.kvmcloud.leases", domain: "cloud.example", range: { start: "192.0.2.100", end: "192.0.2.200" }, hostsDir: "/etc/kvmcloud/dhcp-hosts" });
    expect(spec.inventory.postgresUrl).toMatch(/^postgres:\/\/kvmcloud:generated-[^@]+@192\.0\.2\.3:5432\/kvmcloud$/);
    expect(spec.domainType).toBe("kvm");
    expect(await valueOf(cloud.imageSpec)).toBe("libvirt-pool/debian-12@base");
  });

  it("keeps `cloud` secret and the SSH and Ceph keys out of every command line", async () => {
    const { reg, cloud } = await build(devCloud);
    expect(await pulumi.isSecret(cloud.cloud)).toBe(true);
    for (const r of reg.filter((x) => x.type === REMOTE_COMMAND)) {
      expect(JSON.stringify(r.inputs.script)).not.toContain("h4b-cloud-key");
      expect(JSON.stringify(r.inputs.script)).not.toContain(MOCK_CEPH_CLIENT_KEY);
    }
    // The Ceph key does reach the nodes, on stdin.
    expect(reg.some((r) => r.name === "kvmcloud-node1-libvirt-ceph" && plainInputsText(r).includes(MOCK_CEPH_CLIENT_KEY))).toBe(true);
  });

  it("makes whatever takes `cloud` depend on the KVM nodes' setup, the Ceph pool, the inventory schema and the image", async () => {
    const { cloud } = await build(devCloud);
    const deps = new Set((await dependenciesOf(cloud.cloud)).map(resourceName));
    for (const name of ["kvmcloud-node1-libvirt-ceph", "kvmcloud-node2-libvirt-ceph", "kvmcloud-node2-bridge", "kvmcloud-ceph-pool", "kvmcloud-inventory-schema", "kvmcloud-image-import", "kvmcloud-dns-dnsmasq"]) {
      expect(deps).toContain(name);
    }
  });

  it("uses given inventory passwords and known_hosts", async () => {
    // One line per host: a host known_hosts does not list is refused (cloud-host-keys.test.ts).
    const addresses = [devCloud.dns, devCloud.database, devCloud.loadBalancer!, ...devCloud.ceph.hosts, ...devCloud.nodes].map((h) => h.address);
    const knownHosts = addresses.map((a) => `${a} ssh-ed25519 AAAA`).join("\n");
    const { reg, spec } = await build(devCloud, { postgresPassword: pulumi.secret("given-postgres-password-1"), knownHosts });
    expect(spec.inventory.postgresUrl).toContain(":given-postgres-password-1@");
    expect(spec.knownHosts).toBe(knownHosts);
    expect(reg.filter((r) => r.name === "kvmcloud-inventory-postgres-password")).toHaveLength(0);
  });

  it("adds the HA cluster over the nodes with qnetd on the database host when the config has an ha section", async () => {
    const { reg, cloud } = await build({ ...devCloud, ha: {} });
    const byHost = commandsByHost(reg);
    expect(byHost.get("192.0.2.3")).toContain("kvmcloud-ha-qnetd");
    expect(byHost.get("192.0.2.21")).toContain("kvmcloud-ha-kvmcloud-node1");
    expect(byHost.get("192.0.2.22")).toContain("kvmcloud-ha-kvmcloud-node2");
    expect(await valueOf(cloud.ha!.members)).toEqual(["node1", "node2"]);
    expect(await valueOf(cloud.ha!.quorumDeviceAddress)).toBe("192.0.2.3");
    const none = await build({ ...devCloud, ha: { quorumDevice: "none" } });
    expect(none.reg.some((r) => r.name === "kvmcloud-ha-qnetd")).toBe(false);
  });

  it("with ha, admits the nodes to a restricted inventory (their alert agents write there) and hands them its URLs", async () => {
    const hba = (reg: Registered[]) => reg.map((r) => String(r.inputs.script ?? "")).find((t) => t.includes("scram-sha-256"))!;
    const restricted = { ...devCloud, database: { ...devCloud.database, allowedClients: ["192.0.2.40/32"] } };
    const plain = await build(restricted);
    expect(hba(plain.reg)).toContain("192.0.2.40/32 scram-sha-256");
    expect(hba(plain.reg)).not.toContain("192.0.2.21/32");
    const { reg } = await build({ ...restricted, ha: {} });
    for (const a of ["192.0.2.40/32", "192.0.2.21/32", "192.0.2.22/32"]) expect(hba(reg)).toContain(`${a} scram-sha-256`);
    const member = reg.find((r) => r.name === "kvmcloud-ha-kvmcloud-node1")!;
    expect(String(member.inputs.script)).toContain("kvmcloud-ha-alert");
  });

  const broken = (change: (c: Record<string, any>) => void): CloudConfig => {
    const c = copy(devCloud) as Record<string, any>;
    change(c);
    return c as CloudConfig;
  };

  it.each<[string, CloudConfig, RegExp]>([
    ["a missing dns host address", broken((c) => delete c.dns.address), /^dns\.address: undefined is not allowed; expected an IPv4 address/],
    ["a missing database section", broken((c) => delete c.database), /^database: undefined .*a "database" section/],
    ["2 monitors", broken((c) => (c.ceph.monitors = 2)), /^ceph\.monitors: 2 is not allowed; expected an odd number from 1 to 3/],
    [
      "a reservation inside the DHCP range",
      broken((c) => (c.network.reservations = [{ mac: "52:54:00:00:00:10", ip: "192.0.2.150", name: "lb" }])),
      /^network\.reservations\[0\]\.ip: "192\.0\.2\.150" is not allowed; expected an address outside the DHCP range 192\.0\.2\.100-192\.0\.2\.200/,
    ],
    ["a range end outside the network", broken((c) => (c.network.dhcpRange.end = "198.51.100.9")), /^network\.dhcpRange\.end: "198\.51\.100\.9"/],
    ["two nodes with one name", broken((c) => (c.nodes[1].name = "node1")), /^nodes\[1\]\.name: "node1" .*no other node/],
    ["a node without its NIC", broken((c) => delete c.nodes[0].nic), /^nodes\[0\]\.nic: undefined/],
    ["an image on an unknown node", broken((c) => (c.baseImage.node = "node9")), /^baseImage\.node: "node9" .*one of the nodes: node1, node2/],
    ["an HA section with an unknown quorum device", broken((c) => (c.ha = { quorumDevice: "witness" })), /^ha\.quorumDevice: "witness" is not allowed; expected "database" or "none"/],
    ["an image from ftp", broken((c) => (c.baseImage.source = "ftp://example.com/i.qcow2")), /^baseImage\.source: "ftp:/],
  ])("fails on %s before registering anything", async (_what, config, message) => {
    const reg = installComponentMocks({ stdoutFor: cloudStdout });
    expect(() => new Cloud("kvmcloud", { config, sshPrivateKey: KEY })).toThrow(message);
    await settle();
    expect(reg).toHaveLength(0);
  });
});
