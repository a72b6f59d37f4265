import * as crypto from "crypto";
import { cloudSpecFromLab } from "../../lab/cloud-spec";
import { readLabDescription } from "../../lab/description";
import { run } from "../../lab/exec";
import { watchAnswers } from "../../lab/http-probe";
import { validateCloudSpec } from "../../lib/vm/cloud-spec";
import { cloudAccess } from "../../lib/vm/cloud-access";
import { reconcileVms } from "../../lib/vm/vm-reconcile";
import { httpGet, nodeUri, ssh, virsh } from "../helpers/lab-client";
import { DIFF } from "../helpers/provider-host";
import { labProviderHostForSuite } from "../helpers/lab-provider-host";
import { eventually, guestInfo, inventoryRow, leftovers, nodesWithDomain, redisGet, scrub, vcpuCount } from "../helpers/vm-lab";

/**
 * One VM's whole life through Pulumi's dynamic-provider host, as `pulumi up`
 * drives it: check, create, diff/update (vCPUs, memory, disk, node, state),
 * refresh after changes made by hand, delete. Runs inside kcl-mgr.
 */

jest.setTimeout(15 * 60_000);

const d = readLabDescription();
const cloud = cloudSpecFromLab(d);
const suffix = crypto.randomBytes(3).toString("hex");
const name = `vmtest-${suffix}`;
const gone = `vmgone-${suffix}`;
type Props = Record<string, any>;
let inputs: Props = {};
let outs: Props = {};

/** check -> diff -> update, as the engine runs an in-place change; returns the new inputs' updatePlan. */
async function change(patch: Props): Promise<string[]> {
  const { inputs: checked, failures } = await host.check(inputs, { ...inputs, ...patch });
  expect(failures).toEqual([]);
  const diff = await host.diff(name, outs, checked);
  expect(diff.changes).toBe(DIFF.SOME);
  expect(diff.replaces).toEqual([]);
  outs = await host.update(name, outs, checked);
  inputs = checked;
  return (checked.updatePlan as string[]) ?? [];
}

const otherNode = (n: string) => d.nodes.find((x) => x.name !== n)!;

const host = labProviderHostForSuite(d, async () => {
  await scrub(d, cloud, name);
  await scrub(d, cloud, gone);
});

describe("VirtualMachine through the dynamic-provider host", () => {
  it("creates a VM whose output IP answers HTTP with its name, recorded in Postgres and Redis", async () => {
    const checked = await host.check({}, { cloud, name, vcpus: 1, memoryMiB: 192, diskGiB: 1, image: d.baseImage.spec, sshAuthorizedKeys: [d.ssh.publicKey], stack: "labtest" });
    expect(checked.failures).toEqual([]);
    expect(checked.inputs.state).toBe("running");
    const t0 = Date.now();
    const created = await host.create(checked.inputs);
    const returnedAt = Date.now();
    process.stdout.write(`  create through the host: ${((returnedAt - t0) / 1000).toFixed(1)} s\n`);
    // The IP is known within a second of dnsmasq's acknowledgement (its lease-file write);
    // a later write by another lease only makes this smaller.
    const written = Number((await ssh(d, d.dhcp.host, ["stat", "-c", "%.3Y", d.dhcp.leaseFile])).stdout.trim()) * 1000;
    expect(returnedAt - written).toBeLessThan(1000);
    inputs = checked.inputs;
    outs = created.properties;
    expect(created.id).toBe(name);
    expect(outs.ip).toMatch(/^10\.77\.100\.\d+$/);
    expect(outs.mac).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
    expect(d.nodes.map((n) => n.name)).toContain(outs.node);
    expect(outs.fqdn).toBe(`${name}.${d.dhcp.domain}`);
    expect(outs.disk).toBe(`${d.ceph.pool}/${name}-root`);
    expect(outs.cloud.inventory.postgresUrl).toBe(cloud.inventory.postgresUrl);

    const res = await eventually("the guest's HTTP answer", () => httpGet(outs.ip), (r) => r.status === 200, 60_000);
    expect(res.body.trim()).toBe(name);
    expect(await nodesWithDomain(d, name)).toEqual([outs.node]);

    const row = await inventoryRow(cloud, name);
    expect(row).toMatchObject({ name, stack: "labtest", vcpus: 1, memory_mib: 192, disk_gib: 1, image: d.baseImage.spec, node: outs.node, mac: outs.mac, ip: outs.ip, state: "running", domain_uuid: outs.domainUuid });
    expect(new Date(row!.created_at as string).toISOString()).toBe(outs.createdAt);
    expect(await redisGet(cloud, `vm:${name}`)).toBe(outs.node);
  });

  it("grows vCPUs and memory live, as the preview's updatePlan says", async () => {
    const before = await guestInfo(outs.ip);
    const plan = await change({ vcpus: 2, memoryMiB: 320 });
    expect(plan).toEqual(["vcpus 1 -> 2: live", "memoryMiB 192 -> 320: live"]);
    expect(await vcpuCount(nodeUri(d, outs.node), name)).toBe(2);
    const after = await eventually("the guest seeing 2 vCPUs and more memory", () => guestInfo(outs.ip), (g) => g.vcpus === 2 && g.memoryKiB > before.memoryKiB + 64 * 1024);
    expect(after.hostname).toBe(name);
    expect(await inventoryRow(cloud, name)).toMatchObject({ vcpus: 2, memory_mib: 320 });
  });

  it("grows the disk live (the guest sees it) and refuses to shrink it", async () => {
    const plan = await change({ diskGiB: 2 });
    expect(plan).toEqual(["diskGiB 1 -> 2: grown live"]);
    await eventually("the guest's vda at 2 GiB", () => guestInfo(outs.ip), (g) => g.disks.vda === 2 * 2 ** 30);
    const shrink = await host.check(inputs, { ...inputs, diskGiB: 1 });
    expect(shrink.failures).toEqual([expect.objectContaining({ property: "diskGiB", reason: expect.stringContaining("at least the current 2 GiB") })]);
  });

  it("restarts the guest for memory beyond its live maximum, and says so in the plan", async () => {
    expect(outs.maxMemoryMiB).toBe(384);
    const plan = await change({ memoryMiB: 512 });
    expect(plan).toEqual(["memoryMiB 320 -> 512: needs a guest restart"]);
    expect(outs.maxMemoryMiB).toBe(1024);
    const g = await eventually("the restarted guest", () => guestInfo(outs.ip), (x) => x.memoryKiB > 400 * 1024, 120_000);
    expect(g.vcpus).toBe(2);
    expect(g.disks.vda).toBe(2 * 2 ** 30);
  });

  it("live-migrates when the node changes; the guest answers throughout", async () => {
    const from = outs.node as string;
    const to = otherNode(from).name;
    const watch = watchAnswers(outs.ip, name);
    const t0 = Date.now();
    let plan: string[];
    let seen: { answers: number; longestGapMs: number };
    try {
      plan = await change({ node: to });
    } finally {
      seen = await watch.stop();
    }
    const { answers: answered, longestGapMs } = seen;
    process.stdout.write(`  migration ${from} -> ${to}: ${((Date.now() - t0) / 1000).toFixed(1)} s, longest HTTP gap ${longestGapMs} ms, ${answered} answers\n`);
    expect(plan).toEqual([`node -> ${to}: live migration if placement put the VM elsewhere`]);
    expect(outs.node).toBe(to);
    expect(await nodesWithDomain(d, name)).toEqual([to]);
    expect(answered).toBeGreaterThan(3);
    expect(longestGapMs).toBeLessThan(10_000);
    expect((await httpGet(outs.ip)).body.trim()).toBe(name);
    expect(await inventoryRow(cloud, name)).toMatchObject({ node: to });
    expect(await redisGet(cloud, `vm:${name}`)).toBe(to);
  });

  it("refresh finds a VM migrated by hand on its new node without writing; reconcile then mends the inventory", async () => {
    const from = outs.node as string;
    const to = otherNode(from);
    await run(virsh(nodeUri(d, from), "migrate", "--live", "--persistent", "--undefinesource", name, to.clientUri, "--migrateuri", `tcp://${to.address}`), { timeoutMs: 300_000 });
    const read = await host.read(name, outs);
    expect(read.id).toBe(name);
    expect(read.properties.node).toBe(to.name);
    expect(read.properties.vcpus).toBe(2);
    expect(read.properties.memoryMiB).toBe(512);
    outs = read.properties;
    // Refresh only reads: the inventory still says where the VM was.
    expect(await inventoryRow(cloud, name)).toMatchObject({ node: from });
    const mend = await reconcileVms(validateCloudSpec(cloud), cloudAccess(cloud), [name]);
    expect(mend.mended).toEqual([`${name}: node ${from} -> ${to.name}`]);
    expect(await inventoryRow(cloud, name)).toMatchObject({ node: to.name });
    expect(await redisGet(cloud, `vm:${name}`)).toBe(to.name);
    // The program does not pin the node any more than the refreshed state: nothing to do.
    const { node: _pinned, ...unpinned } = inputs;
    void _pinned;
    const checked = await host.check(inputs, unpinned);
    expect((await host.diff(name, outs, checked.inputs)).changes).toBe(DIFF.NONE);
    inputs = checked.inputs;
  });

  it("stops, starts, suspends and resumes", async () => {
    const uri = () => nodeUri(d, outs.node);
    const domstate = async () => (await run(virsh(uri(), "domstate", name))).stdout.trim();
    expect(await change({ state: "stopped" })).toEqual(["state running -> stopped"]);
    expect(await domstate()).toBe("shut off");
    expect(await inventoryRow(cloud, name)).toMatchObject({ state: "stopped" });
    await change({ state: "running" });
    await eventually("the guest back up", () => httpGet(outs.ip), (r) => r.body.trim() === name, 120_000);
    await change({ state: "suspended" });
    expect(await domstate()).toBe("paused");
    await expect(httpGet(outs.ip, "/", 1500)).rejects.toThrow();
    await change({ state: "running" });
    expect((await eventually("the resumed guest", () => httpGet(outs.ip), (r) => r.status === 200)).body.trim()).toBe(name);
  });

  it("delete leaves nothing: no domain on any node, no RBD image, no row, no key", async () => {
    await host.delete(name, outs);
    expect(await leftovers(d, cloud, name)).toEqual([]);
    // Deleting what is already gone is done, not an error.
    await host.delete(name, outs);
  });

  it("refresh drops a VM undefined by hand, reconcile its row; deleting it then removes its images and key", async () => {
    // A cloud that leaves the cephx client to its default ("libvirt", the lab's).
    const { clientName: _client, ...ceph } = cloud.ceph;
    void _client;
    const defaulted = { ...cloud, ceph };
    const checked = await host.check({}, { cloud: defaulted, name: gone, vcpus: 1, memoryMiB: 192, diskGiB: 1, image: d.baseImage.spec, stack: "labtest" });
    const created = await host.create(checked.inputs);
    // The cloud is kept as given, so the same program sees no change.
    expect(created.properties.cloud.ceph.clientName).toBeUndefined();
    expect((await host.diff(gone, created.properties, checked.inputs)).changes).toBe(DIFF.NONE);
    const uri = nodeUri(d, created.properties.node);
    await run(virsh(uri, "destroy", gone));
    await run(virsh(uri, "undefine", gone));
    const read = await host.read(gone, created.properties);
    expect(read.id).toBe("");
    expect(await inventoryRow(cloud, gone)).toBeDefined();
    expect((await reconcileVms(validateCloudSpec(cloud), cloudAccess(cloud), [gone])).removed).toEqual([gone]);
    expect(await inventoryRow(cloud, gone)).toBeUndefined();
    // The disks are data: refresh leaves them for the operator; delete removes them.
    expect((await leftovers(d, cloud, gone)).sort()).toEqual([`RBD image ${gone}-root`, `RBD image ${gone}-seed`]);
    await host.delete(gone, created.properties);
    expect(await leftovers(d, cloud, gone)).toEqual([]);
  });
});
