import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { cloudSpecFromLab } from "../../lab/cloud-spec";
import { readLabDescription } from "../../lab/description";
import { labPaths } from "../../lab/paths";
import { daemonsIn } from "../../lab/host-exec";
import { hostByName } from "../../lab/topology";
import { validateCloudSpec } from "../../lib/vm/cloud-spec";
import { cloudAccess } from "../../lib/vm/cloud-access";
import { cacheKey } from "../../lib/inventory/vm-rows";
import { reconcileVms } from "../../lib/vm/vm-reconcile";
import { run } from "../../lab/exec";
import { withRedisHung } from "../helpers/service-hosts";
import { httpGet, rbdOnNode, virsh } from "../helpers/lab-client";
import { labProviderHostForSuite } from "../helpers/lab-provider-host";
import { eventually, inventoryRow, leftovers, nodesWithDomain, rbdImages, redisGet, scrub, withPg } from "../helpers/vm-lab";

/**
 * Faults around a create, through Pulumi's dynamic-provider host: the
 * inventory's cache (Redis) hung at create and at refresh; what a create
 * that died leaves (a 'creating' row, its domain and images) taken over by
 * the next one as soon as its name's lock is free, a live one refused; the
 * provider host killed mid-create and the create run again; killed during a
 * live migration and the same update run again. Each case audits
 * domains, images, rows and keys.
 */

jest.setTimeout(10 * 60_000);

const d = readLabDescription();
const cloud = cloudSpecFromLab(d);
const tag = crypto.randomBytes(3).toString("hex");
const vmName = (what: string) => `flt-${what}-${tag}`;
const base = { vcpus: 1, memoryMiB: 192, diskGiB: 1, image: d.baseImage.spec, stack: "labtest" };
const made: string[] = [];

async function create(name: string) {
  made.push(name);
  const checked = await host.check({}, { ...base, cloud, name });
  expect(checked.failures).toEqual([]);
  return { inputs: checked.inputs, create: () => host.create(checked.inputs) };
}

async function insertCreatingRow(name: string, ageSeconds: number): Promise<void> {
  const mac = `52:54:00:${crypto.randomBytes(3).toString("hex").match(/../g)!.join(":")}`;
  await withPg(cloud, (q) =>
    q(
      `INSERT INTO vms (name, stack, vcpus, memory_mib, disk_gib, image, node, mac, state, created_at, updated_at)
       VALUES ($1, 'labtest', 1, 192, 1, $2, 'node1', $3, 'creating', now() - make_interval(secs => $4), now() - make_interval(secs => $4))`,
      [name, d.baseImage.spec, mac, ageSeconds],
    ),
  );
}

const host = labProviderHostForSuite(d, async () => {
  for (const n of made) await scrub(d, cloud, n);
});

describe("VirtualMachine faults", () => {
  it("makes the VM with Redis hung, and the next reconcile writes the cache key", async () => {
    const name = vmName("redis");
    const c = await create(name);
    const t0 = Date.now();
    const created = await withRedisHung(d, c.create);
    process.stdout.write(`  create with Redis hung: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    const ip = created.properties.ip as string;
    expect((await eventually("the guest", () => httpGet(ip).catch(() => ({ status: 0, body: "" })), (r) => r.status === 200)).body.trim()).toBe(name);
    expect((await inventoryRow(cloud, name))?.state).toBe("running");
    expect(await redisGet(cloud, cacheKey(name))).toBeNull();
    // Refresh with Redis hung still finds the VM (the cache is only a hint)...
    const hungRead = await withRedisHung(d, () => host.read(name, created.properties));
    expect(hungRead.id).toBe(name);
    expect(hungRead.properties.node).toBe(created.properties.node);
    // ...and writes nothing (refresh only reads); reconcile, which may write, fills the key in.
    await host.read(name, created.properties);
    expect(await redisGet(cloud, cacheKey(name))).toBeNull();
    const mend = await reconcileVms(validateCloudSpec(cloud), cloudAccess(cloud), [name]);
    expect([mend.mended, mend.inLine]).toEqual([[], 1]);
    expect(await redisGet(cloud, cacheKey(name))).toBe(created.properties.node);
    await host.delete(name, created.properties);
    expect(await leftovers(d, cloud, name)).toEqual([]);
  });

  it("takes over a 'creating' row whose create is dead (its lock is free), with the images it left", async () => {
    const name = vmName("dead");
    made.push(name);
    // Seconds old: age does not matter, only that no live session holds the name's lock.
    await insertCreatingRow(name, 5);
    await rbdOnNode(d, "node1", ["clone", d.baseImage.spec, `${d.ceph.pool}/${name}-root`]);
    const c = await create(name);
    const created = await c.create();
    expect(created.properties.ip).toMatch(/^10\.77\.100\.\d+$/);
    expect((await inventoryRow(cloud, name))?.state).toBe("running");
    await host.delete(name, created.properties);
    expect(await leftovers(d, cloud, name)).toEqual([]);
  });

  it("refuses a name whose create is alive (another session holds its lock), and touches nothing", async () => {
    const name = vmName("alive");
    made.push(name);
    await insertCreatingRow(name, 5);
    const { Client } = require("pg") as typeof import("pg");
    const other = new Client({ connectionString: cloud.inventory.postgresUrl });
    await other.connect();
    try {
      await other.query("SELECT pg_advisory_lock($1::int, hashtext($2))", [0x6b766d63, name]);
      const c = await create(name);
      const err = await c.create().then(() => "", (e: Error) => e.message);
      expect(err).toMatch(new RegExp(`creating VM ${name} failed at step "lock": another create of ${name} is running now \\(it holds the name's lock\\); nothing was done\nnothing had been made`));
      expect((await inventoryRow(cloud, name))?.state).toBe("creating");
      expect((await rbdImages(d)).filter((i) => i.startsWith(name))).toEqual([]);
    } finally {
      await other.end();
    }
  });

  it.each([
    ["once its root image exists", "clone", (name: string) => eventually("the dead create's first image", () => rbdImages(d), (imgs) => imgs.includes(`${name}-root`), 60_000, 100)],
    ["while its guest boots", "boot", (name: string) => eventually("the dead create's domain", () => nodesWithDomain(d, name), (n) => n.length === 1, 120_000, 100)],
  ])("converges when the provider is killed in the middle of a create, %s: the next create takes over", async (_when, tagName, made) => {
    const name = vmName(`killed-${tagName}`);
    const c = await create(name);
    const doomed = c.create().catch((e: Error) => e.message);
    await made(name);
    await host.kill();
    expect(await doomed).toMatch(/./);
    expect((await inventoryRow(cloud, name))?.state).toBe("creating");
    await host.restart();
    const again = await create(name);
    const created = await again.create();
    expect((await eventually("the guest", () => httpGet(created.properties.ip as string).catch(() => ({ status: 0, body: "" })), (r) => r.status === 200)).body.trim()).toBe(name);
    expect(await nodesWithDomain(d, name)).toEqual([created.properties.node]);
    await host.delete(name, created.properties);
    expect(await leftovers(d, cloud, name)).toEqual([]);
  });

  it("converges when the provider is killed in the middle of a live migration: the same update run again finishes it", async () => {
    const name = vmName("mig");
    const c = await create(name);
    const created = await host.create({ ...c.inputs, node: d.nodes[0].name });
    const olds = created.properties;
    const news = { ...c.inputs, node: d.nodes[1].name };
    const source = d.nodes[0].clientUri;
    const moving = host.update(name, olds, news).catch((e: Error) => e.message);
    // Kill it once the source node reports the migration job under way.
    await eventually("the migration job", () => run(virsh(source, "domjobinfo", name), { allowFail: true }), (r) => /Job type:\s+Unbounded/.test(r.stdout), 60_000, 50);
    await host.kill();
    await moving;
    // libvirt's p2p migration may finish without its client: either way the rerun converges.
    process.stdout.write(`  provider killed mid-migration; domain then on: ${(await nodesWithDomain(d, name)).join(", ") || "(moving)"}\n`);
    await host.restart();
    // The engine's state still says node1: the next `pulumi up` sends the same update.
    const updated = await host.update(name, olds, news);
    expect(updated.node).toBe(d.nodes[1].name);
    expect(await nodesWithDomain(d, name)).toEqual([d.nodes[1].name]);
    const answer = await eventually("the guest", () => httpGet(updated.ip as string).catch(() => ({ status: 0, body: "" })), (r) => r.status === 200);
    expect(answer.body.trim()).toBe(name);
    await host.delete(name, updated);
    expect(await leftovers(d, cloud, name)).toEqual([]);
  });

  it("with a node's sshd hung: a VM pinned there is refused within the bound naming the node, others go elsewhere, delete waits for every node's word", async () => {
    const hung = d.nodes[1];
    const listeners = daemonsIn(hung.namespace, new Set(["sshd"])).map((x) => x.pid);
    expect(listeners).toHaveLength(1);
    const pid = listeners[0];
    process.kill(pid, "SIGSTOP");
    try {
      const pinned = vmName("pinned");
      const c = await create(pinned);
      const t0 = Date.now();
      const err = await host.create({ ...c.inputs, node: hung.name }).then(() => "", (e: Error) => e.message);
      const seconds = (Date.now() - t0) / 1000;
      process.stdout.write(`  create pinned to a node whose sshd is hung: refused in ${seconds.toFixed(1)} s\n`);
      expect(err).toMatch(new RegExp(`node ${hung.name} is unreachable: cannot reach ${hung.name} \\(root@${hung.sshHost.replace(/\./g, "\\.")}:22\\)`));
      expect(seconds).toBeLessThan(30);
      expect(await leftovers(d, cloud, pinned)).toEqual([]);

      const free = vmName("free");
      const other = await create(free);
      const created = await other.create();
      expect(created.properties.node).toBe(d.nodes[0].name);
      // Deleting needs every node's word that no domain of the name is left there.
      const refused = await host.delete(free, created.properties).then(() => "", (e: Error) => e.message);
      expect(refused).toMatch(new RegExp(`deleting VM ${free}: cannot make sure its domain is gone: ${hung.name}: cannot reach ${hung.name}`));
      process.kill(pid, "SIGCONT");
      await host.delete(free, created.properties);
      expect(await leftovers(d, cloud, free)).toEqual([]);
    } finally {
      process.kill(pid, "SIGCONT");
    }
  });

  it("refuses a name whose images exist with no record claiming them, and leaves them alone", async () => {
    const name = vmName("orphan");
    made.push(name);
    await rbdOnNode(d, "node1", ["clone", d.baseImage.spec, `${d.ceph.pool}/${name}-root`]);
    const c = await create(name);
    const err = await c.create().then(() => "", (e: Error) => e.message);
    expect(err).toMatch(new RegExp(`${d.ceph.pool}/${name}-root exist and no VM record claims them`));
    expect((await rbdImages(d)).filter((i) => i.startsWith(name))).toEqual([`${name}-root`]);
    expect(await inventoryRow(cloud, name)).toBeUndefined();
  });
});
