/**
 * The lab's fixed shape: namespace names and addresses. Pure data, so the
 * lab's scripts, its description file and the tests agree on one picture.
 *
 * Every address here exists only inside namespaces that the lab creates.
 */

/** Prefix of every namespace, interface and process title the lab owns. */
export const PREFIX = "kcl";

export const PREFIX_LENGTH = 16;
export const NETWORK = "10.77.0.0";

/** The L2 segment: a bridge living in its own namespace. */
export const SWITCH_NS = `${PREFIX}-sw`;
export const SWITCH_BRIDGE = "labbr";

export type HostRole = "manager" | "dns" | "db" | "ceph" | "node" | "lb";

export interface LabHost {
  /** Short name (also the hostname). */
  readonly name: string;
  readonly role: HostRole;
  /** Network namespace name. */
  readonly ns: string;
  /** Primary address (without prefix length). */
  readonly address: string;
  /**
   * A bare Debian host (systemd-nspawn, lab/bare-host.ts) that the product's
   * stack sets up over SSH, rather than daemons the lab starts itself.
   */
  readonly bare: boolean;
}

function host(name: string, role: HostRole, address: string, extra: Partial<LabHost> = {}): LabHost {
  return {
    name,
    role,
    ns: `${PREFIX}-${name}`,
    address,
    bare: false,
    ...extra,
  };
}


export const HOSTS: readonly LabHost[] = [
  // Its dnsmasq comes from the product's stack (lab/lab-stack.ts), as does everything on the bare hosts.
  host("dns", "dns", "10.77.0.1", { bare: true }),
  host("mgr", "manager", "10.77.0.2"),
  host("db", "db", "10.77.0.3", { bare: true }),
  // A monitor and an OSD on a file each, the first with the manager: CephCluster.
  host("ceph1", "ceph", "10.77.0.11", { bare: true }),
  host("ceph2", "ceph", "10.77.0.12", { bare: true }),
  host("ceph3", "ceph", "10.77.0.13", { bare: true }),
  // KvmNode and the migration mesh.
  host("node1", "node", "10.77.0.21", { bare: true }),
  host("node2", "node", "10.77.0.22", { bare: true }),
  host("lb", "lb", "10.77.0.4", { bare: true }),
];

export const BARE_HOSTS: readonly LabHost[] = HOSTS.filter((h) => h.bare);

export function hostByName(name: string): LabHost {
  const h = HOSTS.find((x) => x.name === name);
  if (!h) {
    throw new Error(`unknown lab host "${name}"; known: ${HOSTS.map((x) => x.name).join(", ")}`);
  }
  return h;
}

export const NODES: readonly LabHost[] = HOSTS.filter((h) => h.role === "node");

export const CEPH_HOSTS: readonly LabHost[] = HOSTS.filter((h) => h.role === "ceph");

/** Addresses handed to VMs by the lab's dnsmasq. */
export const DHCP = {
  rangeStart: "10.77.100.10",
  rangeEnd: "10.77.100.250",
  netmask: "255.255.0.0",
  leaseTime: "1h",
  domain: "lab.kvmcloud",
} as const;

export const POSTGRES = { port: 5432, database: "kvmcloud", user: "kvmcloud" } as const;
export const REDIS = { port: 6379 } as const;

export const CEPH = {
  pool: "libvirt-pool",
  client: "libvirt",
  /** Each Ceph host's OSD file, and its size: the lab shares the machine's disk. */
  osdFile: "/var/lib/ceph/osd-files/0.img",
  osdFileSizeGiB: 2,
  baseImage: "kvmcloud-tiny",
  baseSnapshot: "base",
} as const;

/** Pure: the veth names joining a host to the switch (15-char limit of Linux). */
export function vethNames(h: LabHost): { hostSide: string; switchSide: string } {
  return { hostSide: `eth0`, switchSide: `${PREFIX}-${h.name}`.slice(0, 15) };
}

/**
 * The MAC of a host's eth0, fixed like a real NIC's (locally administered,
 * from the host's address): a namespace made again keeps it, so the MAC that
 * KvmNode read and pinned on br0 stays the NIC's.
 */
export function nicMac(h: LabHost): string {
  const [, b, c, d] = h.address.split(".").map(Number);
  return ["02", "6b", "63", ...[b, c, d].map((n) => n.toString(16).padStart(2, "0"))].join(":");
}
