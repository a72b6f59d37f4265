import * as crypto from "crypto";
import { cloudSpecFromLab } from "../../lab/cloud-spec";
import { readLabDescription } from "../../lab/description";
import { cloudAccess } from "../../lib/vm/cloud-access";
import { inspectNode } from "../../lib/vm/node-ops";
import { capacities, surveyNodes, takenMacs } from "../../lib/vm/survey";
import { assertInManagerNamespace, ssh } from "../helpers/lab-client";

/**
 * The survey every create makes of every node, against a node's real
 * libvirt: domains made outside kvm-cloud, whatever their names, are seen
 * with their memory, vCPUs and MACs (placement counts them, a new VM's MAC
 * avoids theirs), and a domain whose name virsh's own command language
 * would split is read like any other.
 */

jest.setTimeout(3 * 60_000);

const d = readLabDescription();
const cloud = cloudSpecFromLab(d);
const node = d.nodes[0];
const tag = crypto.randomBytes(3).toString("hex");
// A space and a semicolon: one word to libvirt, two commands to virsh if the name were passed through.
const odd = `outside ${tag}; list`;
const plain = `outside-${tag}`;
const macOf = (i: number) => `52:54:00:${tag.slice(0, 2)}:${tag.slice(2, 4)}:${i.toString(16).padStart(2, "0")}`;
const onNode = (argv: string[], input?: string) => ssh(d, node.address, argv, { allowFail: true, timeoutMs: 30_000, input });
const virsh = (...args: string[]) => ["virsh", "-q", "-c", "qemu:///system", ...args];

function domainXml(name: string, memoryMiB: number, vcpus: number, mac: string): string {
  const escaped = name.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  return `<domain type='qemu'><name>${escaped}</name><memory unit='MiB'>${memoryMiB}</memory><vcpu>${vcpus}</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os><devices><interface type='bridge'><source bridge='${node.bridge}'/><mac address='${mac}'/><model type='virtio'/></interface></devices></domain>`;
}

const undefine = async (name: string) => onNode(virsh("undefine", "--domain", name));

beforeAll(async () => {
  assertInManagerNamespace(d);
  for (const [name, mem, cpus, mac] of [[odd, 96, 2, macOf(1)], [plain, 80, 1, macOf(2)]] as const) {
    const r = await onNode(["sh", "-c", 'f=$(mktemp) && cat > "$f" && virsh -q -c qemu:///system define "$f"; s=$?; rm -f "$f"; exit $s'], domainXml(name, mem, cpus, mac));
    if (r.code !== 0) throw new Error(`defining ${JSON.stringify(name)} on ${node.name}: ${r.stderr}`);
  }
});

afterAll(async () => {
  await undefine(odd);
  await undefine(plain);
});

it("sees domains made outside kvm-cloud, any name, with their memory, vCPUs and MACs", async () => {
  const access = cloudAccess(cloud);
  const view = await access.onNode(node.name, inspectNode);
  const byName = new Map(view.domains.map((x) => [x.name, x]));
  expect(byName.get(odd)).toMatchObject({ state: "shut off", facts: { memoryMiB: 96, vcpus: 2, macs: [macOf(1)] } });
  expect(byName.get(plain)).toMatchObject({ state: "shut off", facts: { memoryMiB: 80, vcpus: 1, macs: [macOf(2)] } });
  // Every listed domain came with its definition: none was lost to the batch.
  for (const x of view.domains) expect(x.facts).toBeDefined();
  expect(view.info.memoryMiB).toBeGreaterThan(0);

  const survey = await surveyNodes(cloud, access);
  expect(takenMacs(survey, [])).toEqual(expect.arrayContaining([macOf(1), macOf(2)]));
  const here = capacities(survey, []).find((c) => c.name === node.name)!;
  expect(here.allocatedMemoryMiB).toBeGreaterThanOrEqual(96 + 80);
  expect(here.allocatedVcpus).toBeGreaterThanOrEqual(3);
});
