import * as crypto from "crypto";
import { cloudSpecFromLab } from "../../lab/cloud-spec";
import { readLabDescription } from "../../lab/description";
import { killHost, mendLab } from "../../lab/node-loss";
import { domainsOn, httpGet } from "../helpers/lab-client";
import { labProviderHostForSuite } from "../helpers/lab-provider-host";
import { eventually, inventoryRow, leftovers, nodesWithDomain, rbdImages, scrub } from "../helpers/vm-lab";

/**
 * A KVM node killed while a VM is being made on it, through Pulumi's
 * dynamic-provider host: every process of the node (its systemd, libvirtd,
 * sshd, the guest's QEMU) dies at once while the guest boots. The create fails within
 * its bounds, naming the node: it removes the images through another node's
 * Ceph client and keeps the 'creating' row that claims the domain it could
 * not remove; once the node is back (lab:up boots the host again, and its
 * systemd starts what KvmNode enabled), the same create
 * takes that domain over and converges, and delete leaves no domain, image,
 * row or key.
 */

jest.setTimeout(15 * 60_000);

const d = readLabDescription();
const cloud = { ...cloudSpecFromLab(d), leaseTimeoutSeconds: 30 };
const victim = d.nodes[1].name;
const name = `nodeflt-${crypto.randomBytes(3).toString("hex")}`;

const host = labProviderHostForSuite(d, async () => {
  await mendLab();
  await scrub(d, cloud, name);
});

describe("a KVM node killed mid-create", () => {
  let error = "";

  it("fails the create within its bounds, naming the node", async () => {
    const c = await host.check({}, { vcpus: 1, memoryMiB: 192, diskGiB: 1, image: d.baseImage.spec, stack: "labtest", cloud, name, node: victim });
    expect(c.failures).toEqual([]);
    const t0 = Date.now();
    const pending = host.create(c.inputs).then(() => "", (e: Error) => e.message);
    await eventually("the guest's domain", () => nodesWithDomain(d, name), (n) => n.length === 1, 120_000, 200);
    expect(await killHost(victim)).toBeGreaterThan(2);
    error = await pending;
    const seconds = (Date.now() - t0) / 1000;
    process.stdout.write(`  create with its node killed failed after ${seconds.toFixed(1)} s:\n${error}\n`);
    expect(error).toMatch(new RegExp(`creating VM ${name} failed`));
    expect(error).toContain(victim);
    expect(seconds).toBeLessThan(180);
  });

  it("removes the images through another node, and keeps the 'creating' row that claims the domain left on the dead node", async () => {
    expect(error).toMatch(new RegExp(`removed [^\\n]*RBD image ${d.ceph.pool}/${name}-seed`));
    expect(error).toMatch(/could NOT remove domain .* on node2 .*inventory row \(kept: it claims what could not be removed/);
    expect((await inventoryRow(cloud, name))?.state).toBe("creating");
    // The dead node cannot be asked (no libvirtd); everything else is audited.
    const others = d.nodes.filter((n) => n.name !== victim);
    for (const n of others) expect(await domainsOn(n.clientUri)).not.toContain(name);
    expect((await rbdImages(d)).filter((i) => i.startsWith(name))).toEqual([]);
  });

  it("converges once the node is back: the same create takes over the domain left there, makes the VM, and delete leaves nothing", async () => {
    await mendLab();
    // Back with libvirt's persistent definition of the dead create's domain.
    expect(await nodesWithDomain(d, name)).toEqual([victim]);
    const c = await host.check({}, { vcpus: 1, memoryMiB: 192, diskGiB: 1, image: d.baseImage.spec, stack: "labtest", cloud: { ...cloud, leaseTimeoutSeconds: 300 }, name, node: victim });
    const created = await host.create(c.inputs);
    expect(created.properties.node).toBe(victim);
    const answer = await eventually("the guest", () => httpGet(created.properties.ip as string).catch(() => ({ status: 0, body: "" })), (r) => r.status === 200, 180_000);
    expect(answer.body.trim()).toBe(name);
    expect((await inventoryRow(cloud, name))?.state).toBe("running");
    await host.delete(name, created.properties);
    expect(await leftovers(d, cloud, name)).toEqual([]);
  });
});
