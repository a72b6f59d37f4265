import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BLOCKLIST_SECONDS, renderFenceAgent, renderFenceAgentMetadata } from "../../lib/ha/fence-agent";
import { renderFenceDevicePrimitive } from "../../lib/ha/fence-device";
import { fenceClientCaps, renderFenceClientScript } from "../../lib/ha/fence-client";
import { asArray, parseXml, XmlNode } from "../../lib/core/xml";
import { shellcheck } from "../helpers/shellcheck";

/**
 * The fence agent as Pacemaker's fencer runs it (key=value lines on stdin),
 * over a stand-in `ceph` that keeps a blocklist in a file: the protocol, the
 * exit codes and the daemon's errors. The real Ceph is the lab test's.
 */

const FAKE_CEPH = `#!/bin/bash
echo "$*" >> "$FAKE_DIR/calls"
[ -n "\${FAKE_CEPH_ERROR:-}" ] && { echo "$FAKE_CEPH_ERROR" >&2; exit 13; }
while [ "$1" != osd ]; do shift; done
touch "$FAKE_DIR/blocklist"
case "$3" in
  add) echo "$4 2036-11-29T00:00:00.000000+0000" >> "$FAKE_DIR/blocklist"; echo "blocklisting $4" >&2 ;;
  rm) grep -v "^$4 " "$FAKE_DIR/blocklist" > "$FAKE_DIR/b2"; mv "$FAKE_DIR/b2" "$FAKE_DIR/blocklist"; echo "un-blocklisting $4" >&2 ;;
  ls) sed "s/^/\${FAKE_PREFIX:-}/" "$FAKE_DIR/blocklist"; echo "listed $(wc -l < "$FAKE_DIR/blocklist") entries" >&2 ;;
esac
`;

let dir: string;
let agent: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "fence-agent-"));
  fs.mkdirSync(path.join(dir, "bin"));
  fs.writeFileSync(path.join(dir, "bin", "ceph"), FAKE_CEPH, { mode: 0o755 });
  agent = path.join(dir, "fence_kvmcloud_ceph");
  fs.writeFileSync(agent, renderFenceAgent(), { mode: 0o755 });
  fs.writeFileSync(path.join(dir, "keyring"), "[client.kvmcloud-fence]\n\tkey = x\n");
});

afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function fence(stdin: Record<string, string>, env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const input = Object.entries({ keyring: path.join(dir, "keyring"), ...stdin }).map(([k, v]) => `${k}=${v}\n`).join("");
  const r = spawnSync(agent, [], { input, encoding: "utf8", timeout: 20_000, env: { PATH: `${dir}/bin:/usr/bin:/bin`, FAKE_DIR: dir, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const calls = () => (fs.existsSync(path.join(dir, "calls")) ? fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n") : []);

describe("fence_kvmcloud_ceph", () => {
  it("passes shellcheck", () => {
    expect(shellcheck(renderFenceAgent())).toEqual("");
  });

  it("blocklists the node's every Ceph client on off, as its own cephx user, and reports it OFF", () => {
    expect(fence({ action: "off", plug: "192.0.2.22" }).status).toBe(0);
    expect(calls()[0]).toMatch(new RegExp(`--id kvmcloud-fence --keyring ${dir}/keyring osd blocklist add 192\\.0\\.2\\.22:0/0 ${BLOCKLIST_SECONDS}$`));
    expect(calls()[0]).toMatch(/^--connect-timeout \d+ -c \/etc\/ceph\/ceph\.conf /);
    const s = fence({ action: "status", port: "192.0.2.22" });
    expect([s.status, s.stdout.trim()]).toEqual([2, "Status: OFF"]);
    // Another node stays on.
    expect(fence({ action: "status", plug: "192.0.2.21" }).status).toBe(0);
  });

  it("treats reboot as off: cutting storage off cannot power-cycle a host", () => {
    expect(fence({ action: "reboot", plug: "192.0.2.22" }).status).toBe(0);
    expect(fence({ action: "status", plug: "192.0.2.22" }).status).toBe(2);
  });

  it("removes the entry on on (unfencing), and reads a type prefix in the list (any:ADDR)", () => {
    fence({ action: "off", plug: "192.0.2.22" });
    expect(fence({ action: "status", plug: "192.0.2.22" }, { FAKE_PREFIX: "any:" }).status).toBe(2);
    expect(fence({ action: "on", plug: "192.0.2.22" }).status).toBe(0);
    expect(calls()).toContainEqual(expect.stringMatching(/osd blocklist rm 192\.0\.2\.22:0\/0$/));
    const s = fence({ action: "status", plug: "192.0.2.22" });
    expect([s.status, s.stdout.trim()]).toEqual([0, "Status: ON"]);
  });

  it("fails with the daemon's own words when Ceph refuses, and status then fails rather than guessing", () => {
    const off = fence({ action: "off", plug: "192.0.2.22" }, { FAKE_CEPH_ERROR: "Error EACCES: access denied" });
    expect(off.status).toBe(1);
    expect(off.stderr).toContain("osd blocklist add 192.0.2.22:0/0: Error EACCES: access denied");
    const s = fence({ action: "status", plug: "192.0.2.22" }, { FAKE_CEPH_ERROR: "timed out" });
    expect(s.status).toBe(1);
    expect(s.stderr).toContain("cannot read the blocklist as client.kvmcloud-fence");
  });

  it.each([
    [{ action: "off", plug: "node2" }, /plug 'node2' is not an IPv4 address/],
    [{ action: "off", plug: "1.2.3.4; rm -rf /" }, /is not an IPv4 address/],
    [{ action: "off", plug: "192.0.2.22", ceph_id: "a b" }, /ceph_id 'a b' is not a cephx user name/],
    [{ action: "cycle", plug: "192.0.2.22" }, /action 'cycle' is not one of on, off, reboot, status, monitor, list, metadata, validate-all/],
  ])("refuses %j before calling Ceph", (args, message) => {
    const r = fence(args);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(calls()).toEqual([]);
  });

  it("monitor fails when Ceph does not answer, validate-all when the keyring is missing", () => {
    expect(fence({ action: "monitor" }).status).toBe(0);
    expect(fence({ action: "monitor" }, { FAKE_CEPH_ERROR: "timed out" }).status).toBe(1);
    expect(fence({ action: "validate-all", keyring: path.join(dir, "none") }).stderr).toMatch(/no keyring at .*none/);
  });

  it("takes -o/-n on the command line too, as the fence-agents tools do", () => {
    const r = spawnSync(agent, ["-o", "off", "-n", "192.0.2.23", `--keyring=${dir}/keyring`], { encoding: "utf8", env: { PATH: `${dir}/bin:/usr/bin:/bin`, FAKE_DIR: dir } });
    expect(r.status).toBe(0);
    expect(fs.readFileSync(path.join(dir, "blocklist"), "utf8")).toMatch(/^192\.0\.2\.23:0\/0 /);
  });

  it("prints metadata in which on is automatic (unfencing), through the agent itself", () => {
    const r = fence({ action: "metadata" });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(renderFenceAgentMetadata());
    const doc = parseXml(r.stdout)["resource-agent"] as XmlNode;
    const actions = asArray((doc.actions as XmlNode).action as XmlNode[]);
    expect(actions.find((a) => a["@_name"] === "on")?.["@_automatic"]).toBe("1");
    expect(asArray((doc.parameters as XmlNode).parameter as XmlNode[]).map((p) => p["@_name"])).toEqual(["action", "plug", "port", "ceph_id", "keyring", "ceph_conf"]);
  });
});

describe("the fence device and its cephx user", () => {
  const members = [
    { name: "node1", address: "192.0.2.21" },
    { name: "node2", address: "192.0.2.22" },
  ];

  it("is a primitive Pacemaker's own crm_verify accepts in a CIB", () => {
    const primitive = renderFenceDevicePrimitive({ members, clientName: "kvmcloud-fence" });
    expect(primitive).toContain('name="pcmk_host_map" value="node1:192.0.2.21;node2:192.0.2.22"');
    expect(primitive).toContain('name="provides" value="unfencing"');
    const cib = `<cib crm_feature_set="3.16.2" validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration><crm_config/><nodes/><resources>${primitive}</resources><constraints/></configuration><status/></cib>`;
    const file = path.join(dir, "cib.xml");
    fs.writeFileSync(file, cib);
    const r = spawnSync("crm_verify", ["--xml-file", file], { encoding: "utf8", timeout: 30_000 });
    expect(r.stderr).not.toMatch(/error|invalid/i);
    expect(r.status).toBe(0);
  });

  it("refuses a member address that is not IPv4, and a client name with client.", () => {
    expect(() => renderFenceDevicePrimitive({ members: [{ name: "node1", address: "node1.lan" }], clientName: "kvmcloud-fence" })).toThrow(/^members\[0\]\.address: "node1.lan"/);
    expect(() => renderFenceClientScript("client.fence")).toThrow(/^clientName: "client.fence" .*without the client. prefix/);
  });

  it("gives its user only the blocklist command, and prints nothing but the key", () => {
    expect(fenceClientCaps()).toEqual({ mon: 'allow r, allow command "osd blocklist"' });
    const script = renderFenceClientScript("kvmcloud-fence");
    expect(shellcheck(script)).toEqual("");
    expect(script).toContain("ceph auth get-key client.kvmcloud-fence >&3");
  });
});
