import { createVm } from "../../lib/vm/vm-create";
import type { VmInputs } from "../../lib/vm/vm-model";
import { FakeCloud, fakeCloudSpec } from "../helpers/fake-cloud";

/**
 * createVm over an in-memory cloud (test/helpers/fake-cloud.ts): what a create
 * makes, and for a failure at each step, that it names the step, quotes the
 * daemon, removes what it made newest first, keeps the row that claims what
 * it could not remove, and always frees the name's lock.
 */

const cloud = fakeCloudSpec(["node1", "node2"], { leaseTimeoutSeconds: 5 });
const IMAGE = "libvirt-pool/base@v1";
const args: VmInputs = { name: "web-1", vcpus: 1, memoryMiB: 192, diskGiB: 1, image: IMAGE, stack: "dev", node: "node1" } as VmInputs;
const fresh = () => new FakeCloud(["node1", "node2"], [IMAGE]);
const ENTRY = "DHCP entry web-1 (192.0.2.100) in /etc/kvmcloud/dhcp-hosts";

describe("createVm", () => {
  it("makes the images, the DHCP entry, the domain and the row, and returns the assigned and leased IP", async () => {
    const c = fresh();
    const steps: string[] = [];
    const vm = await createVm(cloud, c.access(), args, (s) => steps.push(s));
    expect(c.hostEntries.get("web-1")).toBe(`${vm.mac},192.0.2.100,web-1\n`);
    // The node's traffic filter gets the address with the domain: nothing is learned from the guest.
    expect(c.domains.get("node1")!.get("web-1")!.xml).toMatch(/<filterref filter="kvmcloud-guest">\s*<parameter name="IP" value="192.0.2.100"\/>/);
    expect(vm).toMatchObject({ name: "web-1", node: "node1", ip: "192.0.2.100", disk: "libvirt-pool/web-1-root", seed: "libvirt-pool/web-1-seed", fqdn: "web-1.cloud.example" });
    expect([...c.images].sort()).toEqual([IMAGE, "libvirt-pool/web-1-root", "libvirt-pool/web-1-seed"]);
    expect(c.domainNames()).toEqual(["node1:web-1"]);
    expect(c.rows.get("web-1")).toMatchObject({ state: "running", node: "node1", ip: "192.0.2.100", mac: vm.mac });
    expect(c.cache.get("vm:web-1")).toBe("node1");
    expect(steps).toEqual(["lock", "preflight", "reserve", "clone", "seed", "define", "dhcp-entry-written", "dhcp-entry", "start", "boot-to-lease", "record"]);
    expect(c.locksHeld).toBe(0);
  });

  it("applies the inventory's schema only while the database lacks its mark: its ALTERs would lock out the others", async () => {
    const c = fresh();
    await createVm(cloud, c.access(), args);
    expect(c.schemaApplied).toBe(1);
    expect(c.schemaMark).toMatch(/^kvm-cloud inventory schema [0-9a-f]{16}$/);
    await createVm(cloud, c.access(), { ...args, name: "web-2" });
    expect(c.schemaApplied).toBe(1);
    // A database of an older release carries another mark, or none.
    c.schemaMark = "kvm-cloud inventory schema 0000000000000000";
    await createVm(cloud, c.access(), { ...args, name: "web-3" });
    expect(c.schemaApplied).toBe(2);
  });

  it.each<[string, RegExp, string, string[]]>([
    // Each undo is recorded before its step (a step that timed out may have made its thing), and "gone already" counts as removed.
    // The seed is made while the root disk is cloned: a failed clone removes it too, once it is made.
    ["clone", /rbd --id libvirt clone/, "rbd: clone error: (28) No space left on device", ["RBD image libvirt-pool/web-1-seed", "RBD image libvirt-pool/web-1-root", ENTRY]],
    ["seed", /^sh -c [\s\S]* seed /, "rbd: import failed: (5) Input/output error", ["RBD image libvirt-pool/web-1-seed", "RBD image libvirt-pool/web-1-root", ENTRY]],
    ["define", /virsh -q -c qemu:\/\/\/system define/, "error: XML error: unsupported configuration", ["domain web-1 on node1", "RBD image libvirt-pool/web-1-seed", "RBD image libvirt-pool/web-1-root", ENTRY]],
    ["dhcp-entry", /write-entry/, "mv: cannot move '/etc/kvmcloud/dhcp-hosts/.web-1.new': Read-only file system", ["domain web-1 on node1", "RBD image libvirt-pool/web-1-seed", "RBD image libvirt-pool/web-1-root", ENTRY]],
    ["start", /virsh -q -c qemu:\/\/\/system start/, "error: internal error: qemu unexpectedly closed the monitor", ["domain web-1 on node1", "RBD image libvirt-pool/web-1-seed", "RBD image libvirt-pool/web-1-root", ENTRY]],
  ])("fails at %s naming the step and the daemon's words, and removes what it made, newest first", async (step, command, said, removed) => {
    const c = fresh();
    c.failOn.set(command, said);
    const err = (await createVm(cloud, c.access(), args).then(() => undefined, (e: Error) => e))!;
    expect(err.message).toContain(`creating VM web-1 failed at step "${step}"`);
    expect(err.message).toContain(said);
    expect(err.message).toContain(`removed what it had made: ${[...removed, "inventory row"].join(", ")}`);
    expect([...c.images]).toEqual([IMAGE]);
    expect(c.domainNames()).toEqual([]);
    expect(c.rows.size).toBe(0);
    expect(c.hostEntries.size).toBe(0);
    expect(c.operations).toEqual([{ vm: "web-1", operation: "create", outcome: "error", step }]);
    expect(c.locksHeld).toBe(0);
  });

  it("keeps the row that claims a domain it could not remove from a node that died, and says so", async () => {
    const c = fresh();
    c.failOn.set(/virsh -q -c qemu:\/\/\/system start/, "error: Cannot recv data: Connection reset by peer");
    c.afterCommand = (node, argv) => {
      if (argv[4] === "start") c.down.add(node);
    };
    const err = (await createVm(cloud, c.access(), args).then(() => undefined, (e: Error) => e))!;
    expect(err.message).toMatch(/could NOT remove domain web-1 on node1 \(cannot reach node1: connect ECONNREFUSED\)/);
    expect(err.message).toMatch(/inventory row \(kept: it claims what could not be removed/);
    // The images went through the other node: RBD is shared.
    expect([...c.images]).toEqual([IMAGE]);
    expect(c.rows.get("web-1")).toMatchObject({ state: "creating" });
    expect(c.locksHeld).toBe(0);
  });

  it("times out on a guest that never leases, naming the MAC and the setting, and leaves nothing", async () => {
    const c = fresh();
    c.silentGuests = true;
    const err = (await createVm(cloud, c.access(), args).then(() => undefined, (e: Error) => e))!;
    expect(err.message).toMatch(/failed at step "boot-to-lease": no DHCP lease for MAC 52:54:00(:[0-9a-f]{2}){3} in \/var\/lib\/misc\/dnsmasq.leases after 5 s \(cloud.leaseTimeoutSeconds\)/);
    expect(c.domainNames()).toEqual([]);
    expect(c.rows.size).toBe(0);
  }, 20_000);

  it("quotes the end of the guest's console when it never leases, read before the domain is removed", async () => {
    const c = fresh();
    c.silentGuests = true;
    const lines = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`);
    c.consoles.set("node1:web-1", [...lines, "Kernel panic - not syncing: \x1b[1mVFS\x1b[0m: Unable to mount root fs\r"].join("\n"));
    const err = (await createVm(cloud, c.access(), args).then(() => undefined, (e: Error) => e))!;
    expect(err.message).toContain("after 5 s (cloud.leaseTimeoutSeconds); the guest may not have booted or reached dnsmasq; its console (the end of /var/log/libvirt/qemu/web-1-console.log on node1):\nline 17\n");
    // The last 15 lines, control characters and terminal escapes dropped.
    expect(err.message).toContain("line 30\nKernel panic - not syncing: VFS: Unable to mount root fs\n");
    expect(err.message).not.toContain("line 16\n");
    expect(c.domainNames()).toEqual([]);
  }, 20_000);

  it("gives each VM the lowest address that no row and no client's lease holds", async () => {
    const c = fresh();
    // A client that is not a VM of this cloud holds .101 (dynamic lease); web-1 takes .100.
    c.leases.push(`${Math.floor(Date.now() / 1000) + 3600} 02:00:00:00:00:01 192.0.2.101 laptop *`);
    const a = await createVm(cloud, c.access(), args);
    const b = await createVm(cloud, c.access(), { ...args, name: "web-2" });
    expect([a.ip, b.ip]).toEqual(["192.0.2.100", "192.0.2.102"]);
    expect(c.rows.get("web-2")).toMatchObject({ ip: "192.0.2.102" });
  });

  it("reloads dnsmasq when the VM's entry replaces one a dead create left, and only then", async () => {
    const c = fresh();
    // dnsmasq adds a replaced file's entry but keeps the old one until SIGHUP: the address would be a duplicate.
    c.hostEntries.set("web-1", "52:54:00:00:00:99,192.0.2.100,web-1\n");
    const vm = await createVm(cloud, c.access(), args);
    expect(c.hostEntries.get("web-1")).toBe(`${vm.mac},192.0.2.100,web-1\n`);
    expect(c.dnsmasqReloads).toBe(1);
    await createVm(cloud, c.access(), { ...args, name: "web-2" });
    expect(c.dnsmasqReloads).toBe(1);
  });

  it("fails and undoes when dnsmasq leases another address than the one assigned", async () => {
    const c = fresh();
    // As when a client took the address between the choice and the boot: dnsmasq falls back to its range.
    c.afterCommand = (_node, argv) => {
      if (argv[3] === "write-entry") c.hostEntries.clear();
    };
    const err = (await createVm(cloud, c.access(), args).then(() => undefined, (e: Error) => e))!;
    expect(err.message).toMatch(/failed at step "boot-to-lease": dnsmasq leased 192\.0\.2\.\d+ to 52:54:00(:[0-9a-f]{2}){3}, not the address assigned to web-1 \(192\.0\.2\.100\)/);
    expect(c.domainNames()).toEqual([]);
    expect(c.rows.size).toBe(0);
    expect([...c.images]).toEqual([IMAGE]);
  });

  it("refuses a name a domain on another node already has, before making anything", async () => {
    const c = fresh();
    await createVm(cloud, c.access(), { ...args, node: "node2" });
    const before = [...c.images];
    await expect(createVm(cloud, c.access(), args)).rejects.toThrow(/name: "web-1" is not allowed; expected a name not used by another VM \(a domain of that name exists on node2\)/);
    expect([...c.images]).toEqual(before);
    expect(c.domainNames()).toEqual(["node2:web-1"]);
  });

  it("checks the image on a reachable node when the first one, asked meanwhile, is down", async () => {
    const c = fresh();
    c.down.add("node1");
    const asked: string[] = [];
    c.afterCommand = (node, argv) => argv[0] === "rbd" && argv[3] === "info" && asked.push(node);
    const vm = await createVm(cloud, c.access(), { ...args, node: undefined });
    expect(vm.node).toBe("node2");
    // Asked of node2 only: node1's try failed at its connect, before any command.
    expect([...new Set(asked)]).toEqual(["node2"]);
    expect(c.domainNames()).toEqual(["node2:web-1"]);
  });

  it("refuses a malformed image before any node is asked", async () => {
    const c = fresh();
    const asked: string[] = [];
    c.afterCommand = (node, argv) => asked.push(`${node}: ${argv[0]}`);
    await expect(createVm(cloud, c.access(), { ...args, image: "no-snapshot" })).rejects.toThrow(/image: "no-snapshot"/);
    expect(asked.filter((a) => !a.startsWith("dhcp"))).toEqual([]);
  });

  it("refuses an image that does not exist, naming the field, before making anything", async () => {
    const c = fresh();
    await expect(createVm(cloud, c.access(), { ...args, image: "libvirt-pool/nope@v1" })).rejects.toThrow(/image: "libvirt-pool\/nope@v1" .*an existing RBD snapshot/);
    expect(c.rows.size).toBe(0);
    // The refusal is logged as a failed create at preflight; nothing was made, so the error is the plain ValidationError.
    expect(c.operations).toEqual([{ vm: "web-1", operation: "create", outcome: "error", step: "preflight" }]);
  });
});
