import { HaCluster, HaClusterArgs } from "../../components/ha-cluster";
import { KvmNode } from "../../components/kvm-node";
import { installComponentMocks } from "../helpers/component-mocks";
import { ALERT_AGENT_PATH, ALERT_PACKAGES } from "../../lib/ha/ha-alert";
import { isWrappedSecret, Registered, settle, unwrapSecrets, valueOf, REMOTE_COMMAND } from "../helpers/pulumi-mocks";

/**
 * HaCluster under Pulumi's mocks: one member script per KVM node with the
 * same corosync.conf, the authkey generated once and only ever on stdin (a
 * secret), qnetd on the quorum host before the members, and bad settings
 * refused before anything is registered.
 */
const SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nha\n-----END OPENSSH PRIVATE KEY-----\n";
const pub = (s: string) => `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${s.padEnd(43, "A")}`;
const stdoutFor = (name: string) => {
  if (name.endsWith("-facts")) return "vcpus=4\nmemory_kib=8192000\nnic_mac=52:54:00:0a:0b:0c\n";
  if (name.endsWith("-migration-key")) return `migration_key=${pub("m")}\nhost_key=${pub("h")}\n`;
  if (name.endsWith("-fence-client")) return "AQBfenceKeyAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n";
  if (name.endsWith("-qdevice-cert")) return "Q0FjZXJ0\nUDEyYnVuZGxl\n";
  return undefined;
};
const node = (n: number) =>
  new KvmNode(`node${n}`, {
    connection: { host: `192.0.2.2${n}`, privateKey: SSH_KEY },
    address: `192.0.2.2${n}`,
    prefixLength: 24,
    nic: "eno1",
    ceph: { fsid: "4a0e8b1c-2d3f-4a5b-8c6d-7e8f9a0b1c2d", monitorAddresses: ["192.0.2.11"], pool: "libvirt-pool", clientKey: "AQAAAAAAAAAAABAAh4aClientKeyAAAAAAAAAA==" },
  });
const quorumDevice = { connection: { host: "192.0.2.30", privateKey: SSH_KEY }, address: "192.0.2.30" };

async function build(extra: Partial<HaClusterArgs> = {}, count = 2): Promise<{ reg: Registered[]; ha: HaCluster }> {
  const reg = installComponentMocks({ stdoutFor });
  const nodes = Array.from({ length: count }, (_, i) => node(i + 1));
  const ha = new HaCluster("ha", { nodes, quorumDevice, ...extra });
  await valueOf(ha.members);
  await settle();
  return { reg, ha };
}

const named = (reg: Registered[], n: string) => reg.find((r) => r.name === n)!;
const script = (reg: Registered[], n: string) => String(named(reg, n).inputs.script);

describe("HaCluster", () => {
  it("makes every node a member of one corosync cluster with the quorum device, fencing required", async () => {
    const { reg, ha } = await build();
    expect(reg.filter((r) => r.type === REMOTE_COMMAND && r.name.startsWith("ha-")).map((r) => r.name).sort()).toEqual(["ha-node1", "ha-node2", "ha-qdevice-cert", "ha-qnetd", "ha-standby"]);
    // The qdevice link is TLS only, with a certificate qnetd's CA signs for this cluster.
    expect(script(reg, "ha-node1")).toContain("tls: required");
    expect(script(reg, "ha-qdevice-cert")).toContain("corosync-qnetd-certutil -s -c \"$work/req.crq\" -n kvmcloud");
    expect(script(reg, "ha-qnetd")).toContain('COROSYNC_QNETD_OPTIONS="-s req"');
    expect(await valueOf(ha.members)).toEqual(["node1", "node2"]);
    const conf = (s: string) => /cluster_name[\s\S]*?\nlogging/.exec(s)![0];
    // The same config on both members: node ids follow the list.
    expect(conf(script(reg, "ha-node1"))).toBe(conf(script(reg, "ha-node2")));
    expect(script(reg, "ha-node1")).toContain("ring0_addr: 192.0.2.22");
    expect(script(reg, "ha-node1")).toContain("host: 192.0.2.30");
    expect(script(reg, "ha-node1")).not.toContain("two_node");
    expect(script(reg, "ha-node1")).toContain("set_property stonith-enabled true");
    expect(script(reg, "ha-qnetd")).toContain("corosync-qnetd.service");
  });

  it("generates the authkey once and passes it only on stdin, as a secret", async () => {
    const { reg } = await build();
    expect(named(reg, "ha-authkey").inputs.length).toBe(128);
    for (const n of ["ha-node1", "ha-node2"]) {
      const r = named(reg, n);
      expect(isWrappedSecret(r.inputs.stdin)).toBe(true);
      // Then the qdevice link's CA and the cluster's certificate bundle, made on the qnetd host.
      expect(unwrapSecrets(r.inputs.stdin)).toBe("generated-ha-authkey-0123456789\nQ0FjZXJ0\nUDEyYnVuZGxl\n");
      expect(JSON.stringify(r.inputs.script)).not.toContain("generated-ha-authkey");
    }
  });

  it("with fencing: makes the fence user on the Ceph admin host, after Ceph, and hands its key to the members on stdin only", async () => {
    const reg = installComponentMocks({ stdoutFor });
    const nodes = [node(1), node(2)];
    const cephAdmin = { host: "192.0.2.11", privateKey: SSH_KEY };
    const ha = new HaCluster("ha", { nodes, quorumDevice, fencing: { cephAdmin, ceph: nodes[0] } });
    await valueOf(ha.members);
    await settle();
    const client = named(reg, "ha-fence-client");
    // Only the key reaches stdout (everything else goes to stderr), and the members take it as a secret.
    expect(String(client.inputs.script)).toContain("exec 3>&1 1>&2");
    expect(String(client.inputs.script)).toContain("ceph auth get-or-create client.kvmcloud-fence mon 'allow r, allow command \"osd blocklist\"'");
    expect(JSON.stringify(client.inputs.connection)).toContain("192.0.2.11");
    for (const n of ["ha-node1", "ha-node2"]) {
      const r = named(reg, n);
      expect(unwrapSecrets(r.inputs.stdin)).toBe("generated-ha-authkey-0123456789\nQ0FjZXJ0\nUDEyYnVuZGxl\nAQBfenceKeyAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n");
      expect(isWrappedSecret(r.inputs.stdin)).toBe(true);
      expect(JSON.stringify(r.inputs.script)).not.toContain("AQBfenceKey");
      expect(String(r.inputs.script)).toContain('name="pcmk_host_map" value="node1:192.0.2.21;node2:192.0.2.22"');
    }
    // Without fencing there is no device: the member scripts never mention one.
    const { reg: plain } = await build();
    expect(plain.some((r) => r.name === "ha-fence-client")).toBe(false);
    expect(script(plain, "ha-node1")).not.toContain("fence");
  });

  it("with the inventory: installs the alert agent and registers it, its access on stdin only, as the last line", async () => {
    const inventory = { postgresUrl: "postgres://kvmcloud:pg-secret-pw@192.0.2.3:5432/kvmcloud", redisUrl: "redis://:redis-secret-pw@192.0.2.3:6379/0" };
    const { reg } = await build({ inventory });
    for (const n of ["ha-node1", "ha-node2"]) {
      const r = named(reg, n);
      const lines = String(unwrapSecrets(r.inputs.stdin)).trimEnd().split("\n");
      expect(lines).toHaveLength(4);
      const env = Buffer.from(lines[3], "base64").toString();
      expect(env).toContain("PGPASSWORD=pg-secret-pw\n");
      expect(env).toContain("REDISCLI_AUTH=redis-secret-pw\n");
      expect(isWrappedSecret(r.inputs.stdin)).toBe(true);
      const text = script(reg, n);
      expect(text).not.toMatch(/secret-pw/);
      expect(text).toContain(`cibadmin --modify --allow-create --scope alerts --xml-text '<alert id="kvmcloud-inventory" path="${ALERT_AGENT_PATH}">`);
      for (const p of ALERT_PACKAGES) expect(text).toContain(p);
    }
    // Without the inventory there is no agent.
    const { reg: plain } = await build();
    expect(script(plain, "ha-node1")).not.toContain(ALERT_AGENT_PATH);
    expect(script(plain, "ha-node1")).not.toContain("postgresql-client");
  });

  it("sets standby on the drained members and off on the others, from the first node", async () => {
    const { reg } = await build({ drain: ["node2"] }, 3);
    const standby = script(reg, "ha-standby");
    expect(standby).toContain("crm_attribute --node node2 --name standby --update on");
    expect(standby).toContain("crm_attribute --node node1 --name standby --update off");
    expect(standby).toContain("crm_attribute --node node3 --name standby --update off");
    expect(unwrapSecrets(named(reg, "ha-standby").inputs.connection)).toMatchObject({ host: "192.0.2.21" });
    const { reg: none } = await build();
    expect(script(none, "ha-standby")).not.toContain("--update on");
  });

  it("runs two nodes with two_node and no qnetd when there is no quorum device", async () => {
    const { reg } = await build({ quorumDevice: undefined });
    expect(reg.some((r) => r.name === "ha-qnetd" || r.name === "ha-qdevice-cert")).toBe(false);
    expect(script(reg, "ha-node1")).not.toContain("qdevice_ca");
    expect(script(reg, "ha-node1")).toContain("two_node: 1");
    expect(script(reg, "ha-node1")).not.toContain("corosync-qdevice");
  });

  it.each<[string, Partial<HaClusterArgs>, number, RegExp]>([
    ["one node", {}, 1, /^nodes: 1 is not allowed; expected at least two KvmNode components/],
    ["a cluster name with capitals", { clusterName: "Prod" }, 2, /^clusterName: "Prod" is not allowed; expected 1-31 characters of \[a-z0-9-\]/],
    ["a token under a second", { tokenMs: 500 }, 2, /^tokenMs: 500 is not allowed; expected an integer 1000-60000 \(ms\)/],
    ["a quorum device that is no address", { quorumDevice: { ...quorumDevice, address: "db.example" } }, 2, /^quorumDeviceAddress: "db.example" is not allowed; expected an IPv4 address/],
    ["a fence user named client.x", { fencing: { cephAdmin: { host: "192.0.2.11", privateKey: "k" }, ceph: undefined as never, clientName: "client.x" } }, 2, /^fencing\.clientName: "client\.x" is not allowed; expected a cephx user name without the client\. prefix/],
  ])("refuses %s before registering anything", async (_what, extra, count, message) => {
    const reg = installComponentMocks({ stdoutFor });
    const nodes = Array.from({ length: count }, (_, i) => node(i + 1));
    const before = reg.length;
    expect(() => new HaCluster("ha", { nodes, quorumDevice, ...extra })).toThrow(message);
    await settle();
    expect(reg.slice(before).filter((r) => r.name.startsWith("ha"))).toEqual([]);
  });
});
