import { renderDomainXml } from "../../lib/vm/domain-xml";
import type { CommandResult } from "../../lib/transport/command-runner";
import type { CloudAccess } from "../../lib/vm/cloud-access";
import { readVm } from "../../lib/vm/vm-read";
import { reconcileVms } from "../../lib/vm/vm-reconcile";
import type { VmRecord } from "../../lib/vm/vm-model";
import { fakeCloudSpec } from "../helpers/fake-cloud";

/**
 * Refresh and reconcile over fake nodes that answer virsh and rbd as the real
 * ones do (domain XML from the product's own renderer) and a fake inventory
 * that records every statement: read() only reads, whatever it finds;
 * reconcile writes exactly the mends, and none while a node is silent.
 */

const cloud = fakeCloudSpec(["node1", "node2", "node3"]);

/** `openDiskGiB`: the disk's size as QEMU has it open (default Ceph's, 2 GiB). */
interface Domain { node: string; vcpus: number; memoryMiB: number; state: string; openDiskGiB?: number }
const UUID = "3f0e8a34-1c2b-4d5e-9f60-718293a4b5c7";

const ok = (stdout = ""): CommandResult => ({ stdout, stderr: "", code: 0 });
const xml = (name: string, d: Domain) =>
  renderDomainXml({
    name, uuid: UUID, domainType: "qemu", vcpus: d.vcpus, memoryMiB: d.memoryMiB, diskImage: `${name}-root`, seedImage: `${name}-seed`, mac: "52:54:00:00:00:01", bridge: "br0",
    rbd: { pool: "libvirt-pool", monitors: ["192.0.2.11"], clientName: "libvirt", secretUuid: "3f0e8a34-1c2b-4d5e-9f60-718293a4b5c6" },
    metadata: { name },
  });

/** Nodes holding `domains` (by VM name), some `down`; an inventory of `rows` and a cache, every write recorded. */
function fakeCloud(domains: Record<string, Domain>, rows: Array<Record<string, unknown>>, o: { down?: string[]; cache?: Record<string, string>; dhcpDown?: boolean } = {}) {
  const writes: string[] = [];
  const cache = { ...(o.cache ?? {}) };
  const access: CloudAccess = {
    onNode: async (node, fn) => {
      if (o.down?.includes(node)) throw new Error(`cannot reach ${node} (root@192.0.2.2x:22): connect ECONNREFUSED`);
      return fn({
        target: node,
        async run(argv) {
          // lookAtDomain's one virsh: "dumpxml --inactive --domain NAME ; echo @@STATE@@ ; ...".
          const look = /^dumpxml --inactive --domain (\S+) ; /.exec(String(argv[4]))?.[1];
          const name = look ?? (argv.includes("--domain") ? argv[argv.indexOf("--domain") + 1] : String(argv[argv.length - 1]).replace(/^libvirt-pool\/|-root$/g, ""));
          const d = domains[name];
          if (argv[0] === "rbd") return d ? ok(JSON.stringify({ size: 2 * 2 ** 30 })) : { stdout: "", stderr: "rbd: error opening image: (2) No such file or directory", code: 2 };
          if (!d || d.node !== node) return { stdout: look ? "@@STATE@@@@BLOCK@@" : "", stderr: `error: failed to get domain '${name}'`, code: 1 };
          if (argv[4] === "dumpxml") return ok(xml(name, d));
          if (argv[4] === "domstate") return ok(`${d.state}\n`);
          // Only a running or paused domain's disk is open in QEMU.
          if (look) return ok(`${xml(name, d)}\n@@STATE@@${d.state}\n\n@@BLOCK@@${d.state === "shut off" ? "" : `Capacity:       ${(d.openDiskGiB ?? 2) * 2 ** 30}\n`}`);
          throw new Error(`unexpected command ${argv.join(" ")}`);
        },
      });
    },
    onDhcp: async (fn) => {
      if (o.dhcpDown) throw new Error("cannot reach the DHCP host (root@192.0.2.1:22): connect ECONNREFUSED");
      return fn({
        target: "dhcp",
        async run(argv) {
          if (argv[3] !== "remove-entry") throw new Error(`unexpected command ${argv.join(" ")}`);
          writes.push(`dhcp entry removed ${argv[5]}`);
          return ok();
        },
      });
    },
    withInventory: async (fn) =>
      fn({
        sql: {
          async query(text: string, params: unknown[] = []) {
            if (text.startsWith("SELECT")) return { rows, rowCount: rows.length };
            writes.push(`${text.split(/\s+/).slice(0, 3).join(" ")} ${JSON.stringify(params.slice(0, 5))}`);
            if (text.startsWith("UPDATE")) return { rows: [{ ...rows.find((r) => r.name === params[0]), node: params[4] }], rowCount: 1 };
            return { rows: [], rowCount: 1 };
          },
        },
        cache: {
          get: async (k) => cache[k] ?? null,
          set: async (k, v) => (writes.push(`cache set ${k} ${v}`), (cache[k] = v)),
          del: async (k) => (writes.push(`cache del ${k}`), delete cache[k]),
        },
      }),
    lockVm: async () => {
      throw new Error("not used");
    },
  };
  return { access, writes };
}

const row = (name: string, node: string, state = "running") => ({
  name, stack: "dev", vcpus: 1, memory_mib: 192, disk_gib: 2, image: "libvirt-pool/base@v1", node, mac: "52:54:00:00:00:01", ip: "192.0.2.100", state,
  domain_uuid: UUID, created_at: "2026-12-01T00:00:00Z", updated_at: "2026-12-01T00:00:00Z",
});
const record = { name: "web-1", stack: "dev", vcpus: 1, memoryMiB: 192, diskGiB: 2, image: "libvirt-pool/base@v1", node: "node1", state: "running", ip: "192.0.2.100", mac: "52:54:00:00:00:01" } as unknown as VmRecord;

describe("readVm only reads", () => {
  it("finds a VM moved and resized by hand where it is now, and writes nothing", async () => {
    const { access, writes } = fakeCloud({ "web-1": { node: "node3", vcpus: 2, memoryMiB: 384, state: "paused" } }, [row("web-1", "node1")], { cache: { "vm:web-1": "node1" } });
    const r = await readVm(cloud, access, record);
    expect(r).toMatchObject({ node: "node3", vcpus: 2, memoryMiB: 384, state: "suspended", diskGiB: 2 });
    expect(writes).toEqual([]);
  });

  it("takes the disk's size from QEMU for a domain it runs, and from Ceph for a stopped one", async () => {
    const { access } = fakeCloud({ "web-1": { node: "node1", vcpus: 1, memoryMiB: 192, state: "running", openDiskGiB: 4 }, "web-2": { node: "node1", vcpus: 1, memoryMiB: 192, state: "shut off", openDiskGiB: 4 } }, []);
    expect(await readVm(cloud, access, record)).toMatchObject({ diskGiB: 4, state: "running" });
    expect(await readVm(cloud, access, { ...record, name: "web-2" })).toMatchObject({ diskGiB: 2, state: "stopped" });
  });

  it("says a VM found nowhere is gone, and writes nothing", async () => {
    const { access, writes } = fakeCloud({}, [row("web-1", "node1")]);
    expect(await readVm(cloud, access, record)).toBeUndefined();
    expect(writes).toEqual([]);
  });

  it("fails rather than drop a VM while a node cannot be asked, naming it", async () => {
    const { access, writes } = fakeCloud({}, [row("web-1", "node1")], { down: ["node2"] });
    await expect(readVm(cloud, access, record)).rejects.toThrow(/^refreshing VM web-1: not found on the reachable nodes, and cannot ask node2: cannot reach node2/);
    expect(writes).toEqual([]);
  });
});

describe("reconcileVms", () => {
  it("brings a moved VM's row and cache key to its node, and logs the mend", async () => {
    const { access, writes } = fakeCloud({ "web-1": { node: "node2", vcpus: 1, memoryMiB: 192, state: "running" } }, [row("web-1", "node1")], { cache: { "vm:web-1": "node1" } });
    const r = await reconcileVms(cloud, access);
    expect(r.mended).toEqual(["web-1: node node1 -> node2"]);
    expect(writes[0]).toMatch(/^UPDATE vms SET \["web-1",1,192,2,"node2"\]$/);
    expect(writes).toContain("cache set vm:web-1 node2");
    expect(writes.some((w) => w.startsWith("INSERT INTO vm_operations") && w.includes('"reconcile"'))).toBe(true);
  });

  it("removes the row and key of a VM whose domain is on no node", async () => {
    const { access, writes } = fakeCloud({}, [row("gone-1", "node1")], { cache: { "vm:gone-1": "node1" } });
    const r = await reconcileVms(cloud, access);
    expect(r.removed).toEqual(["gone-1"]);
    expect(writes.filter((w) => !w.startsWith("INSERT"))).toEqual(["dhcp entry removed gone-1", 'DELETE FROM vms ["gone-1"]', "cache del vm:gone-1"]);
  });

  it("keeps the row while the DHCP host cannot remove its entry, and says why", async () => {
    const { access, writes } = fakeCloud({}, [row("gone-1", "node1")], { dhcpDown: true });
    const r = await reconcileVms(cloud, access);
    expect(r.removed).toEqual([]);
    expect(r.unknown).toEqual(["gone-1: its domain is on no node, but its DHCP entry could not be removed: cannot reach the DHCP host (root@192.0.2.1:22): connect ECONNREFUSED"]);
    expect(writes).toEqual([]);
  });

  it("leaves every row alone while a node is silent, and says which", async () => {
    const { access, writes } = fakeCloud({ "web-2": { node: "node1", vcpus: 1, memoryMiB: 192, state: "running" } }, [row("gone-1", "node1"), row("web-2", "node1")], { down: ["node3"], cache: { "vm:web-2": "node1" } });
    const r = await reconcileVms(cloud, access);
    expect(r.unknown).toEqual([expect.stringMatching(/^gone-1: not found on the reachable nodes, and cannot ask node3/)]);
    expect(r.removed).toEqual([]);
    expect(writes.filter((w) => w.includes("gone-1"))).toEqual([]);
  });

  it("leaves rows of creates in progress to their create, and writes nothing for rows in line", async () => {
    const domains = { "web-3": { node: "node1", vcpus: 1, memoryMiB: 192, state: "running" } };
    const { access, writes } = fakeCloud(domains, [row("new-1", "node2", "creating"), row("web-3", "node1")], { cache: { "vm:web-3": "node1" } });
    const r = await reconcileVms(cloud, access);
    expect([r.inLine, r.mended, r.removed, r.unknown, writes]).toEqual([1, [], [], [], []]);
  });

  it("mends what was stopped or resized by hand, field by field", async () => {
    const { access } = fakeCloud({ "web-4": { node: "node1", vcpus: 2, memoryMiB: 256, state: "shut off" } }, [row("web-4", "node1")], { cache: { "vm:web-4": "node1" } });
    expect((await reconcileVms(cloud, access)).mended).toEqual(["web-4: state running -> stopped, vcpus 1 -> 2, memoryMiB 192 -> 256"]);
  });

  it("reconciles only the VMs named", async () => {
    const { access, writes } = fakeCloud({}, [row("gone-1", "node1"), row("gone-2", "node1")]);
    expect((await reconcileVms(cloud, access, ["gone-2"])).removed).toEqual(["gone-2"]);
    expect(writes.some((w) => w.includes("gone-1"))).toBe(false);
  });
});
