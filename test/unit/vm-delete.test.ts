import { validateCloudSpec } from "../../lib/cloud/cloud-spec";
import type { CommandResult } from "../../lib/transport/command-runner";
import type { CloudAccess } from "../../lib/vm/cloud-access";
import { deleteVm } from "../../lib/vm/vm-delete";

/**
 * deleteVm over fake nodes (virsh and rbd answering as the real ones do) and
 * a fake inventory: the domain goes wherever it moved, the images only once
 * every node has said it holds no domain, and anything already gone is done;
 * a silent node stops the delete before any image or row is touched.
 */

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----";
const cloud = validateCloudSpec({
  nodes: ["node1", "node2"].map((name, i) => ({ name, ssh: { host: `192.0.2.2${i + 1}`, privateKey: KEY }, libvirtUri: `qemu+ssh://root@192.0.2.2${i + 1}/system` })),
  ceph: { pool: "libvirt-pool", monitors: ["192.0.2.11"], secretUuid: "3f0e8a34-1c2b-4d5e-9f60-718293a4b5c6" },
  dhcp: { ssh: { host: "192.0.2.1", privateKey: KEY }, leaseFile: "/var/lib/misc/dnsmasq.leases", domain: "cloud.example" },
  inventory: { postgresUrl: "postgres://u:p@192.0.2.3:5432/kvmcloud", redisUrl: "redis://:p@192.0.2.3:6379/0" },
});

const ok = (stdout = ""): CommandResult => ({ stdout, stderr: "", code: 0 });

/** A cloud where `domains` maps VM name to node and state, `images` lists the pool; every step is logged. */
function fakeCloud(domains: Record<string, { node: string; state: string }>, images: Set<string>, down: string[] = []) {
  const steps: string[] = [];
  const access: CloudAccess = {
    onNode: async (node, fn) => {
      if (down.includes(node)) throw new Error(`cannot reach ${node}: connect ECONNREFUSED`);
      return fn({
        target: node,
        async run(argv) {
          if (argv[0] === "rbd") {
            const image = argv[argv.length - 1];
            steps.push(`${node}: rbd rm ${image}`);
            if (!images.delete(image)) return { stdout: "", stderr: "rbd: delete error: (2) No such file or directory", code: 2 };
            return ok();
          }
          const [verb, name] = [argv[4], argv[argv.indexOf("--domain") + 1]];
          const d = domains[name];
          if (!d || d.node !== node) return { stdout: "", stderr: `error: failed to get domain '${name}'`, code: 1 };
          if (verb === "domstate") return ok(`${d.state}\n`);
          steps.push(`${node}: virsh ${verb}`);
          if (verb === "destroy") d.state = "shut off";
          if (verb === "undefine") delete domains[name];
          return ok();
        },
      });
    },
    onDhcp: async () => {
      throw new Error("not used");
    },
    withInventory: async (fn) =>
      fn({
        sql: { query: async (text: string, params: unknown[] = []) => (steps.push(`sql ${text.split(/\s+/).slice(0, 3).join(" ")} ${String(params[0])}`), { rows: [], rowCount: 1 }) },
        cache: { get: async () => null, set: async () => "OK", del: async (k: string) => steps.push(`cache del ${k}`) },
      }),
    lockVm: async () => {
      throw new Error("not used");
    },
  };
  return { access, steps };
}

describe("deleteVm", () => {
  it("stops and undefines the domain where it moved to, then removes both images, the row and the key", async () => {
    const images = new Set(["libvirt-pool/web-1-root", "libvirt-pool/web-1-seed"]);
    const { access, steps } = fakeCloud({ "web-1": { node: "node2", state: "running" } }, images);
    await deleteVm(cloud, access, { name: "web-1", node: "node1" });
    expect(steps).toEqual([
      "node2: virsh destroy",
      "node2: virsh undefine",
      "node1: rbd rm libvirt-pool/web-1-root",
      "node1: rbd rm libvirt-pool/web-1-seed",
      "sql DELETE FROM vms web-1",
      "cache del vm:web-1",
      "sql INSERT INTO vm_operations web-1",
    ]);
    expect(images.size).toBe(0);
  });

  it("counts what is already gone as done: a second delete succeeds", async () => {
    const { access, steps } = fakeCloud({}, new Set());
    await deleteVm(cloud, access, { name: "web-1", node: "node1" });
    expect(steps.filter((s) => s.includes("virsh"))).toEqual([]);
    expect(steps).toContain("sql DELETE FROM vms web-1");
  });

  it("touches no image and no row while a node cannot say it holds no domain, and names it", async () => {
    const images = new Set(["libvirt-pool/web-1-root", "libvirt-pool/web-1-seed"]);
    const { access, steps } = fakeCloud({}, images, ["node2"]);
    await expect(deleteVm(cloud, access, { name: "web-1", node: "node1" })).rejects.toThrow(
      "deleting VM web-1: cannot make sure its domain is gone: node2: cannot reach node2: connect ECONNREFUSED",
    );
    expect(steps).toEqual([]);
    expect(images.size).toBe(2);
  });
});
