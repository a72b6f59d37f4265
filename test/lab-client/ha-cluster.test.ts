import { readLabDescription } from "../../lab/description";
import { assertInManagerNamespace, ssh } from "../helpers/lab-client";
import { eventually } from "../helpers/vm-lab";

/**
 * The HA cluster the stack made on the lab's nodes (HaCluster: Corosync over
 * knet, corosync-qnetd on the database host, Pacemaker with fencing
 * required), asked from the nodes themselves: both nodes and the quorum
 * device vote, and when the nodes lose each other (node2's knet traffic
 * dropped, qnetd still reachable from both) exactly one side keeps quorum:
 * node1, the side the quorum device's ffsplit tie-breaker picks, and node1
 * fences node2 with kvm-cloud's fence agent: node2's address goes into
 * Ceph's OSD blocklist and its RBD calls fail. Healed, both are members
 * again, and node2, which never heard from the cluster that it was fenced,
 * is let back in: its fence watch, which sees its own blocklist entry, restarts
 * its Pacemaker, and the cluster unfences it as a fresh member.
 */

jest.setTimeout(8 * 60_000);

const d = readLabDescription();
const node = (name: string) => d.nodes.find((n) => n.name === name)!.sshHost;
const SPLIT_TABLE = "kcl_ha_split";
const node2Entry = () => `${node("node2")}:0/0`;

/** Ceph's OSD blocklist, read on node1 as the fence agent's own cephx user. */
async function blocklist(): Promise<string[]> {
  const text = await on("node1", ["ceph", "--id", "kvmcloud-fence", "osd", "blocklist", "ls"]);
  return text.split("\n").map((l) => l.split(" ")[0]).filter((e) => /:\d+\/\d+$/.test(e));
}

/** An RBD call from node2 as the cloud's client: "ok", or rbd's last line. */
async function rbdFromNode2(): Promise<string> {
  const r = await ssh(d, node("node2"), ["timeout", "20", "rbd", "--id", d.ceph.clientName, "ls", d.ceph.pool], { allowFail: true });
  return r.code === 0 ? "ok" : r.stderr.trim().split("\n").pop()!;
}

async function on(name: string, argv: readonly string[]): Promise<string> {
  const r = await ssh(d, node(name), ["timeout", "20", ...argv], { allowFail: true });
  return r.stdout + r.stderr;
}

/** corosync-quorumtool's view from one node: quorate? how many votes? which node ids are members? */
async function quorum(name: string): Promise<{ quorate: boolean; totalVotes: number; members: number; qdevice: boolean }> {
  const text = await on(name, ["corosync-quorumtool", "-s"]);
  return {
    quorate: /^Quorate:\s+Yes/m.test(text),
    totalVotes: Number(/^Total votes:\s+(\d+)/m.exec(text)?.[1] ?? NaN),
    members: Number(/^Nodes:\s+(\d+)/m.exec(text)?.[1] ?? NaN),
    qdevice: /Qdevice/.test(text),
  };
}

const splitOff = () =>
  ssh(d, node("node2"), ["timeout", "20", "sh", "-c", `nft delete table inet ${SPLIT_TABLE} 2>/dev/null || true`], { allowFail: true });

beforeAll(() => assertInManagerNamespace(d));
afterAll(async () => {
  await splitOff();
});

describe("the lab's HA cluster", () => {
  it("has both nodes and the quorum device voting, and Pacemaker requires fencing", async () => {
    const q = await eventually("both nodes and the quorum device to vote", () => quorum("node1"), (v) => v.quorate && v.members === 2 && v.totalVotes === 3, 90_000, 1000);
    expect(q.qdevice).toBe(true);
    expect(await on("node1", ["crm_attribute", "--type", "crm_config", "--name", "stonith-enabled", "--query"])).toMatch(/value=true/);
    const mon = await eventually("Pacemaker to see both nodes online", () => on("node1", ["crm_mon", "-1"]), (t) => /Online: \[ node1 node2 \]/.test(t), 90_000, 1000);
    expect(mon).toMatch(/2 nodes configured/);
    const qnetd = await ssh(d, d.inventory.host, ["timeout", "20", "corosync-qnetd-tool", "-l"]);
    expect(qnetd.stdout).toMatch(/Cluster "kvmcloud":/);
    expect(qnetd.stdout.match(/Node ID \d+/g)?.sort()).toEqual(["Node ID 1", "Node ID 2"]);
    // Both members over TLS, each with the certificate qnetd's CA signed for this cluster.
    const verbose = await ssh(d, d.inventory.host, ["timeout", "20", "corosync-qnetd-tool", "-l", "-v"]);
    expect(verbose.stdout.match(/TLS active:\s+Yes \(client certificate verified\)/g)).toHaveLength(2);
  });

  it("has the fence device running, and nobody fenced", async () => {
    const mon = await eventually("the fence device to run", () => on("node1", ["crm_mon", "-1"]), (t) => /kvmcloud-fence\s+\(stonith:fence_kvmcloud_ceph\):\s+Started/.test(t), 90_000, 1000);
    expect(mon).toMatch(/Online: \[ node1 node2 \]/);
    expect(await blocklist()).not.toContain(node2Entry());
    expect(await rbdFromNode2()).toBe("ok");
  });

  it("keeps quorum on exactly one side when the nodes lose each other, fences the other, and lets it back in once healed", async () => {
    const started = Date.now();
    // Only knet (UDP 5405) between the nodes: qnetd (TCP 5403) still hears both, as in a split of the cluster network.
    await ssh(d, node("node2"), [
      "timeout", "20", "sh", "-c",
      `nft add table inet ${SPLIT_TABLE} && nft add chain inet ${SPLIT_TABLE} in '{ type filter hook input priority -10; }' && nft add chain inet ${SPLIT_TABLE} out '{ type filter hook output priority -10; }' && nft add rule inet ${SPLIT_TABLE} in udp dport 5405 drop && nft add rule inet ${SPLIT_TABLE} out udp dport 5405 drop`,
    ]);
    const [one, two] = await eventually(
      "node1 alone to keep quorum and node2 to lose it",
      async () => Promise.all([quorum("node1"), quorum("node2")]),
      ([a, b]) => a.members === 1 && b.members === 1 && a.quorate !== b.quorate,
      60_000,
      500,
    );
    process.stdout.write(`  split seen after ${((Date.now() - started) / 1000).toFixed(1)} s: node1 ${JSON.stringify(one)}, node2 ${JSON.stringify(two)}\n`);
    expect(one.quorate).toBe(true);
    expect(two.quorate).toBe(false);
    await eventually("node1 to fence node2 (its address in Ceph's blocklist)", blocklist, (l) => l.includes(node2Entry()), 60_000, 500);
    process.stdout.write(`  node2 fenced ${((Date.now() - started) / 1000).toFixed(1)} s after the split\n`);
    expect(await rbdFromNode2()).toMatch(/\(108\) Cannot send after transport endpoint shutdown/);
    // Pacemaker's own account: its fencer ran the device on node1 (a reboot request, which the device turns into off).
    expect(await on("node1", ["journalctl", "-u", "pacemaker", "--since", `@${Math.floor(started / 1000)}`, "--no-pager"])).toMatch(/Operation 'reboot' \[\d+\] targeting node2 using kvmcloud-fence returned 0/);

    await splitOff();
    const healed = Date.now();
    await eventually("both nodes to be members again", () => quorum("node1"), (v) => v.quorate && v.members === 2 && v.totalVotes === 3, 90_000, 1000);
    expect(await quorum("node2")).toMatchObject({ quorate: true, members: 2, totalVotes: 3 });
    await eventually("node2 to be unfenced", blocklist, (l) => !l.includes(node2Entry()), 120_000, 1000);
    process.stdout.write(`  node2 unfenced ${((Date.now() - healed) / 1000).toFixed(1)} s after the heal\n`);
    expect(await eventually("RBD from node2", rbdFromNode2, (v) => v === "ok", 30_000, 1000)).toBe("ok");
    // The watch acts as soon as it sees the entry: still cut off (it reaches Ceph's monitors, not node1) or after the heal.
    expect(await on("node2", ["journalctl", "-u", "kvmcloud-fence-watch", "--since", `@${Math.floor(started / 1000)}`, "--no-pager"])).toMatch(/node2 \(\S+\) is in Ceph's blocklist but holds its old unfenced mark/);
    await eventually("Pacemaker to see both nodes online", () => on("node1", ["crm_mon", "-1"]), (t) => /Online: \[ node1 node2 \]/.test(t), 90_000, 1000);
  });
});
