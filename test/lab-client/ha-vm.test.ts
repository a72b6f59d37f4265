import * as crypto from "crypto";
import { cloudSpecFromLab } from "../../lab/cloud-spec";
import { readLabDescription } from "../../lab/description";
import { killHost, mendLab } from "../../lab/node-loss";
import { watchAnswers } from "../../lab/http-probe";
import { haRunningOn, onLabNode } from "../../lab/ha-ops";
import { haDomainConfigPath, vmResourceId } from "../../lib/ha/virtual-domain";
import { httpGet, ssh } from "../helpers/lab-client";
import { labProviderHostForSuite } from "../helpers/lab-provider-host";
import { eventually, inventoryRow, leftovers, nodesWithDomain, redisGet, scrub, withPg } from "../helpers/vm-lab";

/**
 * An `ha` VM through Pulumi's dynamic-provider host: Pacemaker owns it (a
 * VirtualDomain resource). It starts on the node asked for, moves live when
 * `node` changes, and when its node is killed outright (every process of the
 * host, its QEMU included) it runs again on the survivor at the same address
 * once the dead node is fenced (its address in Ceph's OSD blocklist). The
 * node brought back is unfenced and rejoins, and the VM then runs on exactly
 * one node; delete leaves no resource, file, domain, image, row or key.
 * Pacemaker's alert agent keeps the inventory in line: the start, the move,
 * the fence and the restart on the survivor are logged, and the row and the
 * Redis key follow the VM without any provider call.
 */

jest.setTimeout(25 * 60_000);

const d = readLabDescription();
const cloud = cloudSpecFromLab(d);
const name = `havm-${crypto.randomBytes(3).toString("hex")}`;
const [first, second] = d.nodes.map((n) => n.name);
const address = (node: string) => d.nodes.find((n) => n.name === node)!.sshHost;
let props: Record<string, unknown> = {};

const on = async (node: string, argv: readonly string[]) => (await onLabNode(d, node, argv)).out;
/** Where Pacemaker runs the VM, asked on `node`. */
const runningOn = (node: string) => haRunningOn(d, node, name);

async function blocklist(): Promise<string[]> {
  const text = await on(first, ["ceph", "--id", "kvmcloud-fence", "osd", "blocklist", "ls"]);
  return text.split("\n").map((l) => l.split(" ")[0]).filter((e) => /:\d+\/\d+$/.test(e));
}

/** The HA events logged for this VM (and fences) since `since`, oldest first. */
async function haEvents(since: Date): Promise<Array<Record<string, unknown>>> {
  return withPg(cloud, (q) =>
    q("SELECT operation, outcome, node, vm, step FROM vm_operations WHERE (vm = $1 OR operation = 'ha-fence') AND operation LIKE 'ha-%' AND started_at >= $2 ORDER BY id", [name, since.toISOString()]),
  );
}
const has = (events: Array<Record<string, unknown>>, e: Record<string, unknown>) => events.some((x) => Object.entries(e).every(([k, v]) => x[k] === v));
const suiteStart = new Date(Date.now() - 5000);

/** The guest's name from its HTTP server, or "" when it does not answer. */
const answer = (ip: string) => httpGet(ip, "/", 1500).then((r) => (r.status === 200 ? r.body.trim() : ""), () => "");

const host = labProviderHostForSuite(d, async () => {
  const alive = await ssh(d, address(second), ["true"], { allowFail: true, timeoutMs: 20_000 }).then((r) => r.code === 0, () => false);
  if (!alive) await mendLab();
  await scrub(d, cloud, name);
});

describe("an ha VM", () => {
  it("is started by Pacemaker on the node asked for, as a transient domain, and answers as itself", async () => {
    const c = await host.check({}, { vcpus: 1, memoryMiB: 192, diskGiB: 1, image: d.baseImage.spec, stack: "labtest", cloud, name, node: first, ha: true });
    expect(c.failures).toEqual([]);
    const made = await host.create(c.inputs);
    props = made.properties;
    expect(props.node).toBe(first);
    expect(await runningOn(second)).toEqual([first]);
    expect(await nodesWithDomain(d, name)).toEqual([first]);
    // No node keeps a definition that could start a second copy behind Pacemaker's back.
    expect(await on(first, ["virsh", "-c", "qemu:///system", "dominfo", name])).toMatch(/^Persistent:\s+no$/m);
    for (const n of [first, second]) expect(await on(n, ["cat", haDomainConfigPath(name)])).toContain(`<name>${name}</name>`);
    const ip = props.ip as string;
    expect(await eventually("the guest's answer", () => answer(ip), (a) => a === name, 180_000, 1000)).toBe(name);
    // Pacemaker's alert agent logged the start, where it happened.
    const events = await eventually("the logged start", () => haEvents(suiteStart), (e) => has(e, { operation: "ha-start", node: first }), 30_000, 500);
    expect(has(events, { operation: "ha-start", outcome: "ok", node: first, vm: name, step: "start" })).toBe(true);
  });

  it("moves live when its node changes, Pacemaker doing the migration", async () => {
    const ip = props.ip as string;
    const c = await host.check(props, { ...props, node: second });
    const watch = watchAnswers(ip, name);
    const t0 = Date.now();
    const updated = await host.update(name, props, c.inputs);
    const seconds = (Date.now() - t0) / 1000;
    const seen = await watch.stop();
    props = updated;
    process.stdout.write(`  ha VM moved ${first} -> ${second} in ${seconds.toFixed(1)} s; ${seen.answers} answers, longest HTTP gap ${seen.longestGapMs} ms\n`);
    expect(props.node).toBe(second);
    expect(await runningOn(first)).toEqual([second]);
    expect(await nodesWithDomain(d, name)).toEqual([second]);
    expect(seen.longestGapMs).toBeLessThan(10_000);
    await eventually("the logged migration", () => haEvents(suiteStart), (e) => has(e, { operation: "ha-migrate", outcome: "ok", node: second, step: "migrate_from" }), 30_000, 500);
  });

  it("runs again on the survivor at the same address when its node is killed, once that node is fenced", async () => {
    const ip = props.ip as string;
    const t0 = Date.now();
    expect(await killHost(second)).toBeGreaterThan(2);
    const fenced = await eventually("the killed node's fence", () => blocklist(), (b) => b.includes(`${address(second)}:0/0`), 120_000, 500);
    const fencedAt = (Date.now() - t0) / 1000;
    expect(fenced).toContain(`${address(second)}:0/0`);
    await eventually("the guest's answer from the survivor", () => answer(ip), (a) => a === name, 240_000, 250);
    const backAt = (Date.now() - t0) / 1000;
    process.stdout.write(`  ${second} killed: fenced after ${fencedAt.toFixed(1)} s, the guest answered again from ${first} after ${backAt.toFixed(1)} s\n`);
    expect(await runningOn(first)).toEqual([first]);
    // No provider call yet: the alert agent moved the row and the key, and logged one fence of the dead node.
    await eventually("the inventory's row on the survivor", () => inventoryRow(cloud, name), (r) => r?.node === first && r?.state === "running", 30_000, 500);
    expect(await redisGet(cloud, `vm:${name}`)).toBe(first);
    const events = await haEvents(new Date(t0));
    expect(events.filter((e) => e.operation === "ha-fence" && e.node === second && e.outcome === "ok")).toHaveLength(1);
    expect(has(events, { operation: "ha-start", outcome: "ok", node: first, vm: name })).toBe(true);
    // Refresh finds it where Pacemaker put it, with the dead node unreachable.
    const read = await host.read(name, props);
    expect(read.properties.node).toBe(first);
    expect(read.properties.state).toBe("running");
  });

  it("never runs twice once the killed node is back: it is unfenced, and the VM runs on one node", async () => {
    await mendLab();
    expect(await blocklist()).not.toContain(`${address(second)}:0/0`);
    // Its preferred node is back: Pacemaker may move it there (live); at no moment may two nodes run it.
    const deadline = Date.now() + 60_000;
    for (let i = 0; Date.now() < deadline && i < 120; i++) {
      const states = await Promise.all(d.nodes.map((n) => on(n.name, ["virsh", "-c", "qemu:///system", "domstate", name])));
      expect(states.filter((s) => s.trim() === "running").length).toBeLessThanOrEqual(1);
      await new Promise((ok) => setTimeout(ok, 500));
    }
    const where = await runningOn(first);
    expect(where.length).toBe(1);
    expect(await nodesWithDomain(d, name)).toEqual([...where]);
    expect(await eventually("the guest's answer", () => answer(props.ip as string), (a) => a === name, 120_000, 1000)).toBe(name);
  });

  it("is deleted with its resource, its files and everything else", async () => {
    const read = await host.read(name, props);
    await host.delete(name, read.properties);
    expect(await leftovers(d, cloud, name)).toEqual([]);
    expect(await on(first, ["cibadmin", "--query", "--scope", "resources"])).not.toContain(vmResourceId(name));
    expect(await on(first, ["cibadmin", "--query", "--scope", "constraints"])).not.toContain(vmResourceId(name));
    for (const n of [first, second]) expect(await on(n, ["ls", haDomainConfigPath(name)])).toContain("No such file");
  });
});
