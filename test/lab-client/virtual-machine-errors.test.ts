import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CloudSpec } from "../../lib/vm/cloud-spec";
import { renderInventorySchema } from "../../lib/inventory/schema";
import { cloudSpecFromLab } from "../../lab/cloud-spec";
import { readLabDescription } from "../../lab/description";
import { run } from "../../lab/exec";
import { nodeUri, rbdOnNode, virsh } from "../helpers/lab-client";
import { labProviderHostForSuite } from "../helpers/lab-provider-host";
import { leftovers, nodesWithDomain, rbdImages, scrub, withPg } from "../helpers/vm-lab";

/**
 * Bad input and failures part-way through a create, through Pulumi's
 * dynamic-provider host against the lab: each is refused with a message
 * naming the field (or the step and the daemon's words) and leaves nothing
 * behind. Runs inside kcl-mgr.
 */

jest.setTimeout(10 * 60_000);

const d = readLabDescription();
const cloud = cloudSpecFromLab(d);
const tag = crypto.randomBytes(3).toString("hex");
const vmName = (what: string) => `err-${what}-${tag}`;
const base = { vcpus: 1, memoryMiB: 192, diskGiB: 1, image: d.baseImage.spec, stack: "labtest" };
const bigImage = `err-big-${tag}`;
const made: string[] = [];

async function failCreate(name: string, extra: Record<string, unknown>, c: CloudSpec = cloud): Promise<string> {
  made.push(name);
  const checked = await host.check({}, { ...base, cloud: c, name, ...extra });
  expect(checked.failures).toEqual([]);
  const err = await host.create(checked.inputs).then(
    () => undefined,
    (e: Error) => e.message,
  );
  expect(err).toBeDefined();
  expect(await leftovers(d, cloud, name)).toEqual([]);
  // Other suites may make images meanwhile; none of this suite's may remain.
  expect((await rbdImages(d)).filter((i) => i.startsWith("err-") && i.includes(tag) && i !== bigImage)).toEqual([]);
  return err!;
}

const host = labProviderHostForSuite(d, async () => {
  for (const n of made) await scrub(d, cloud, n);
  const snap = `${d.ceph.pool}/${bigImage}@base`;
  await rbdOnNode(d, "node1", ["snap", "unprotect", snap], { allowFail: true });
  await rbdOnNode(d, "node1", ["snap", "purge", `${d.ceph.pool}/${bigImage}`], { allowFail: true });
  await rbdOnNode(d, "node1", ["rm", "--no-progress", `${d.ceph.pool}/${bigImage}`], { allowFail: true });
});

describe("check() refuses bad input, naming the field and what is allowed", () => {
  it.each([
    ["name", { name: "Web_1" }, /name: "Web_1" is not allowed; expected .*\[a-z0-9-\]/],
    ["vcpus", { vcpus: 0 }, /vcpus: 0 is not allowed; expected an integer 1-64/],
    ["memoryMiB", { memoryMiB: -5 }, /memoryMiB: -5 is not allowed; expected an integer 64-1048576/],
    ["diskGiB", { diskGiB: 0 }, /diskGiB: 0 is not allowed; expected an integer 1-65536/],
    ["image", { image: "just-a-name" }, /image: "just-a-name" is not allowed; expected an RBD snapshot like pool\/image@snap/],
    ["node", { node: "node9" }, /node: "node9" is not allowed; expected one of the known nodes: node1, node2/],
    ["state", { state: "paused" }, /state: "paused" is not allowed; expected one of running, stopped, suspended/],
  ])("%s", async (property, patch, reason) => {
    const r = await host.check({}, { ...base, cloud, name: vmName("check"), ...patch });
    expect(r.failures).toEqual([{ property, reason: expect.stringMatching(reason) }]);
  });

  it("a bad cloud names the cloud field and never echoes a secret", async () => {
    const bad = { ...cloud, inventory: { ...cloud.inventory, postgresUrl: "mysql://root:hunter2@db/x" } };
    const r = await host.check({}, { ...base, cloud: bad, name: vmName("cloud") });
    expect(r.failures).toEqual([{ property: "cloud", reason: expect.stringContaining("cloud.inventory.postgresUrl") }]);
    expect(JSON.stringify(r.failures)).not.toContain("hunter2");
  });
});

describe("create() refuses before making anything", () => {
  it("a name a domain already has", async () => {
    const name = vmName("dup");
    made.push(name);
    // A bare domain defined by hand on node2 (never started: nothing to boot).
    const xml = `<domain type='qemu'><name>${name}</name><memory unit='MiB'>64</memory><os><type arch='x86_64' machine='pc'>hvm</type></os></domain>`;
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "kvmcloud-dup-")), "domain.xml");
    fs.writeFileSync(file, xml);
    await run(virsh(nodeUri(d, "node2"), "define", file));
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
    const err = await host.create((await host.check({}, { ...base, cloud, name })).inputs).then(() => "", (e: Error) => e.message);
    expect(err).toMatch(new RegExp(`name: "${name}" is not allowed; expected a name not used by another VM \\(a domain of that name exists on node2\\)`));
    expect(await nodesWithDomain(d, name)).toEqual(["node2"]);
    await run(virsh(nodeUri(d, "node2"), "undefine", name));
  });

  it("a name the inventory already has", async () => {
    const name = vmName("row");
    made.push(name);
    await withPg(cloud, (q) => q(renderInventorySchema()));
    await withPg(cloud, (q) => q("INSERT INTO vms (name, stack, vcpus, memory_mib, disk_gib, image, node, mac, state) VALUES ($1, 'other', 1, 64, 1, 'p/i@s', 'node1', '52:54:00:ff:ff:01', 'running')", [name]));
    const err = await host.create((await host.check({}, { ...base, cloud, name })).inputs).then(() => "", (e: Error) => e.message);
    expect(err).toContain(`name: "${name}" is not allowed; expected a name not used by another VM (the inventory already has ${name})`);
    expect(await nodesWithDomain(d, name)).toEqual([]);
    await withPg(cloud, (q) => q("DELETE FROM vms WHERE name = $1", [name]));
  });

  it("an unknown image", async () => {
    const err = await failCreate(vmName("img"), { image: `${d.ceph.pool}/no-such-image@base` });
    expect(err).toMatch(/image: ".*no-such-image@base" is not allowed; expected an existing RBD snapshot/);
  });

  it("a disk smaller than the image", async () => {
    await rbdOnNode(d, "node1", ["create", "--size", "2G", `${d.ceph.pool}/${bigImage}`]);
    await rbdOnNode(d, "node1", ["snap", "create", `${d.ceph.pool}/${bigImage}@base`]);
    await rbdOnNode(d, "node1", ["snap", "protect", `${d.ceph.pool}/${bigImage}@base`]);
    const err = await failCreate(vmName("small"), { image: `${d.ceph.pool}/${bigImage}@base`, diskGiB: 1 });
    expect(err).toMatch(/diskGiB: 1 is not allowed; expected at least 2 GiB, the size of image/);
  });

  it("no node with room", async () => {
    const err = await failCreate(vmName("room"), { memoryMiB: 1048576 });
    expect(err).toMatch(/no node can hold VM .* \(1048576 MiB, 1 vCPUs\): node1: \d+ MiB free, 1048576 MiB needed; node2: /);
  });

  it("an unreachable pinned node, saying which host and why", async () => {
    const away = { ...cloud, nodes: cloud.nodes.map((n) => (n.name === "node2" ? { ...n, ssh: { ...n.ssh, host: "10.77.0.99" } } : n)) };
    const err = await failCreate(vmName("away"), { node: "node2" }, away);
    expect(err).toMatch(/node node2 is unreachable: cannot reach node2 \(root@10\.77\.0\.99:22\): /);
  });

  it("a node whose host key is not the one known_hosts lists (a swapped key), naming the node", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "err-hostkey-"));
    try {
      await run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "k")]);
      const other = fs.readFileSync(path.join(dir, "k.pub"), "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
      const node1 = cloud.nodes.find((n) => n.name === "node1")!.ssh.host;
      const swapped = { ...cloud, knownHosts: cloud.knownHosts!.split("\n").map((l) => (l.startsWith(`${node1} `) ? `${node1} ${other}` : l)).join("\n") };
      const err = await failCreate(vmName("hostkey"), { node: "node1" }, swapped);
      expect(err).toMatch(/node node1 is unreachable: cannot reach node1 \(root@10\.77\.0\.21:22\): host key not in knownHosts/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("a create that fails part-way removes what it made", () => {
  it("libvirt cannot start the domain: the step, libvirt's words, and nothing left", async () => {
    const noBridge = { ...cloud, nodes: cloud.nodes.map((n) => (n.name === "node1" ? { ...n, bridge: "nobr0" } : n)) };
    const err = await failCreate(vmName("start"), { node: "node1" }, noBridge);
    expect(err).toMatch(/failed at step "start": virsh .*start --domain err-start-\w+ on node1 \(root@10\.77\.0\.21:22\) failed \(exit 1\): [\s\S]*Cannot get interface MTU on 'nobr0'/);
    expect(err).toMatch(/removed what it had made: domain .* on node1, RBD image .*-seed, RBD image .*-root, DHCP entry err-start-\w+ \(10\.77\.\d+\.\d+\) in \/etc\/kvmcloud\/dhcp-hosts, inventory row/);
  });

  it("no lease within the bound: a clear timeout, and the running guest removed", async () => {
    const impatient = { ...cloud, leaseTimeoutSeconds: 5 };
    const err = await failCreate(vmName("lease"), {}, impatient);
    expect(err).toMatch(/failed at step "boot-to-lease": no DHCP lease for MAC 52:54:00:.* after 5 s \(cloud\.leaseTimeoutSeconds\)/);
  });
});
