import * as fs from "fs";
import { readLabDescription } from "../../lab/description";
import { output, run } from "../../lab/exec";
import { labDown } from "../../lab/lab-down";
import { labStatus } from "../../lab/lab-status";
import { labUp } from "../../lab/lab-up";
import { daemonsIn, processAlive } from "../../lab/host-exec";
import { labNamespaces } from "../../lab/netns";
import { labPaths } from "../../lab/paths";
import { hostByName, HOSTS, nicMac } from "../../lab/topology";

/**
 * The lab from nothing: it comes up, every part passes its health probe, a
 * second run changes nothing, and a lab half-killed is mended. Runs as root in
 * the root namespace; it only creates namespaces and never talks to a lab
 * address from here (status probes run inside the lab's namespaces).
 */

jest.setTimeout(15 * 60_000);

const p = labPaths();
const log = (s: string) => process.stdout.write(`  [lab] ${s}\n`);

async function pidsIn(ns: string): Promise<string[]> {
  return (await output(["ip", "netns", "pids", ns], { allowFail: true })).split("\n").filter((s) => /^\d+$/.test(s)).sort();
}

const DAEMONS = new Set(["dnsmasq", "sshd", "postgres", "redis-server", "ceph-mon", "ceph-mgr", "ceph-osd", "libvirtd", "virtlogd", "prometheus", "prometheus-node"]);

/** The lab's resident daemons in a namespace as "comm:pid" (not their short-lived workers, e.g. postgres backends). */
function daemonsOf(ns: string): string[] {
  return daemonsIn(ns, DAEMONS).map((x) => `${x.comm}:${x.pid}`).sort();
}

async function unhealthy(): Promise<string[]> {
  return (await labStatus(p)).filter((s) => !s.ok).map((s) => `${s.part}: ${s.detail}`);
}

describe("lab:up", () => {
  beforeAll(async () => {
    await labDown(log, p);
  });

  it("starts from nothing", async () => {
    expect(await labNamespaces()).toEqual([]);
    expect(fs.existsSync(p.state)).toBe(false);
  });

  it("comes up with every part healthy", async () => {
    const t0 = Date.now();
    await labUp(log, p);
    log(`first lab:up took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const status = await labStatus(p);
    expect(status.length).toBeGreaterThanOrEqual(15);
    expect(status.filter((s) => !s.ok)).toEqual([]);
    expect((await labNamespaces()).sort()).toEqual([...HOSTS.map((h) => h.ns), "kcl-sw"].sort());
  });

  it("writes a description that names every part", () => {
    const d = readLabDescription(p.description);
    expect(d.nodes.map((n) => n.name)).toEqual(["node1", "node2"]);
    expect(d.ceph.monitors).toHaveLength(3);
    expect(d.ceph.secretUuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(d.inventory.postgresUrl).toMatch(/^postgres:\/\//);
    expect(d.inventory.redisUrl).toMatch(/^redis:\/\//);
    expect(d.baseImage.spec).toBe("libvirt-pool/kvmcloud-tiny@base");
    expect(fs.existsSync(d.ssh.privateKeyPath)).toBe(true);
    expect(fs.statSync(p.description).mode & 0o077).toBe(0);
  });

  it("is idempotent: a second run keeps every daemon as it was", async () => {
    const before = HOSTS.map((h) => daemonsOf(h.ns));
    expect(before.flat().length).toBeGreaterThanOrEqual(14);
    const t0 = Date.now();
    await labUp(log, p);
    const seconds = (Date.now() - t0) / 1000;
    log(`second lab:up took ${seconds.toFixed(1)} s`);
    const after = HOSTS.map((h) => daemonsOf(h.ns));
    expect(after).toEqual(before);
    expect(seconds).toBeLessThan(60);
  });

  it("mends a half-killed lab", async () => {
    // What a killed run or a crash leaves: dead daemons with pid files and
    // sockets behind, and a namespace gone.
    // dnsmasq and Redis on the bare hosts run under systemd, which restarts them (the components ask for it): the hosts' own mend.
    for (const [ns, comm] of [["kcl-dns", "dnsmasq"], ["kcl-db", "redis-server"]]) {
      const found = daemonsOf(ns).filter((x) => x.startsWith(`${comm}:`));
      expect(found).toHaveLength(1);
      await run(["kill", "-KILL", found[0].split(":")[1]]);
    }
    // Short-lived processes (an SSH session of a scrape) may exit between the listing and the kill.
    for (const pid of await pidsIn("kcl-node2")) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e;
      }
    }
    await run(["ip", "netns", "del", "kcl-mgr"]);
    // Namespaces deleted under running daemons: they live on, unreachable.
    const strays = [...daemonsOf("kcl-node1"), ...daemonsOf("kcl-dns")].map((x) => Number(x.split(":")[1]));
    await run(["ip", "netns", "del", "kcl-node1"]);
    await run(["ip", "netns", "del", "kcl-dns"]);
    const broken = await unhealthy();
    expect(broken.length).toBeGreaterThanOrEqual(5);
    await labUp(log, p);
    expect(await unhealthy()).toEqual([]);
    expect(strays.length).toBeGreaterThanOrEqual(4);
    expect(strays.filter((pid) => processAlive(pid))).toEqual([]);
    // Both nodes booted again from KvmNode's files (node1 on a new namespace): br0 came back with the NIC's MAC.
    for (const n of ["node1", "node2"]) {
      const mac = async (dev: string) => (await output(["ip", "netns", "exec", `kcl-${n}`, "cat", `/sys/class/net/${dev}/address`])).trim();
      expect([n, await mac("br0")]).toEqual([n, nicMac(hostByName(n))]);
      expect(await mac("eth0")).toBe(nicMac(hostByName(n)));
    }
  });
});
