import { ChildProcess, spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readLabDescription } from "../../lab/description";
import { run } from "../../lab/exec";
import { labCloudConfig } from "../../lab/lab-stack";
import { SWITCH_BRIDGE, SWITCH_NS } from "../../lab/topology";
import { DEFAULT_LEASE_FILE } from "../../components/dnsmasq-server";
import { dnsmasqSettings } from "../../lib/cloud/cloud-config";
import { DEFAULT_DHCP_HOSTS_DIR, renderDnsmasqConf } from "../../lib/dnsmasq/dnsmasq-conf";
import { parseDnsmasqLeases } from "../../lib/dnsmasq/leases";
import { ipToInt } from "../../lib/core/network";
import { assertInManagerNamespace } from "../helpers/lab-client";
import { onDns } from "../helpers/service-hosts";

/**
 * The lab's dnsmasq (the DnsmasqServer component on the bare host `dns`),
 * running the text renderDnsmasqConf renders, hands a
 * fresh client a lease inside the configured range with the router, DNS
 * server and domain it was given, records it in the lease file and serves
 * the client's name under the domain (expand-hosts + dhcp-fqdn). The client
 * is busybox udhcpc on a veth in a temporary namespace plugged into the lab
 * switch; it releases its lease (checked) and the namespace is deleted.
 */
jest.setTimeout(120_000);

const d = readLabDescription();
const RUN = crypto.randomBytes(3).toString("hex");
const NS = `h4a-dhcp-${RUN}`;
const SW_END = `h4a-s${RUN}`;
const CLIENT_END = `h4a-c${RUN}`;
const MAC = `52:54:00:${RUN.match(/../g)!.join(":")}`;
const HOSTNAME = `h4a-probe-${RUN}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "h4a-dhcp-"));
const hook = path.join(tmp, "udhcpc.sh");
let client: ChildProcess | undefined;
let clientLog = "";

/** The lease file on the dns host, as the provider reads it. */
async function leases() {
  return parseDnsmasqLeases((await onDns(d, ["cat", d.dhcp.leaseFile])).stdout);
}

/**
 * udhcpc in the foreground of a child process, kept running: with -q it exits
 * without a proper release, so it is released with SIGUSR2 instead.
 */
function startClient(): void {
  client = spawn("ip", ["netns", "exec", NS, "busybox", "udhcpc", "-i", CLIENT_END, "-f", "-t", "5", "-T", "2", "-x", `hostname:${HOSTNAME}`, "-s", hook], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  client.stdout!.on("data", (b) => (clientLog += b));
  client.stderr!.on("data", (b) => (clientLog += b));
}

async function waitFor(what: string, pred: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; udhcpc said:\n${clientLog}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function releaseAndStop(): Promise<void> {
  if (!client || client.exitCode !== null) return;
  client.kill("SIGUSR2");
  await waitFor("the release", () => clientLog.includes("entering released state"), 5000).catch(() => undefined);
  const exited = new Promise((r) => client!.once("exit", r));
  client.kill("SIGTERM");
  await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
}

let lease: Record<string, string> = {};

beforeAll(async () => {
  assertInManagerNamespace(d);
  // udhcpc calls this hook with the lease in its environment: it reports the
  // lease and puts the address on the veth (a release must come from it).
  fs.writeFileSync(
    hook,
    [
      "#!/bin/sh",
      'case "$1" in',
      '  bound|renew) ip address flush dev "$interface"; ip address add "$ip/$mask" dev "$interface"; echo "lease ip=$ip router=$router dns=$dns domain=$domain" ;;',
      '  deconfig) ip address flush dev "$interface" ;;',
      "esac",
      "exit 0",
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  await run(["ip", "netns", "add", NS]);
  await run(["ip", "-n", SWITCH_NS, "link", "add", SW_END, "type", "veth", "peer", "name", CLIENT_END, "netns", NS]);
  await run(["ip", "-n", SWITCH_NS, "link", "set", SW_END, "master", SWITCH_BRIDGE, "up"]);
  await run(["ip", "-n", NS, "link", "set", "lo", "up"]);
  await run(["ip", "-n", NS, "link", "set", CLIENT_END, "address", MAC, "up"]);
});

afterAll(async () => {
  await releaseAndStop();
  client?.kill("SIGKILL");
  const left = (await leases().catch(() => [])).filter((e) => e.mac === MAC);
  if (left.length > 0) {
    console.warn(`h4a-dhcp: lease of ${MAC} still in ${d.dhcp.leaseFile} after release`);
  }
  await run(["ip", "-n", SWITCH_NS, "link", "del", SW_END], { allowFail: true });
  await run(["ip", "netns", "del", NS], { allowFail: true });
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("the lab's dnsmasq with the rendered config", () => {
  it("runs exactly the text the renderer makes from the lab's stack config", async () => {
    const c = labCloudConfig();
    const expected = renderDnsmasqConf({ ...dnsmasqSettings({ dns: c.dns!, network: c.network! }), leaseTime: c.network!.leaseTime ?? "12h", leaseFile: DEFAULT_LEASE_FILE, hostsDir: DEFAULT_DHCP_HOSTS_DIR, authoritative: true });
    expect((await onDns(d, ["cat", "/etc/dnsmasq.d/kvmcloud.conf"])).stdout).toBe(expected);
    expect(d.dhcp.leaseFile).toBe(DEFAULT_LEASE_FILE);
  });

  it("leases a fresh client an address inside the range, with router, DNS and domain", async () => {
    startClient();
    await waitFor("a lease", () => clientLog.split("\n").some((l) => l.startsWith("lease ")), 30_000);
    const line = clientLog.split("\n").find((l) => l.startsWith("lease "));
    lease = Object.fromEntries(line!.slice(6).split(" ").map((kv) => kv.split("=") as [string, string]));
    expect(ipToInt(lease.ip)).toBeGreaterThanOrEqual(ipToInt(d.dhcp.rangeStart));
    expect(ipToInt(lease.ip)).toBeLessThanOrEqual(ipToInt(d.dhcp.rangeEnd));
    expect(lease.router).toBe(d.dhcp.host);
    expect(lease.dns).toBe(d.dhcp.host);
    expect(lease.domain).toBe(d.dhcp.domain);
  });

  it("records the lease with the client's MAC and hostname in the lease file", async () => {
    const entries = await leases();
    expect(entries.find((e) => e.mac === MAC)).toMatchObject({ ip: lease.ip, hostname: HOSTNAME });
    for (const e of entries) {
      // Every dynamic lease the lab handed out so far is inside the range too.
      expect(ipToInt(e.ip) >= ipToInt(d.dhcp.rangeStart) && ipToInt(e.ip) <= ipToInt(d.dhcp.rangeEnd)).toBe(true);
    }
  });

  it("answers DNS for the client's name under the domain", async () => {
    const r = await run(["busybox", "nslookup", `${HOSTNAME}.${d.dhcp.domain}`, d.dhcp.host], { timeoutMs: 10_000, allowFail: true });
    expect(r.stdout).toContain(lease.ip);
  });

  it("takes the lease back when the client releases it", async () => {
    await releaseAndStop();
    expect(clientLog).toContain(`unicasting a release of ${lease.ip}`);
    const deadline = Date.now() + 5000;
    let still = true;
    while (still && Date.now() < deadline) {
      still = (await leases()).some((e) => e.mac === MAC);
      if (still) await new Promise((res) => setTimeout(res, 200));
    }
    expect(still).toBe(false);
  });
});
