import { ChildProcess, spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BridgeSetup } from "../../lib/kvm-node/bridge-config";
import { renderBridgeSetupScript } from "../../lib/kvm-node/bridge-script";
import { parseHostFacts, renderHostFactsScript } from "../../lib/kvm-node/node-script";

/**
 * The bridge-setup script run for real on a scratch "host": a network
 * namespace whose NIC is a veth to a "gateway" namespace, /etc/network a
 * directory of the test's, mounted in a private mount namespace. A TCP connection from the gateway to the host's address
 * (standing in for the SSH session that runs the script) must survive the
 * move; an unreachable gateway must put everything back. Needs root.
 * Namespaces are named h4a-br*-RUN; nothing of the lab is touched.
 */
// Unique per run: other sessions may run the unit tests on this machine at the same time.
const RUN = crypto.randomBytes(3).toString("hex");
const HOST = `h4a-brhost-${RUN}`;
const GW = `h4a-brgw-${RUN}`;
const NIC = `h4a-e${RUN}`;
const PEER = `h4a-g${RUN}`;
const BR = `h4a-b${RUN}`;
const isRoot = process.getuid?.() === 0;

function sh(cmd: string): { status: number | null; out: string } {
  const r = spawnSync("bash", ["-c", cmd], { encoding: "utf8", timeout: 60_000 });
  return { status: r.status, out: (r.stdout + r.stderr).trim() };
}

(isRoot ? describe : describe.skip)("bridge-setup script on a scratch host", () => {
  let dir: string;
  let server: ChildProcess | undefined;
  // The NIC's MAC as the node's facts command reads it (a veth's is random).
  let OPTS: BridgeSetup;

  const runScript = (opts: BridgeSetup, name: string) => {
    fs.writeFileSync(path.join(dir, `${name}.sh`), renderBridgeSetupScript(opts));
    return sh(`ip netns exec ${HOST} unshare -m --propagation private bash -c '
      set -euo pipefail
      mount -t overlay h4a -o lowerdir=/etc,upperdir=${dir}/etc-upper,workdir=${dir}/etc-work /etc
      mkdir -p /etc/network
      mount --bind ${dir}/etc-network /etc/network
      PATH=${dir}/bin:$PATH bash ${dir}/${name}.sh'`);
  };
  const addrOn = (dev: string) => sh(`ip -n ${HOST} -o -4 address show dev ${dev}`).out;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "h4a-bridge-"));
    fs.mkdirSync(path.join(dir, "bin"));
    // The host "has" every package (no apt here) and iputils' ping is busybox's.
    fs.writeFileSync(path.join(dir, "bin/dpkg-query"), "#!/bin/sh\necho 'install ok installed'\n", { mode: 0o755 });
    fs.writeFileSync(path.join(dir, "bin/ping"), '#!/bin/sh\nexec busybox ping "$@"\n', { mode: 0o755 });
    fs.mkdirSync(path.join(dir, "etc-network/interfaces.d"), { recursive: true });
    // /etc/network may not exist here: an overlay (private to the script's mount namespace) provides it.
    fs.mkdirSync(path.join(dir, "etc-upper"));
    fs.mkdirSync(path.join(dir, "etc-work"));
    fs.writeFileSync(path.join(dir, "etc-network/interfaces"), `source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n\nallow-hotplug ${NIC}\niface ${NIC} inet static\n    address 10.99.0.21/24\n    gateway 10.99.0.1\n`);
    const setup = sh(`set -e
      ip netns add ${HOST}; ip netns add ${GW}
      ip link add ${NIC} netns ${HOST} type veth peer name ${PEER} netns ${GW}
      ip -n ${HOST} link set lo up; ip -n ${HOST} link set ${NIC} up
      ip -n ${HOST} address add 10.99.0.21/24 dev ${NIC}; ip -n ${HOST} route add default via 10.99.0.1
      ip -n ${GW} link set lo up; ip -n ${GW} link set ${PEER} up; ip -n ${GW} address add 10.99.0.1/24 dev ${PEER}`);
    if (setup.status !== 0) throw new Error(`scratch namespaces: ${setup.out}`);
    fs.writeFileSync(path.join(dir, "facts.sh"), renderHostFactsScript(NIC));
    const facts = sh(`ip netns exec ${HOST} bash ${dir}/facts.sh`);
    if (facts.status !== 0) throw new Error(`facts: ${facts.out}`);
    OPTS = { backend: "ifupdown", bridge: BR, nic: NIC, address: "10.99.0.21", prefixLength: 24, gateway: "10.99.0.1", nicMac: parseHostFacts(facts.out).nicMac };
  });

  it("refuses to run with a MAC the NIC does not have, before it touches anything", () => {
    const r = runScript({ ...OPTS, nicMac: "52:54:00:00:00:01" }, "wrong-mac");
    expect(r.status).toBe(1);
    expect(r.out).toBe(`kvm-cloud: ${NIC} has MAC ${OPTS.nicMac}, but the node facts read 52:54:00:00:00:01: replace the facts command of the node (pulumi up --replace) to read it again`);
    expect(sh(`ip -n ${HOST} -o link show dev ${BR}`).status).not.toBe(0);
  });

  afterAll(() => {
    server?.kill();
    sh(`ip netns del ${HOST}; ip netns del ${GW}`);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("puts everything back when the gateway does not answer over the bridge", () => {
    const r = runScript({ ...OPTS, gateway: "10.99.0.254" }, "bad-gw");
    expect(r.status).toBe(1);
    expect(r.out).toContain(`gateway 10.99.0.254 unreachable over ${BR}; moved 10.99.0.21/24 back to ${NIC}`);
    expect(addrOn(NIC)).toContain("inet 10.99.0.21/24");
    expect(addrOn(BR)).toBe("");
    expect(sh(`ip -n ${HOST} -o link show dev ${NIC}`).out).not.toContain("master");
    // Files are written only after a successful move.
    expect(fs.existsSync(path.join(dir, `etc-network/interfaces.d/kvmcloud-${BR}`))).toBe(false);
  });

  it("moves the address onto the bridge while a TCP session to it keeps flowing", async () => {
    const echo = "require('net').createServer((s) => s.pipe(s)).listen(7777, '10.99.0.21')";
    server = spawn("ip", ["netns", "exec", HOST, process.execPath, "-e", echo], { stdio: "ignore" });
    await new Promise((r) => setTimeout(r, 700));
    // Sends a stamp every 10 ms for 4 s and reports the longest wait between echoes.
    const client = `
      const s = require('net').connect(7777, '10.99.0.21');
      let last = Date.now(), maxGap = 0, got = 0, sent = 0, error = '';
      s.on('data', (d) => { const n = Date.now(); maxGap = Math.max(maxGap, n - last); last = n; got += d.length; });
      s.on('error', (e) => { error = e.message; });
      const t = setInterval(() => { if (!error) { s.write('x'); sent++; } }, 10);
      setTimeout(() => { clearInterval(t); setTimeout(() => { console.log(JSON.stringify({ sent, got, maxGap, error })); process.exit(0); }, 300); }, 4000);`;
    const measuring = new Promise<string>((resolve) => {
      const c = spawn("ip", ["netns", "exec", GW, process.execPath, "-e", client], { stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      c.stdout!.on("data", (d) => (out += d));
      c.on("exit", () => resolve(out));
    });
    await new Promise((r) => setTimeout(r, 1000));
    const r = runScript(OPTS, "good");
    const m = JSON.parse(await measuring) as { sent: number; got: number; maxGap: number; error: string };
    expect(r).toEqual({ status: 0, out: "" });
    expect(m.error).toBe("");
    expect(m.got).toBe(m.sent);
    // Recorded in the report: the longest pause the session saw during the move.
    console.log(`bridge move: TCP session kept, ${m.sent} echoes, longest gap ${m.maxGap} ms`);
    expect(m.maxGap).toBeLessThan(1000);
    expect(addrOn(BR)).toContain("inet 10.99.0.21/24");
    expect(addrOn(NIC)).toBe("");
    expect(sh(`ip -n ${HOST} -o link show dev ${NIC}`).out).toContain(`master ${BR}`);
    expect(sh(`ip -n ${HOST} route show default`).out).toBe(`default via 10.99.0.1 dev ${BR}`);
    // The bridge carries the NIC's MAC, so the neighbours' ARP entries stay right.
    expect(sh(`ip -n ${HOST} -o link show dev ${BR}`).out).toContain(sh(`ip -n ${HOST} -o link show dev ${NIC} | grep -o 'link/ether [0-9a-f:]*'`).out);
  }, 20_000);

  it("makes it permanent for ifupdown: NIC stanza commented out, bridge file written", () => {
    const main = fs.readFileSync(path.join(dir, "etc-network/interfaces"), "utf8");
    expect(main).toContain(`# kvm-cloud (now a bridge port): allow-hotplug ${NIC}\n# kvm-cloud (now a bridge port): iface ${NIC} inet static\n# kvm-cloud (now a bridge port):     address 10.99.0.21/24`);
    expect(main).toContain("auto lo\niface lo inet loopback\n");
    expect(fs.readFileSync(path.join(dir, "etc-network/interfaces.kvmcloud-orig"), "utf8")).toContain(`iface ${NIC} inet static`);
    const file = fs.readFileSync(path.join(dir, `etc-network/interfaces.d/kvmcloud-${BR}`), "utf8");
    expect(file).toContain(`bridge_ports ${NIC}`);
    // The next boot gives the bridge the MAC the move gave it.
    expect(file).toContain(`    hwaddress ${OPTS.nicMac}\n`);
  });

  it("gives a bridge that booted with another MAC the NIC's again", () => {
    expect(sh(`ip -n ${HOST} link set dev ${BR} address 52:54:00:00:00:02`).status).toBe(0);
    const r = runScript(OPTS, "re-pin");
    expect(r).toEqual({ status: 0, out: `kvm-cloud: 10.99.0.21/24 is already on ${BR}` });
    expect(sh(`ip netns exec ${HOST} cat /sys/class/net/${BR}/address`).out).toBe(OPTS.nicMac);
  });

  it("changes nothing on a second run", () => {
    const before = fs.readFileSync(path.join(dir, "etc-network/interfaces"), "utf8");
    const r = runScript(OPTS, "again");
    expect(r).toEqual({ status: 0, out: `kvm-cloud: 10.99.0.21/24 is already on ${BR}` });
    expect(fs.readFileSync(path.join(dir, "etc-network/interfaces"), "utf8")).toBe(before);
  });
});
