import { METADATA_NS } from "./domain-xml";
import { asArray, parseXml, XmlNode } from "../core/xml";

/**
 * Pure parsers of what virsh prints: `nodeinfo`, `dumpxml`, `domstate`.
 * Fed with real virsh output in the unit tests.
 */

export interface NodeInfo {
  readonly cpus: number;
  readonly memoryMiB: number;
}

export interface DomainFacts {
  readonly name: string;
  readonly uuid: string;
  readonly macs: string[];
  readonly vcpus: number;
  readonly maxVcpus: number;
  readonly memoryMiB: number;
  readonly maxMemoryMiB: number;
  /** RBD `pool/image` names of disks and CD-ROMs. */
  readonly rbdVolumes: string[];
  /** kvm-cloud metadata (empty for domains kvm-cloud did not make). */
  readonly metadata: Record<string, string>;
}

export function parseNodeInfo(text: string): NodeInfo {
  const cpus = /^CPU\(s\):\s+(\d+)/m.exec(text);
  const mem = /^Memory size:\s+(\d+)\s*KiB/m.exec(text);
  if (!cpus || !mem) throw new Error(`virsh nodeinfo: unexpected output: ${text.slice(0, 200)}`);
  return { cpus: Number(cpus[1]), memoryMiB: Math.floor(Number(mem[1]) / 1024) };
}

/** A domain on a node as the survey sees it: virsh's state word and its definition. */
export interface SurveyedDomain {
  readonly name: string;
  /** "running", "paused", "shut off", ... as virsh prints it. */
  readonly state: string;
  readonly facts: DomainFacts;
}

/**
 * The domains in what node-ops' survey prints: after nodeinfo (not read
 * here), for each domain `@@D-<marker>@@`, its dumpxml, `@@S-<marker>@@` and
 * its domstate. A domain undefined between the listing and its turn has
 * neither (virsh said why on stderr) and is left out: it is gone.
 */
export function parseSurveyedDomains(text: string, marker: string): SurveyedDomain[] {
  return text
    .split(`@@D-${marker}@@`)
    .slice(1)
    .flatMap((part) => {
      const [xml = "", state = ""] = part.split(`@@S-${marker}@@`).map((x) => x.trim());
      if (!xml || !state) return [];
      const facts = parseDomainXmlFacts(xml);
      return [{ name: facts.name, state, facts }];
    });
}

const UNIT_TO_KIB: Record<string, number> = { b: 1 / 1024, bytes: 1 / 1024, kib: 1, k: 1, mib: 1024, m: 1024, gib: 1024 * 1024, g: 1024 * 1024 };

function mib(node: unknown): number {
  const n = typeof node === "object" && node !== null ? (node as XmlNode) : { "#text": String(node) };
  const unit = String(n["@_unit"] ?? "KiB").toLowerCase();
  return Math.floor((Number(n["#text"]) * (UNIT_TO_KIB[unit] ?? 1)) / 1024);
}

export function parseDomainXmlFacts(xml: string): DomainFacts {
  const d = parseXml(xml).domain as XmlNode | undefined;
  if (!d) throw new Error("virsh dumpxml: no <domain> element");
  const vcpu = d.vcpu as XmlNode | string;
  const maxVcpus = Number(typeof vcpu === "object" ? vcpu["#text"] : vcpu);
  const vcpus = typeof vcpu === "object" && vcpu["@_current"] !== undefined ? Number(vcpu["@_current"]) : maxVcpus;
  const devices = (d.devices ?? {}) as XmlNode;
  const macs = asArray(devices.interface as XmlNode | XmlNode[])
    .map((i) => String(((i.mac ?? {}) as XmlNode)["@_address"] ?? "").toLowerCase())
    .filter(Boolean);
  const rbdVolumes = asArray(devices.disk as XmlNode | XmlNode[])
    .map((disk) => (disk.source ?? {}) as XmlNode)
    .filter((s) => s["@_protocol"] === "rbd")
    .map((s) => String(s["@_name"]));
  const metadata: Record<string, string> = {};
  const meta = (d.metadata ?? {}) as XmlNode;
  for (const value of Object.values(meta)) {
    const v = value as XmlNode;
    // libvirt keeps the element under whatever prefix it was defined with; the namespace identifies ours.
    const ns = Object.entries(v ?? {}).find(([k, val]) => k.startsWith("@_xmlns") && val === METADATA_NS);
    if (!ns || typeof v !== "object") continue;
    const prefix = ns[0] === "@_xmlns" ? "" : `${ns[0].slice("@_xmlns:".length)}:`;
    for (const [k, val] of Object.entries(v)) {
      if (k.startsWith("@_") || !k.startsWith(prefix)) continue;
      metadata[k.slice(prefix.length)] = typeof val === "object" ? String((val as XmlNode)["#text"] ?? "") : String(val);
    }
  }
  return {
    name: String(d.name),
    uuid: String(d.uuid ?? ""),
    macs,
    vcpus,
    maxVcpus,
    memoryMiB: mib(d.currentMemory ?? d.memory),
    maxMemoryMiB: mib(d.memory),
    rbdVolumes,
    metadata,
  };
}

/** A domain as a refresh sees it: definition, virsh's state word, and the disk's size when QEMU has it open. */
export interface DomainLook {
  readonly facts: DomainFacts;
  readonly state: string;
  readonly diskBytes?: number;
}

/**
 * The output of node-ops' lookAtDomain: the domain's XML, @@STATE@@ and its
 * state word, @@BLOCK@@ and virsh domblkinfo's table (empty when the disk is
 * not open). undefined when the markers, the XML or the state are missing (the
 * domain is not there, or virsh failed: its stderr says which).
 */
export function parseDomainLook(out: string): DomainLook | undefined {
  const m = /^([\s\S]*?)@@STATE@@([\s\S]*?)@@BLOCK@@([\s\S]*)$/.exec(out);
  if (!m) return undefined; // virsh ran no command (no libvirt to ask): its stderr says why
  const [xml, state] = [m[1].trim(), m[2].trim()];
  if (!xml || !state) return undefined;
  const capacity = /^Capacity:\s+(\d+)\s*$/m.exec(m[3]);
  return { facts: parseDomainXmlFacts(xml), state, diskBytes: capacity ? Number(capacity[1]) : undefined };
}
