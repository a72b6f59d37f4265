import { createVm } from "../../lib/vm/vm-create";
import { deleteVm } from "../../lib/vm/vm-delete";
import { readVm } from "../../lib/vm/vm-read";
import { updateVm } from "../../lib/vm/vm-update";
import type { VmInputs } from "../../lib/vm/vm-model";
import { FakeCloud, fakeCloudSpec } from "../helpers/fake-cloud";

/**
 * An ha VM's life over an in-memory cloud with a fake Pacemaker
 * (test/helpers/fake-pacemaker.ts): its XML on every node and a resource
 * instead of a definition, moves and power changes asked of Pacemaker, a
 * stopped VM known by its resource, and every undo and delete leaving no
 * resource, location or file.
 */

const cloud = fakeCloudSpec(["node1", "node2"], { leaseTimeoutSeconds: 5 });
const IMAGE = "libvirt-pool/base@v1";
const args = { name: "web-1", vcpus: 1, memoryMiB: 192, diskGiB: 1, image: IMAGE, stack: "dev", node: "node1", ha: true } as VmInputs;
const fresh = () => new FakeCloud(["node1", "node2"], [IMAGE]);
const FILE = "/etc/kvmcloud/ha-domains/web-1.xml";

describe("an ha VM over the fakes", () => {
  it("is written to every node and started by Pacemaker on its node, with no definition of ours", async () => {
    const c = fresh();
    const steps: string[] = [];
    const vm = await createVm(cloud, c.access(), args, (s) => steps.push(s));
    expect([...c.pacemaker.files.keys()].sort()).toEqual([`node1:${FILE}`, `node2:${FILE}`]);
    expect(c.pacemaker.resources.get("vm-web-1")).toEqual({ started: true, runningOn: "node1" });
    expect(c.pacemaker.locations.get("vm-web-1-on-node")).toBe("node1");
    expect(c.domainNames()).toEqual(["node1:web-1"]);
    expect(vm).toMatchObject({ node: "node1", ip: "192.0.2.100", ha: true, state: "running" });
    expect(c.rows.get("web-1")).toMatchObject({ node: "node1", state: "running" });
    expect(steps).toEqual(["lock", "preflight", "reserve", "clone", "seed", "define", "dhcp-entry-written", "dhcp-entry", "start", "boot-to-lease", "record"]);
  });

  it("fails at start naming Pacemaker's words, and removes the resource, the files on every node and the rest", async () => {
    const c = fresh();
    c.failOn.set(/crm_resource .* Started$/, "Error performing operation: Transport endpoint is not connected");
    const err = (await createVm(cloud, c.access(), args).then(() => undefined, (e: Error) => e))!;
    expect(err.message).toContain('creating VM web-1 failed at step "start"');
    expect(err.message).toContain("Transport endpoint is not connected");
    expect(err.message).toContain(`removed what it had made: Pacemaker resource vm-web-1, domain XML ${FILE} on every node, RBD image`);
    expect([c.pacemaker.resources.size, c.pacemaker.locations.size, c.pacemaker.files.size]).toEqual([0, 0, 0]);
    expect([...c.images]).toEqual([IMAGE]);
    expect([c.rows.size, c.hostEntries.size, c.locksHeld]).toEqual([0, 0, 0]);
  });

  it("moves by its location, refuses a node that is down with the reason, and stops and starts by its role", async () => {
    const c = fresh();
    const vm = await createVm(cloud, c.access(), args);
    const moved = await updateVm(cloud, c.access(), vm, { ...args, node: "node2" });
    expect(moved.node).toBe("node2");
    expect(c.domainNames()).toEqual(["node2:web-1"]);
    c.down.add("node1");
    await expect(updateVm(cloud, c.access(), moved, { ...args, node: "node1" })).rejects.toThrow(
      /cannot move web-1 to node1: node1 is offline in the HA cluster; it runs on node2; set its node to that, or bring node1 back and run pulumi up again/,
    );
    c.down.delete("node1");
    const stopped = await updateVm(cloud, c.access(), moved, { ...args, node: "node2", state: "stopped" });
    expect([stopped.state, c.domainNames()]).toEqual(["stopped", []]);
    // No domain anywhere, yet the VM exists: its resource says so.
    expect(await readVm(cloud, c.access(), stopped)).toMatchObject({ name: "web-1", state: "stopped" });
    const started = await updateVm(cloud, c.access(), stopped, { ...args, node: "node2", state: "running" });
    expect([started.state, started.node, c.domainNames()]).toEqual(["running", "node2", ["node2:web-1"]]);
  });

  it("is deleted with its location, resource and files before the rest, and a second delete finds it all gone", async () => {
    const c = fresh();
    const vm = await createVm(cloud, c.access(), args);
    await deleteVm(cloud, c.access(), vm);
    await deleteVm(cloud, c.access(), vm);
    expect([c.pacemaker.resources.size, c.pacemaker.locations.size, c.pacemaker.files.size]).toEqual([0, 0, 0]);
    expect([c.domainNames(), [...c.images], c.rows.size, c.hostEntries.size]).toEqual([[], [IMAGE], 0, 0]);
    expect(await readVm(cloud, c.access(), vm)).toBeUndefined();
  });
});
