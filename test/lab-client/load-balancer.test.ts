import { ChildProcess, spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { readLabDescription } from "../../lab/description";
import { run, waitFor } from "../../lab/exec";
import { buildSeedImage } from "../../lab/guest-image";
import { leaseForMac, parseDnsmasqLeases } from "../../lib/dnsmasq/leases";
import { renderMetaData, renderUserData } from "../../lib/vm/cloud-init";
import { consoleLogPath, renderDomainXml } from "../../lib/vm/domain-xml";
import { renderHaproxyCfg } from "../../lib/haproxy/haproxy-cfg";
import { assertInManagerNamespace, httpGet, nodeUri, rbdOnNode, ssh, virsh } from "../helpers/lab-client";

/**
 * A real HAProxy, with a config from lib/haproxy/haproxy-cfg.ts, in front of
 * two tiny guests made by hand (one per node): answers alternate between the
 * guests' hostnames (round robin); after one guest is destroyed, the health
 * check takes it out and every answer comes from the other. HAProxy runs in
 * the manager namespace, started and killed by this test.
 */

jest.setTimeout(10 * 60_000);

const d = readLabDescription();
const tag = crypto.randomBytes(3).toString("hex");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "h4b-lb-"));
const mgrAddress = d.hosts.mgr.address;
// Ports unlikely to collide with another test's listener in the manager namespace.
const frontPort = 20000 + crypto.randomInt(0, 10000);
const statsPort = frontPort + 10000;

interface Guest {
  readonly name: string;
  readonly node: string;
  readonly mac: string;
  ip: string;
}

const guests: Guest[] = ["a", "b"].map((s, i) => ({
  name: `h4b-lb-${tag}-${s}`,
  node: d.nodes[i % d.nodes.length].name,
  mac: `52:54:00:${crypto.randomBytes(3).toString("hex").match(/../g)!.join(":")}`,
  ip: "",
}));
let haproxy: ChildProcess | undefined;

async function leaseOf(g: Guest) {
  const r = await ssh(d, d.dhcp.host, ["cat", d.dhcp.leaseFile]);
  return leaseForMac(parseDnsmasqLeases(r.stdout), g.mac, Date.now() / 1000);
}

async function startGuest(g: Guest): Promise<void> {
  await rbdOnNode(d, g.node, ["clone", d.baseImage.spec, `${d.ceph.pool}/${g.name}-root`]);
  const seed = path.join(tmp, `${g.name}-seed.iso`);
  await buildSeedImage(seed, {
    metaData: renderMetaData({ instanceId: g.name, hostname: g.name }),
    userData: renderUserData({ hostname: g.name, sshAuthorizedKeys: [d.ssh.publicKey] }),
  });
  await rbdOnNode(d, g.node, ["import", "--no-progress", "-", `${d.ceph.pool}/${g.name}-seed`], { input: fs.readFileSync(seed) });
  const xml = path.join(tmp, `${g.name}.xml`);
  fs.writeFileSync(
    xml,
    renderDomainXml({
      name: g.name, domainType: "qemu", vcpus: 1, memoryMiB: 192, mac: g.mac, bridge: "br0",
      rbd: { pool: d.ceph.pool, monitors: d.ceph.monitors, clientName: d.ceph.clientName, secretUuid: d.ceph.secretUuid },
      diskImage: `${g.name}-root`, seedImage: `${g.name}-seed`,
    }),
  );
  const uri = nodeUri(d, g.node);
  await run(virsh(uri, "define", xml));
  await run(virsh(uri, "start", g.name));
  g.ip = (await waitFor(`a DHCP lease for ${g.name}`, () => leaseOf(g), 180_000, 500)).ip;
  try {
    await waitFor(`${g.name} answering HTTP`, async () => ((await httpGet(g.ip).catch(() => undefined))?.body.trim() === g.name ? true : undefined), 60_000, 500);
  } catch (e) {
    // What the guest said and what libvirt thinks of it: the cause, when a TCG guest leases and then goes silent.
    const host = d.nodes.find((n) => n.name === g.node)!.sshHost;
    const state = await ssh(d, host, ["virsh", "-q", "-c", "qemu:///system", "domstate", "--reason", g.name], { allowFail: true });
    const console = await ssh(d, host, ["tail", "-n", "25", consoleLogPath(g.name)], { allowFail: true });
    throw new Error(`${(e as Error).message} (leased ${g.ip} on ${g.node}; domstate: ${state.stdout.trim()}; console tail:\n${console.stdout}${console.stderr})`);
  }
}

function get(port: number, p = "/"): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: mgrAddress, port, path: p, timeout: 3000 }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve(body));
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${p} timed out`)));
    req.on("error", reject);
  });
}

async function activeServers(): Promise<number | undefined> {
  const m = (await get(statsPort, "/metrics").catch(() => "")).match(/^haproxy_backend_active_servers\{proxy="web"\} (\d+)$/m);
  return m ? Number(m[1]) : undefined;
}

async function answers(n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push((await get(frontPort)).trim());
  return out;
}

beforeAll(async () => {
  assertInManagerNamespace(d);
  await Promise.all(guests.map(startGuest));
  const cfg = path.join(tmp, "haproxy.cfg");
  fs.writeFileSync(
    cfg,
    renderHaproxyCfg({
      frontends: [
        {
          name: "web",
          bindAddress: mgrAddress,
          port: frontPort,
          servers: guests.map((g) => ({ name: g.name, address: g.ip, port: 80 })),
          healthCheck: { httpPath: "/", intervalMs: 500, rise: 1, fall: 2 },
        },
      ],
      stats: { bindAddress: mgrAddress, port: statsPort },
    }),
  );
  await run(["haproxy", "-c", "-q", "-f", cfg]);
  haproxy = spawn("haproxy", ["-db", "-f", cfg], { stdio: "ignore" });
  await waitFor("both backends up in HAProxy", async () => ((await activeServers()) === 2 ? true : undefined), 30_000, 250);
});

afterAll(async () => {
  if (haproxy?.exitCode === null) haproxy.kill("SIGKILL");
  for (const g of guests) {
    const uri = nodeUri(d, g.node);
    await run(virsh(uri, "destroy", g.name), { allowFail: true });
    await run(virsh(uri, "undefine", g.name), { allowFail: true });
    await rbdOnNode(d, g.node, ["rm", "--no-progress", `${d.ceph.pool}/${g.name}-root`], { allowFail: true });
    await rbdOnNode(d, g.node, ["rm", "--no-progress", `${d.ceph.pool}/${g.name}-seed`], { allowFail: true });
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("HAProxy with a rendered config in front of two lab guests", () => {
  it("alternates between the two guests (round robin)", async () => {
    const got = await answers(10);
    expect(new Set(got)).toEqual(new Set(guests.map((g) => g.name)));
    for (let i = 1; i < got.length; i++) expect(got[i]).not.toBe(got[i - 1]);
  });

  it("takes a destroyed guest out by its health check; every answer then comes from the other", async () => {
    const [stays, goes] = guests;
    await run(virsh(nodeUri(d, goes.node), "destroy", goes.name));
    const t0 = Date.now();
    await waitFor(`HAProxy to mark ${goes.name} down`, async () => ((await activeServers()) === 1 ? true : undefined), 30_000, 250);
    process.stdout.write(`  backend taken out ${((Date.now() - t0) / 1000).toFixed(1)} s after virsh destroy\n`);
    expect(await answers(10)).toEqual(Array(10).fill(stays.name));
  });
});
