import { CephConfOptions, CephMonitor, checkCephConfExtra } from "./ceph-conf";
import { checkCidr, inCidr } from "../core/cidr";
import { check } from "../core/errors";
import { checkIPv4 } from "../core/network";
import { checkCephUser, DEFAULT_CEPH_CLIENT } from "./ceph-user";

/** The RBD pool for VM disks when none is named. */
export const DEFAULT_VM_POOL = "libvirt-pool";

/**
 * The shape of a Ceph cluster, checked and laid out before anything exists:
 * which host runs which daemon. Pure, so the component fails a bad shape
 * before registering a resource and tests can check every rule.
 */
export interface CephHostSpec {
  /** Daemon id of the host's mon and mgr: lower-case letters and digits. */
  readonly name: string;
  /** The host's address on the public network (monitors bind it). */
  readonly address: string;
  /** Whole block devices given to BlueStore, one OSD each (wiped!). */
  readonly devices: readonly string[];
  /**
   * Files made for BlueStore, one OSD each, of osdFileSizeGiB (sparse). For
   * hosts without a spare disk, such as test beds and containers: an OSD on a
   * file shares the host's disk, so it is no production layout. Default none.
   */
  readonly osdFiles?: readonly string[];
}

/** The cluster's settings besides its hosts; the component's args and the stack config share them. */
export interface CephClusterSettings {
  /** CIDR holding every host address (ceph.conf public_network). No default. */
  readonly publicNetwork: string;
  /** Number of monitors, on the first hosts: odd, at most the number of hosts. Default 3. */
  readonly monitors?: number;
  /** Number of managers, on the first hosts. Default 1. */
  readonly managers?: number;
  /** RBD pool for VM disks. Default "libvirt-pool". */
  readonly pool?: string;
  /** Placement groups of the pool (power of two). Default 32. */
  readonly pgCount?: number;
  /** Replicas per object, each on its own host. Default 3. */
  readonly replicaSize?: number;
  /** cephx user for libvirt, without `client.`. Default "libvirt". */
  readonly clientName?: string;
  /** Size of each file-backed OSD (hosts' osdFiles), created sparse. Default 10 GiB. */
  readonly osdFileSizeGiB?: number;
  /**
   * Further ceph.conf settings per section (global, mon, mgr, osd, client),
   * after and over the rendered ones, e.g. `{ osd: { osd_memory_target: 1073741824 } }`.
   * Default none.
   */
  readonly confOverrides?: CephConfOptions["extra"];
}

export interface CephClusterSpec extends CephClusterSettings {
  readonly hosts: readonly CephHostSpec[];
}

/** One OSD: on a whole device, or on a file of the plan's osdFileSizeGiB. */
export type CephOsdSpec = { readonly host: string; readonly device: string } | { readonly host: string; readonly file: string };

export interface CephPlan {
  readonly monitors: readonly CephMonitor[];
  /** Host names that run a manager. */
  readonly managers: readonly string[];
  readonly osds: readonly CephOsdSpec[];
  readonly publicNetwork: string;
  readonly pool: string;
  readonly pgCount: number;
  readonly replicaSize: number;
  readonly clientName: string;
  readonly osdFileSizeGiB: number;
  readonly confOverrides: NonNullable<CephConfOptions["extra"]>;
}

const NAME = /^[a-z0-9]{1,32}$/;
const DEVICE = /^\/dev\/[A-Za-z0-9_.\/-]+$/;
const OSD_FILE = /^\/[A-Za-z0-9_.\/-]+$/;
const POOL_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** A Ceph pool name, as every script and libvirt's pool XML use it unquoted. */
export function checkPoolName(field: string, v: unknown): asserts v is string {
  check(typeof v === "string" && POOL_NAME.test(v), field, v, "a pool name of 1-64 characters [A-Za-z0-9_.-]");
}

/** Checks a cluster spec (each error names the field, value and what is allowed) and lays out its daemons. */
export function planCephCluster(s: CephClusterSpec): CephPlan {
  check(Array.isArray(s.hosts) && s.hosts.length > 0, "hosts", s.hosts, "a non-empty list of { name, address, devices }");
  checkCidr("publicNetwork", s.publicNetwork);
  const names = new Set<string>();
  const addresses = new Set<string>();
  s.hosts.forEach((h, i) => {
    const f = `hosts[${i}]`;
    check(NAME.test(h.name), `${f}.name`, h.name, "1-32 lower-case letters and digits (it is the mon/mgr id)");
    check(!names.has(h.name), `${f}.name`, h.name, "a name no other Ceph host has");
    checkIPv4(`${f}.address`, h.address);
    check(!addresses.has(h.address), `${f}.address`, h.address, "an address no other Ceph host has");
    check(inCidr(h.address, s.publicNetwork), `${f}.address`, h.address, `an address inside publicNetwork ${s.publicNetwork}`);
    check(Array.isArray(h.devices), `${f}.devices`, h.devices, "a list of block devices like /dev/sdb (may be empty)");
    const devices = new Set<string>();
    h.devices.forEach((d, j) => {
      check(DEVICE.test(d) && !d.includes(".."), `${f}.devices[${j}]`, d, "a block device path under /dev like /dev/sdb or /dev/disk/by-id/...");
      check(!devices.has(d), `${f}.devices[${j}]`, d, "a device listed once per host");
      devices.add(d);
    });
    const files = h.osdFiles ?? [];
    check(Array.isArray(files), `${f}.osdFiles`, files, "a list of absolute file paths like /var/lib/ceph/osd-files/0.img (may be empty)");
    files.forEach((file, j) => {
      check(typeof file === "string" && OSD_FILE.test(file) && !file.split("/").includes("..") && !file.startsWith("/dev/"), `${f}.osdFiles[${j}]`, file,
        "an absolute file path of [A-Za-z0-9_./-] outside /dev, like /var/lib/ceph/osd-files/0.img");
      check(files.indexOf(file) === j, `${f}.osdFiles[${j}]`, file, "a file listed once per host");
    });
    names.add(h.name);
    addresses.add(h.address);
  });
  const n = s.hosts.length;
  const monitors = s.monitors ?? 3;
  check(Number.isInteger(monitors) && monitors >= 1 && monitors % 2 === 1 && monitors <= n, "monitors", monitors,
    `an odd number from 1 to ${n} (the number of hosts): monitors need a majority, so an even count adds no tolerance`);
  const managers = s.managers ?? 1;
  check(Number.isInteger(managers) && managers >= 1 && managers <= n, "managers", managers, `an integer from 1 to ${n} (the number of hosts)`);
  const pool = s.pool ?? DEFAULT_VM_POOL;
  checkPoolName("pool", pool);
  const pgCount = s.pgCount ?? 32;
  check(Number.isInteger(pgCount) && pgCount >= 1 && pgCount <= 32768 && (pgCount & (pgCount - 1)) === 0, "pgCount", pgCount, "a power of two from 1 to 32768");
  const osds: CephOsdSpec[] = s.hosts.flatMap((h) => [
    ...h.devices.map((device) => ({ host: h.name, device })),
    ...(h.osdFiles ?? []).map((file) => ({ host: h.name, file })),
  ]);
  const osdHosts = new Set(osds.map((o) => o.host)).size;
  const osdFileSizeGiB = s.osdFileSizeGiB ?? 10;
  check(Number.isInteger(osdFileSizeGiB) && osdFileSizeGiB >= 1 && osdFileSizeGiB <= 65536, "osdFileSizeGiB", osdFileSizeGiB, "an integer from 1 to 65536");
  const replicaSize = s.replicaSize ?? 3;
  check(Number.isInteger(replicaSize) && replicaSize >= 1 && replicaSize <= 10, "replicaSize", replicaSize, "an integer from 1 to 10");
  check(replicaSize <= osdHosts, "replicaSize", replicaSize,
    `at most ${osdHosts}, the number of hosts with OSD devices or files (replicas go to distinct hosts)`);
  const clientName = s.clientName ?? DEFAULT_CEPH_CLIENT;
  checkCephUser("clientName", clientName);
  checkCephConfExtra(s.confOverrides, "confOverrides");
  return {
    monitors: s.hosts.slice(0, monitors).map((h) => ({ name: h.name, address: h.address })),
    managers: s.hosts.slice(0, managers).map((h) => h.name),
    osds,
    publicNetwork: s.publicNetwork,
    pool,
    pgCount,
    replicaSize,
    clientName,
    osdFileSizeGiB,
    confOverrides: s.confOverrides ?? {},
  };
}
