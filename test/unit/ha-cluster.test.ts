import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { COROSYNC_AUTHKEY_PATH, renderCorosyncConf } from "../../lib/ha/corosync-conf";
import { checkHaSection, planHaCluster } from "../../lib/ha/ha-cluster";
import { renderHaMemberScript, renderQnetdScript } from "../../lib/ha/ha-scripts";
import { renderFenceWatch } from "../../lib/ha/fence-watch";
import { renderQdeviceCertScript } from "../../lib/ha/qdevice-tls";
import { shellcheck } from "../helpers/shellcheck";

const members = [
  { name: "node1", address: "192.0.2.21" },
  { name: "node2", address: "192.0.2.22" },
];

/** The real corosync's own check (`corosync -t`) of a rendered config, with a key of its own (it reads the keyfile). */
function corosyncAccepts(text: string): { status: number | null; out: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "corosync-conf-"));
  try {
    fs.writeFileSync(path.join(dir, "authkey"), "k".repeat(128), { mode: 0o400 });
    expect(text).toContain(`keyfile: ${COROSYNC_AUTHKEY_PATH}\n`);
    fs.writeFileSync(path.join(dir, "corosync.conf"), text.replace(`keyfile: ${COROSYNC_AUTHKEY_PATH}`, `keyfile: ${path.join(dir, "authkey")}`));
    const r = spawnSync("corosync", ["-t", "-c", path.join(dir, "corosync.conf")], { encoding: "utf8", timeout: 20_000 });
    return { status: r.status, out: r.stdout + r.stderr };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe("planHaCluster", () => {
  it("fills the defaults once", () => {
    expect(planHaCluster({ members })).toEqual({ clusterName: "kvmcloud", tokenMs: 3000, members, quorumDeviceAddress: undefined, alerts: false });
  });

  it.each<[string, Parameters<typeof planHaCluster>[0], RegExp]>([
    ["one member", { members: members.slice(0, 1) }, /^members: 1 is not allowed; expected at least two cluster members/],
    ["a member twice", { members: [members[0], { ...members[1], name: "node1" }] }, /^members\[1\]\.name: "node1" is not allowed; expected a name no other member has/],
    ["an address twice", { members: [members[0], { ...members[1], address: "192.0.2.21" }] }, /^members\[1\]\.address: "192.0.2.21" .*an address no other member has/],
    ["a member as its own quorum device", { members, quorumDeviceAddress: "192.0.2.22" }, /^quorumDeviceAddress: "192.0.2.22" .*not a cluster member/],
    ["a token of 60.5 s", { members, tokenMs: 60500 }, /^tokenMs: 60500 .*1000-60000/],
  ])("refuses %s, naming the field", (_what, p, message) => {
    expect(() => planHaCluster(p)).toThrow(message);
  });
});

describe("checkHaSection", () => {
  it("names the field and the allowed values", () => {
    expect(() => checkHaSection("ha", { quorumDevice: "witness" as never }, ["n1", "n2"])).toThrow(/^ha\.quorumDevice: "witness" is not allowed; expected "database" or "none"/);
    expect(() => checkHaSection("ha", {}, ["n1"])).toThrow(/^nodes: 1 is not allowed; expected at least two KVM nodes for ha/);
    expect(() => checkHaSection("ha", {}, ["n1", "n2"])).not.toThrow();
  });

  it("takes a drain of members, never all of them, naming the entry", () => {
    expect(() => checkHaSection("ha", { drain: ["n2"] }, ["n1", "n2"])).not.toThrow();
    expect(() => checkHaSection("ha", { drain: ["n3"] }, ["n1", "n2"])).toThrow(/^ha\.drain\[0\]: "n3" is not allowed; expected one of the cluster's members: n1, n2/);
    expect(() => checkHaSection("ha", { drain: ["n1", "n1"] }, ["n1", "n2", "n3"])).toThrow(/^ha\.drain\[1\]: "n1" .*not already listed/);
    expect(() => checkHaSection("ha", { drain: ["n1", "n2"] }, ["n1", "n2"])).toThrow(/^ha\.drain: .*fewer nodes than the cluster has/);
    expect(() => checkHaSection("ha", { drain: "n1" as never }, ["n1", "n2"])).toThrow(/^ha\.drain: "n1" .*a list of node names/);
  });
});

describe("renderCorosyncConf", () => {
  it("is accepted by the real corosync with a quorum device, and without one", () => {
    // corosync -t also finds the local host in the nodelist: here, as on a member, one member is this machine.
    const local = [{ name: "node1", address: "127.0.0.1" }, members[1]];
    for (const p of [planHaCluster({ members: local, quorumDeviceAddress: "192.0.2.30" }), planHaCluster({ members: local })]) {
      const r = corosyncAccepts(renderCorosyncConf(p));
      expect(r).toEqual({ status: 0, out: expect.any(String) });
    }
  });

  it("is refused by the real corosync when broken, so the check can fail", () => {
    const r = corosyncAccepts(renderCorosyncConf(planHaCluster({ members: [{ name: "node1", address: "127.0.0.1" }, members[1]] })).replace("nodelist {", "nodelist {{"));
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/parser error: .*Extra characters after opening bracket/);
  });

  it("numbers members in order, encrypts knet and uses two_node only for a pair without a quorum device", () => {
    const withDevice = renderCorosyncConf(planHaCluster({ members, quorumDeviceAddress: "192.0.2.30", tokenMs: 5000 }));
    expect(withDevice).toMatch(/name: node1\n\s+nodeid: 1\n\s+ring0_addr: 192\.0\.2\.21/);
    expect(withDevice).toMatch(/name: node2\n\s+nodeid: 2\n\s+ring0_addr: 192\.0\.2\.22/);
    expect(withDevice).toContain("crypto_cipher: aes256");
    expect(withDevice).toContain("token: 5000");
    expect(withDevice).toMatch(/model: net[\s\S]*host: 192\.0\.2\.30[\s\S]*algorithm: ffsplit/);
    expect(withDevice).not.toContain("two_node");
    expect(renderCorosyncConf(planHaCluster({ members }))).toContain("two_node: 1");
    const three = [...members, { name: "node3", address: "192.0.2.23" }];
    expect(renderCorosyncConf(planHaCluster({ members: three }))).not.toContain("two_node");
  });
});

describe("HA scripts", () => {
  it("pass shellcheck and never put the authkey on a command line", () => {
    const member = renderHaMemberScript(planHaCluster({ members, quorumDeviceAddress: "192.0.2.30" }));
    expect(shellcheck(member)).toBe("");
    expect(shellcheck(renderQnetdScript())).toBe("");
    // printf is a bash builtin: the key never shows in a process list.
    expect(member).toContain('printf \'%s\' "$authkey" > "$tmp"');
    expect(member).toContain("corosync -t -c");
  });

  it("with a fence client: reads its key from stdin's second line into a keyring, installs the agent before the device, and nothing without one", () => {
    const plain = renderHaMemberScript(planHaCluster({ members }));
    expect(plain).not.toContain("fence");
    const member = renderHaMemberScript(planHaCluster({ members, fenceClient: "kvmcloud-fence" }));
    expect(shellcheck(member)).toBe("");
    const order = ["read -r authkey", "read -r fence_key", "/etc/ceph/ceph.client.kvmcloud-fence.keyring", "/usr/sbin/fence_kvmcloud_ceph -o validate-all", "set_property stonith-enabled true", "cibadmin --modify --allow-create --scope resources"];
    const at = order.map((s) => member.indexOf(s));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(() => planHaCluster({ members, fenceClient: "client.x" })).toThrow(/^fenceClient: "client.x"/);
    expect(member).toContain("systemctl enable --now kvmcloud-fence-watch.timer");
  });

  it("with a quorum device: reads the qdevice link's CA and bundle after the authkey and before the fence key, and rebuilds the node database only when they change", () => {
    const member = renderHaMemberScript(planHaCluster({ members, quorumDeviceAddress: "192.0.2.30", fenceClient: "kvmcloud-fence" }));
    expect(shellcheck(member)).toBe("");
    const at = ["read -r authkey", "read -r qdevice_ca", "read -r qdevice_p12", "read -r fence_key", "corosync -t -c"].map((s) => member.indexOf(s));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(member).toMatch(/if ! cmp -s "\$new_ca" "\$kept_ca" .*then\n  rm -rf \/etc\/corosync\/qdevice\/net\/nssdb\n  corosync-qdevice-net-certutil -i -c "\$new_ca"/);
    const cert = renderQdeviceCertScript("kvmcloud");
    expect(shellcheck(cert)).toBe("");
    // Two lines on stdout, nothing else: everything before goes to stderr.
    expect(cert.indexOf("exec 3>&1 1>&2")).toBeLessThan(cert.indexOf("corosync-qnetd-certutil -s"));
    expect(renderCorosyncConf(planHaCluster({ members, quorumDeviceAddress: "192.0.2.30" }))).toContain("tls: required");
  });

  it("renders a fence watch that knows each member's address and passes shellcheck", () => {
    const watch = renderFenceWatch(planHaCluster({ members, fenceClient: "kvmcloud-fence" }));
    expect(shellcheck(watch)).toBe("");
    expect(watch).toContain("  node1) addr=192.0.2.21 ;;\n  node2) addr=192.0.2.22 ;;");
    // A fresh member (no unfenced mark) waits for the cluster: only a stale one restarts.
    expect(watch.indexOf("#node-unfenced")).toBeLessThan(watch.indexOf("systemctl restart pacemaker.service"));
  });
});
