import { drainedNodes, validateCloudSpec } from "../../lib/vm/cloud-spec";

const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nsecret-material\n-----END OPENSSH PRIVATE KEY-----";
const good = {
  nodes: [{ name: "node1", ssh: { host: "192.0.2.21", privateKey: key }, libvirtUri: "qemu+ssh://root@192.0.2.21/system" }],
  ceph: { pool: "libvirt-pool", monitors: ["192.0.2.11"], secretUuid: "3f0e8a34-1c2b-4d5e-9f60-718293a4b5c6" },
  dhcp: { ssh: { host: "192.0.2.1", privateKey: key }, leaseFile: "/var/lib/misc/dnsmasq.leases", domain: "cloud.example", range: { start: "192.0.2.100", end: "192.0.2.199" } },
  inventory: { postgresUrl: "postgres://kvmcloud:pw-123@192.0.2.3:5432/kvmcloud", redisUrl: "redis://:pw-456@192.0.2.3:6379/0" },
};

describe("validateCloudSpec", () => {
  it("fills defaults", () => {
    expect(validateCloudSpec(good)).toMatchObject({ domainType: "kvm", leaseTimeoutSeconds: 300, ceph: { clientName: "libvirt" }, dhcp: { hostsDir: "/etc/kvmcloud/dhcp-hosts" } });
  });

  it.each([
    ["cloud.nodes", { nodes: [] }],
    ["cloud.nodes[1].name", { nodes: [good.nodes[0], good.nodes[0]] }],
    ["cloud.nodes[0].libvirtUri", { nodes: [{ ...good.nodes[0], libvirtUri: "qemu+tcp://x/session" }] }],
    ["cloud.ceph.monitors[0]", { ceph: { ...good.ceph, monitors: ["mon-a"] } }],
    ["cloud.ceph.secretUuid", { ceph: { ...good.ceph, secretUuid: "ABC" } }],
    ["cloud.dhcp.leaseFile", { dhcp: { ...good.dhcp, leaseFile: "leases" } }],
    ["cloud.dhcp.leaseFile", { dhcp: { ...good.dhcp, leaseFile: "/var/lib/misc/a,b.leases" } }],
    ["cloud.dhcp.range.start", { dhcp: { ...good.dhcp, range: { start: "192.0.2", end: "192.0.2.9" } } }],
    ["cloud.dhcp.range.end", { dhcp: { ...good.dhcp, range: { start: "192.0.2.9", end: "192.0.2.8" } } }],
    ["cloud.dhcp.hostsDir", { dhcp: { ...good.dhcp, hostsDir: "/etc/dhcp hosts" } }],
    ["cloud.leaseTimeoutSeconds", { leaseTimeoutSeconds: 1 }],
    ["cloud.domainType", { domainType: "xen" }],
    ["cloud.nodes[0].drained", { nodes: [{ ...good.nodes[0], drained: "yes" }] }],
  ])("names %s", (field, patch) => {
    expect(() => validateCloudSpec({ ...good, ...patch } as never)).toThrow(new RegExp(`^${field.replace(/[[\].]/g, "\\$&")}: `));
  });

  it("names the drained nodes, and none when no node says so", () => {
    expect(drainedNodes(good)).toEqual([]);
    expect(drainedNodes({ nodes: [{ ...good.nodes[0], drained: true }, { ...good.nodes[0], name: "node2", drained: false }] })).toEqual(["node1"]);
  });

  it("never puts a key or a password into its errors", () => {
    const badKey = { ...good, nodes: [{ ...good.nodes[0], ssh: { host: "192.0.2.21", privateKey: "not-a-key secret-material" } }] };
    expect(() => validateCloudSpec(badKey)).toThrow(/cloud\.nodes\[0\]\.ssh\.privateKey: "\[secret\]"/);
    const badUrl = { ...good, inventory: { ...good.inventory, postgresUrl: "mysql://kvmcloud:pw-123@db/x" } };
    let message = "";
    try {
      validateCloudSpec(badUrl);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^cloud\.inventory\.postgresUrl: /);
    expect(message).not.toContain("pw-123");
    expect(() => validateCloudSpec(badKey)).not.toThrow(/secret-material/);
  });
});
