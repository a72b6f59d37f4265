import { check } from "../core/errors";
import { checkIfName, checkIPv4, checkMac, UUID } from "../core/network";
import { GUEST_FILTER } from "../kvm-node/guest-filter";
import { buildXml, XmlNode } from "../core/xml";

/** Namespace of kvm-cloud's own data inside a domain's <metadata>. */
export const METADATA_NS = "https://kvm-cloud.dev/xmlns/vm/1";

/** How qemu reaches Ceph for the VM's RBD volumes. */
export interface RbdAccess {
  readonly pool: string;
  readonly monitors: readonly string[];
  readonly clientName: string;
  readonly secretUuid: string;
}

export interface DomainSpec {
  readonly name: string;
  readonly uuid?: string;
  /** `kvm` on real hosts; `qemu` (TCG) where nested virtualization is missing. */
  readonly domainType: "kvm" | "qemu";
  readonly vcpus: number;
  /** vCPUs the guest may be grown to live (default: vcpus). */
  readonly maxVcpus?: number;
  readonly memoryMiB: number;
  /** Memory the guest may be grown to live through the balloon (default: memoryMiB). */
  readonly maxMemoryMiB?: number;
  readonly rbd: RbdAccess;
  /** RBD image (in rbd.pool) of the root disk. */
  readonly diskImage: string;
  /** RBD image holding the NoCloud seed, attached as a read-only CD-ROM. */
  readonly seedImage?: string;
  readonly mac: string;
  /**
   * The guest's IPv4 address, when it is fixed before the boot: the traffic
   * filter's `IP` parameter, so libvirt never has to learn it from the
   * guest's packets. Default: none (learned, for filters that use it).
   */
  readonly ip?: string;
  readonly bridge: string;
  /** kvm-cloud facts kept with the domain, read back on refresh. */
  readonly metadata?: Readonly<Record<string, string>>;
}

function checkSpec(s: DomainSpec): void {
  check(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(s.name), "name", s.name, "a domain name of 1-63 characters [A-Za-z0-9_.-]");
  if (s.uuid !== undefined) check(UUID.test(s.uuid), "uuid", s.uuid, "a lower-case UUID");
  check(s.domainType === "kvm" || s.domainType === "qemu", "domainType", s.domainType, '"kvm" or "qemu"');
  const maxV = s.maxVcpus ?? s.vcpus;
  check(Number.isInteger(s.vcpus) && s.vcpus >= 1 && s.vcpus <= 64, "vcpus", s.vcpus, "an integer 1-64");
  check(Number.isInteger(maxV) && maxV >= s.vcpus && maxV <= 64, "maxVcpus", maxV, `an integer from vcpus (${s.vcpus}) to 64`);
  const maxM = s.maxMemoryMiB ?? s.memoryMiB;
  check(Number.isInteger(s.memoryMiB) && s.memoryMiB >= 64 && s.memoryMiB <= 1048576, "memoryMiB", s.memoryMiB, "an integer 64-1048576");
  check(Number.isInteger(maxM) && maxM >= s.memoryMiB && maxM <= 1048576, "maxMemoryMiB", maxM, `an integer from memoryMiB (${s.memoryMiB}) to 1048576`);
  check(s.rbd.monitors.length > 0, "rbd.monitors", s.rbd.monitors, "at least one monitor address");
  s.rbd.monitors.forEach((m, i) => checkIPv4(`rbd.monitors[${i}]`, m));
  check(UUID.test(s.rbd.secretUuid), "rbd.secretUuid", s.rbd.secretUuid, "a lower-case UUID");
  for (const [f, v] of [["rbd.pool", s.rbd.pool], ["diskImage", s.diskImage], ["seedImage", s.seedImage]] as const) {
    if (v !== undefined) check(/^[A-Za-z0-9_.-]{1,96}$/.test(v), f, v, "an RBD name of [A-Za-z0-9_.-]");
  }
  checkMac("mac", s.mac);
  if (s.ip !== undefined) checkIPv4("ip", s.ip);
  checkIfName("bridge", s.bridge);
}

function guestFilterRef(ip: string | undefined): XmlNode {
  return ip === undefined ? { "@_filter": GUEST_FILTER } : { "@_filter": GUEST_FILTER, parameter: { "@_name": "IP", "@_value": ip } };
}

function rbdDisk(s: DomainSpec, image: string, device: "disk" | "cdrom"): XmlNode {
  return {
    "@_type": "network",
    "@_device": device,
    driver: device === "disk" ? { "@_name": "qemu", "@_type": "raw", "@_cache": "writeback", "@_discard": "unmap" } : { "@_name": "qemu", "@_type": "raw" },
    auth: { "@_username": s.rbd.clientName, secret: { "@_type": "ceph", "@_uuid": s.rbd.secretUuid } },
    source: {
      "@_protocol": "rbd",
      "@_name": `${s.rbd.pool}/${image}`,
      host: s.rbd.monitors.map((m) => ({ "@_name": m, "@_port": "3300" })),
    },
    // The seed sits on RBD too: a local file would pin the guest to one node.
    target: device === "disk" ? { "@_dev": "vda", "@_bus": "virtio" } : { "@_dev": "sda", "@_bus": "sata" },
    ...(device === "cdrom" ? { readonly: "" } : {}),
  };
}

/**
 * Where the node keeps the guest's serial console (libvirt's own log
 * directory, beside `NAME.log`; rewritten at each start, kept after the
 * domain is gone, as libvirt keeps its log).
 */
export function consoleLogPath(name: string): string {
  return `/var/log/libvirt/qemu/${name}-console.log`;
}

/** Pure: libvirt domain XML of a kvm-cloud VM. */
export function renderDomainXml(s: DomainSpec): string {
  checkSpec(s);
  const meta = s.metadata ?? {};
  const disks = [rbdDisk(s, s.diskImage, "disk"), ...(s.seedImage ? [rbdDisk(s, s.seedImage, "cdrom")] : [])];
  const domain: XmlNode = {
    "@_type": s.domainType,
    name: s.name,
    ...(s.uuid ? { uuid: s.uuid } : {}),
    metadata: {
      "kvmcloud:vm": {
        "@_xmlns:kvmcloud": METADATA_NS,
        ...Object.fromEntries(Object.keys(meta).sort().map((k) => [`kvmcloud:${k}`, meta[k]])),
      },
    },
    memory: { "@_unit": "MiB", "#text": String(s.maxMemoryMiB ?? s.memoryMiB) },
    currentMemory: { "@_unit": "MiB", "#text": String(s.memoryMiB) },
    vcpu: { "@_placement": "static", "@_current": String(s.vcpus), "#text": String(s.maxVcpus ?? s.vcpus) },
    os: { type: { "@_arch": "x86_64", "@_machine": "pc", "#text": "hvm" }, boot: { "@_dev": "hd" } },
    features: { acpi: "", apic: "" },
    // host-model only means something with KVM; TCG emulates its default CPU.
    ...(s.domainType === "kvm" ? { cpu: { "@_mode": "host-model" } } : {}),
    clock: { "@_offset": "utc" },
    on_poweroff: "destroy",
    on_reboot: "restart",
    on_crash: "destroy",
    devices: {
      disk: disks,
      // The node's guest traffic policy; every node defines the filter (KvmNode), so the domain migrates anywhere.
      // libvirt learns the guest's address from its first packets after each start or migration (see README).
      interface: { "@_type": "bridge", mac: { "@_address": s.mac }, source: { "@_bridge": s.bridge }, model: { "@_type": "virtio" }, filterref: guestFilterRef(s.ip) },
      // The console also goes to a file on the node (virtlogd writes it), so a guest that never leases can be read.
      serial: { "@_type": "pty", log: { "@_file": consoleLogPath(s.name), "@_append": "off" }, target: { "@_port": "0" } },
      console: { "@_type": "pty", target: { "@_type": "serial", "@_port": "0" } },
      memballoon: { "@_model": "virtio" },
    },
  };
  return buildXml({ domain });
}
