import * as pulumi from "@pulumi/pulumi";
import { KvmNode, KvmNodeArgs } from "../../components/kvm-node";
import { MigrationMesh } from "../../components/migration-mesh";
import { installMocks, isWrappedSecret, plainInputsText, Registered, settle, unwrapSecrets, valueOf, REMOTE_COMMAND } from "../helpers/pulumi-mocks";

/**
 * KvmNode and MigrationMesh under Pulumi's mocks. The mocks answer for the
 * hosts: the facts command prints CPUs, memory and the NIC's MAC, the key command a
 * migration key and host key per node.
 */
const SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nh4a\n-----END OPENSSH PRIVATE KEY-----\n";
const CLIENT_KEY = "AQAAAAAAAAAAABAAh4aClientKeyAAAAAAAAAA==";
const FSID = "4a0e8b1c-2d3f-4a5b-8c6d-7e8f9a0b1c2d";
const pub = (s: string) => `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${s.padEnd(43, "A")}`;

const stdout = (name: string) => {
  const node = name.split("-")[0];
  if (name.endsWith("-facts")) return "vcpus=8\nmemory_kib=16384000\nnic_mac=52:54:00:0a:0b:0c\n";
  if (name.endsWith("-migration-key")) return `migration_key=${pub(`m${node}`)}\nhost_key=${pub(`h${node}`)}\n`;
  return undefined;
};

const nodeArgs = (n: number): KvmNodeArgs => ({
  connection: { host: `192.0.2.2${n}`, privateKey: SSH_KEY },
  address: `192.0.2.2${n}`,
  prefixLength: 24,
  gateway: "192.0.2.1",
  nic: "eno1",
  ceph: { fsid: FSID, monitorAddresses: ["192.0.2.11", "192.0.2.12", "192.0.2.13"], pool: "libvirt-pool", clientKey: pulumi.secret(CLIENT_KEY) as unknown as string },
});

async function build(a: KvmNodeArgs, name = "node1"): Promise<{ reg: Registered[]; node: KvmNode }> {
  const reg = installMocks(stdout);
  const node = new KvmNode(name, a);
  await valueOf(node.memoryMiB);
  await valueOf(node.migrationPublicKey);
  await settle();
  return { reg, node };
}

const byName = (reg: Registered[], n: string) => {
  const r = reg.find((x) => x.name === n);
  if (!r) throw new Error(`no resource ${n}; have ${reg.map((x) => x.name).join(", ")}`);
  return r;
};
const create = (reg: Registered[], n: string) => String(byName(reg, n).inputs.script);

describe("KvmNode", () => {
  it("gives the host packages, a bridge, libvirt settings, the Ceph client, secret and pool, a migration key", async () => {
    const { reg } = await build(nodeArgs(1));
    expect(reg.filter((r) => r.type === REMOTE_COMMAND).map((r) => r.name).sort()).toEqual(
      ["bridge", "ceph-client", "facts", "guest-filter", "libvirt", "libvirt-ceph", "migration-key", "packages"].map((p) => `node1-${p}`),
    );
    expect(create(reg, "node1-packages")).toContain("genisoimage");
    expect(create(reg, "node1-packages")).not.toContain("prometheus-node-exporter");
    expect(create(reg, "node1-bridge")).toContain("address add 192.0.2.21/24 dev br0");
    expect(create(reg, "node1-bridge")).toContain("/etc/network/interfaces.d/kvmcloud-br0");
    // The facts' MAC, read on the host, is what the bridge keeps at the next boot.
    expect(create(reg, "node1-bridge")).toContain("hwaddress 52:54:00:0a:0b:0c");
    expect(create(reg, "node1-libvirt")).toContain('security_driver = "apparmor"');
    // "clean" by default: clean-traffic's rules under the name every domain references.
    expect(create(reg, "node1-guest-filter")).toContain('<filter name="kvmcloud-guest" chain="root">');
    expect(create(reg, "node1-guest-filter")).toContain('<ip match="no" srcipaddr="$IP"/>');
    expect(create(reg, "node1-ceph-client")).toContain("mon_host = [v2:192.0.2.11:3300,v1:192.0.2.11:6789]");
    expect(create(reg, "node1-libvirt-ceph")).toContain("<name>libvirt-pool</name>");
    expect(create(reg, "node1-libvirt-ceph")).toContain("virsh secret-set-value --secret");
  });

  it("reads capacity from the host and publishes an SSH migration URI", async () => {
    const { node } = await build(nodeArgs(1));
    expect(await valueOf(node.vcpus)).toBe(8);
    expect(await valueOf(node.memoryMiB)).toBe(16000);
    expect(await valueOf(node.name)).toBe("node1");
    expect(await valueOf(node.libvirtUri)).toBe("qemu+ssh://root@192.0.2.21/system?keyfile=/root/.ssh/kvmcloud_migration");
    expect(await valueOf(node.libvirtUri)).not.toMatch(/qemu\+tcp/);
  });

  it("derives one secret UUID from the fsid, the same on every node", async () => {
    const a = await build(nodeArgs(1), "node1");
    const b = await build(nodeArgs(2), "node2");
    const uuid = await valueOf(a.node.secretUuid);
    expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(await valueOf(b.node.secretUuid)).toBe(uuid);
    expect(create(a.reg, "node1-libvirt-ceph")).toContain(uuid);
  });

  it("keeps the client key secret: only in secret stdin, never in a script or trigger", async () => {
    const { reg } = await build(nodeArgs(1));
    for (const n of ["node1-ceph-client", "node1-libvirt-ceph"]) {
      expect(isWrappedSecret(byName(reg, n).inputs.stdin)).toBe(true);
      expect(plainInputsText(byName(reg, n))).toContain(CLIENT_KEY);
    }
    for (const r of reg) {
      expect(String(r.inputs.script ?? "")).not.toContain(CLIENT_KEY);
      expect(JSON.stringify(r.inputs.triggers ?? [])).not.toContain(CLIENT_KEY);
    }
    // The migration key's private half is made on the node and never read back.
    expect(create(reg, "node1-migration-key")).not.toMatch(/(cat|cut|base64)[^\n]*kvmcloud_migration(?!\.pub)/);
    expect(create(reg, "node1-migration-key")).toContain("cut -d' ' -f1,2 /root/.ssh/kvmcloud_migration.pub");
  });

  it("defines an empty filter for its guests when asked for open traffic", async () => {
    const { reg } = await build({ ...nodeArgs(1), guestTraffic: "open" });
    expect(create(reg, "node1-guest-filter")).toContain('<filter name="kvmcloud-guest" chain="root">');
    expect(create(reg, "node1-guest-filter")).not.toMatch(/<rule|<filterref/);
  });

  it("re-runs the bridge script, and only it, when the backend changes", async () => {
    const a = await build(nodeArgs(1));
    const b = await build({ ...nodeArgs(1), networkBackend: "netplan" });
    const trig = (reg: Registered[], n: string) => JSON.stringify(unwrapSecrets([byName(reg, n).inputs.script, byName(reg, n).inputs.stdin]));
    expect(trig(b.reg, "node1-bridge")).not.toBe(trig(a.reg, "node1-bridge"));
    expect(create(b.reg, "node1-bridge")).toContain("/etc/netplan/90-kvmcloud-br0.yaml");
    for (const n of ["node1-packages", "node1-libvirt", "node1-ceph-client", "node1-libvirt-ceph", "node1-migration-key", "node1-guest-filter"]) {
      expect(trig(b.reg, n)).toBe(trig(a.reg, n));
    }
  });

  it.each<[string, Partial<KvmNodeArgs>, RegExp]>([
    ["an unknown network backend", { networkBackend: "wicked" as never }, /networkBackend: "wicked" .*"ifupdown", "networkd", "netplan"/],
    ["a bad security driver", { securityDriver: "smack" as never }, /securityDriver: "smack" .*"apparmor", "selinux", "none"/],
    ["the bridge as its own port", { nic: "br0" }, /nic: "br0" .*other than the bridge/],
    ["a prefix of 33", { prefixLength: 33 }, /prefixLength: 33/],
    ["a bad secret UUID", { secretUuid: "NOT-A-UUID" }, /secretUuid: "NOT-A-UUID"/],
    ["an unknown guest traffic policy", { guestTraffic: "strict" as never }, /^guestTraffic: "strict" is not allowed; expected "clean" or "open"/],
  ])("fails on %s before registering anything", async (_what, patch, message) => {
    const reg = installMocks(stdout);
    expect(() => new KvmNode("node1", { ...nodeArgs(1), ...patch })).toThrow(message);
    await settle();
    expect(reg).toHaveLength(0);
  });
});

describe("MigrationMesh", () => {
  it("authorizes every other node's key and knows its host key, on each node", async () => {
    const reg = installMocks(stdout);
    const nodes = [1, 2, 3].map((n) => new KvmNode(`node${n}`, nodeArgs(n)));
    const mesh = new MigrationMesh("migration", { nodes });
    expect(await valueOf(mesh.libvirtUris)).toEqual({
      node1: "qemu+ssh://root@192.0.2.21/system?keyfile=/root/.ssh/kvmcloud_migration",
      node2: "qemu+ssh://root@192.0.2.22/system?keyfile=/root/.ssh/kvmcloud_migration",
      node3: "qemu+ssh://root@192.0.2.23/system?keyfile=/root/.ssh/kvmcloud_migration",
    });
    await settle();
    const on1 = create(reg, "migration-node1");
    expect(on1).toContain(`restrict ${pub("mnode2")} kvmcloud-migration@node2`);
    expect(on1).toContain(`restrict ${pub("mnode3")} kvmcloud-migration@node3`);
    expect(on1).not.toContain(pub("mnode1"));
    expect(on1).toContain(`192.0.2.22 ${pub("hnode2")}`);
    expect((unwrapSecrets(byName(reg, "migration-node1").inputs.connection) as { host: string }).host).toBe("192.0.2.21");
  });

  it("fails on a node listed twice", () => {
    installMocks(stdout);
    const n = new KvmNode("node1", nodeArgs(1));
    expect(() => new MigrationMesh("m", { nodes: [n, n] })).toThrow(/nodes\[1\]: "node1" .*each KvmNode once/);
  });
});
