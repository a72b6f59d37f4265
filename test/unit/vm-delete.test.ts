import { createVm } from "../../lib/vm/vm-create";
import { deleteVm } from "../../lib/vm/vm-delete";
import type { VmInputs } from "../../lib/vm/vm-model";
import { FakeCloud, fakeCloudSpec } from "../helpers/fake-cloud";

/**
 * deleteVm over an in-memory cloud (test/helpers/fake-cloud.ts): the domain
 * goes wherever it moved, the images only once every node has said it holds
 * no domain, anything already gone is done, and a silent node stops the
 * delete before any image or row is touched.
 */

const cloud = fakeCloudSpec();
const IMAGE = "libvirt-pool/base@v1";
const args = { name: "web-1", vcpus: 1, memoryMiB: 192, diskGiB: 1, image: IMAGE, stack: "dev", node: "node2" } as VmInputs;

/** A cloud holding web-1, made by createVm on node2. */
async function withVm(): Promise<FakeCloud> {
  const c = new FakeCloud(["node1", "node2"], [IMAGE]);
  await createVm(cloud, c.access(), args);
  return c;
}

describe("deleteVm", () => {
  it("removes the domain where it is (the state may name another node), both images, the DHCP entry, the row and the key", async () => {
    const c = await withVm();
    expect([...c.hostEntries.keys()]).toEqual(["web-1"]);
    await deleteVm(cloud, c.access(), { name: "web-1", node: "node1" });
    // dnsmasq forgets a removed entry only on reload; a stale one would make its address a duplicate.
    expect(c.hostEntries.size).toBe(0);
    expect(c.dnsmasqReloads).toBe(1);
    expect([...c.domains.get("node2")!.keys()]).toEqual([]);
    expect([...c.images]).toEqual([IMAGE]);
    expect(c.rows.size).toBe(0);
    expect(c.cache.size).toBe(0);
    expect(c.operations.at(-1)).toEqual({ vm: "web-1", operation: "delete", outcome: "ok", step: null });
  });

  it("counts what is already gone as done: a second delete succeeds", async () => {
    const c = await withVm();
    await deleteVm(cloud, c.access(), { name: "web-1", node: "node2" });
    await deleteVm(cloud, c.access(), { name: "web-1", node: "node2" });
    expect(c.operations.filter((o) => o.operation === "delete")).toHaveLength(2);
    // A retry after a failed reload must still reload: every delete does.
    expect(c.dnsmasqReloads).toBe(2);
  });

  it("touches no image and no row while a node cannot say it holds no domain, and names it", async () => {
    const c = await withVm();
    c.down.add("node1");
    await expect(deleteVm(cloud, c.access(), { name: "web-1", node: "node2" })).rejects.toThrow(
      "deleting VM web-1: cannot make sure its domain is gone: node1: cannot reach node1: connect ECONNREFUSED",
    );
    expect([...c.images].sort()).toEqual([IMAGE, "libvirt-pool/web-1-root", "libvirt-pool/web-1-seed"]);
    expect(c.rows.get("web-1")).toMatchObject({ state: "running" });
    expect([...c.hostEntries.keys()]).toEqual(["web-1"]);
  });

  it("keeps the row while dnsmasq cannot reload, so that a retry removes the entry", async () => {
    const c = await withVm();
    c.failOn.set(/remove-entry/, "Job for dnsmasq.service failed because the control process exited with error code.");
    await expect(deleteVm(cloud, c.access(), { name: "web-1", node: "node2" })).rejects.toThrow(
      /removing the DHCP entry of web-1 from \/etc\/kvmcloud\/dhcp-hosts on dhcp \(dnsmasq reload\): Job for dnsmasq.service failed/,
    );
    expect(c.rows.get("web-1")).toMatchObject({ state: "running" });
    c.failOn.clear();
    await deleteVm(cloud, c.access(), { name: "web-1", node: "node2" });
    expect(c.hostEntries.size).toBe(0);
    expect(c.rows.size).toBe(0);
  });
});
