import { cephJson, CephTarget } from "./ceph-cli";
import { cephFiles, writeCephClientFiles } from "./ceph-files";
import { inNetns, output, waitFor } from "./exec";
import { LabPaths } from "./paths";
import type { LabCloud } from "./lab-stack";
import { labSshArgv } from "./ssh-client";
import { CEPH_HOSTS, hostByName } from "./topology";

export { cephArgv } from "./ceph-cli";
export type { CephTarget, CephTool } from "./ceph-cli";

/**
 * The lab's side of the Ceph cluster that CephCluster builds on the bare
 * hosts ceph1-ceph3 (the whole stack, lab/lab-stack.ts): client files for the lab's tools and
 * the KVM nodes, and the cluster's health as `ceph status` reports it.
 */

export interface CephLab {
  readonly fsid: string;
  /** ceph.conf for the lab's tools (client.admin), used from the manager namespace. */
  readonly configPath: string;
  /** ceph.conf for KVM nodes: copy to /etc/ceph/ceph.conf next to the client keyring. */
  readonly clientConfigPath: string;
  readonly adminKeyringPath: string;
  /** Keyring of client.<client>; copy to /etc/ceph/ceph.client.<client>.keyring. */
  readonly clientKeyringPath: string;
  /** The client's base64 secret, as libvirt's ceph secret wants it. */
  readonly clientKey: string;
}

export type CephHealthStatus = "HEALTH_OK" | "HEALTH_WARN" | "HEALTH_ERR";

export interface CephHealth {
  readonly status: CephHealthStatus;
  /** `CODE: message` of every active health check, muted ones marked. */
  readonly checks: string[];
  readonly monsInQuorum: number;
  readonly osdsUp: number;
  readonly osdsIn: number;
  readonly mgrAvailable: boolean;
  readonly pgsTotal: number;
  readonly pgsActive: number;
}

interface StatusJson {
  health: { status: CephHealthStatus; checks?: Record<string, { summary?: { message?: string }; muted?: boolean }> };
  quorum_names?: string[];
  osdmap: { num_up_osds?: number; num_in_osds?: number; osdmap?: { num_up_osds?: number; num_in_osds?: number } };
  pgmap?: { num_pgs?: number; pgs_by_state?: Array<{ state_name: string; count: number }> };
  mgrmap?: { available?: boolean };
}

/** The lab's tools reach the monitors from the manager namespace, as client.admin. */
export function cephTarget(p: LabPaths): CephTarget {
  return { paths: p, ns: hostByName("mgr").ns };
}

/** The lab's cluster: one OSD per Ceph host. */
export const LAB_OSDS = CEPH_HOSTS.length;

/** Health, quorum and OSD counts of the lab cluster, from one `ceph status`. */
export async function cephHealth(t: CephTarget): Promise<CephHealth> {
  const s = await cephJson<StatusJson>(t, ["status"], { timeoutMs: 30_000 });
  // Nautilus nested the OSD counts one level deeper; accept both shapes.
  const osdmap = s.osdmap.osdmap ?? s.osdmap;
  const states = s.pgmap?.pgs_by_state ?? [];
  return {
    status: s.health.status,
    checks: Object.entries(s.health.checks ?? {}).map(([code, c]) => `${code}: ${c.summary?.message ?? "?"}${c.muted ? " (muted)" : ""}`),
    monsInQuorum: s.quorum_names?.length ?? 0,
    osdsUp: osdmap.num_up_osds ?? 0,
    osdsIn: osdmap.num_in_osds ?? 0,
    mgrAvailable: s.mgrmap?.available === true,
    pgsTotal: s.pgmap?.num_pgs ?? 0,
    pgsActive: states.filter((x) => x.state_name.split("+").includes("active")).reduce((n, x) => n + x.count, 0),
  };
}

export function describeHealth(h: CephHealth): string {
  return `${h.status}, ${h.monsInQuorum} mons in quorum, ${h.osdsUp} osds up / ${h.osdsIn} in, mgr ${h.mgrAvailable ? "up" : "down"}, ${h.pgsActive}/${h.pgsTotal} pgs active${h.checks.length ? `; ${h.checks.join("; ")}` : ""}`;
}

/** Polls the cluster until `ok`, then returns its health; the error tells what was last seen. */
export async function waitHealth(t: CephTarget, what: string, ok: (h: CephHealth) => boolean, timeoutMs: number): Promise<CephHealth> {
  let last = "no answer from the monitors";
  try {
    return await waitFor(
      what,
      async () => {
        const h = await cephHealth(t);
        last = describeHealth(h);
        return ok(h) ? h : undefined;
      },
      timeoutMs,
      1000,
    );
  } catch (e) {
    throw new Error(`${(e as Error).message}; last seen: ${last}`);
  }
}

/** Every monitor in quorum, the manager up, every OSD up and in, every placement group active. */
export function cephWhole(h: CephHealth): boolean {
  return h.monsInQuorum === CEPH_HOSTS.length && h.mgrAvailable && h.osdsUp === LAB_OSDS && h.osdsIn === LAB_OSDS && h.pgsTotal > 0 && h.pgsActive === h.pgsTotal;
}

/**
 * The lab's client files for the built cluster: the admin keyring as an
 * operator fetches it, over SSH from the first monitor host, the client
 * identity's from the stack's (secret) output; then waits until the cluster is whole.
 */
export async function ensureCephClient(p: LabPaths, ssh: Parameters<typeof labSshArgv>[0], built: LabCloud["ceph"], log: (l: string) => void): Promise<CephLab> {
  const first = CEPH_HOSTS[0];
  const adminKeyring = await output(inNetns(hostByName("mgr").ns, labSshArgv(ssh, first.address, ["cat", "/etc/ceph/ceph.client.admin.keyring"])), { timeoutMs: 30_000 });
  const f = cephFiles(p);
  const changed = writeCephClientFiles(f, { ...built, adminKeyring });
  if (changed.length > 0) log(`ceph: wrote ${changed.map((c) => c.slice(f.dir.length + 1)).join(", ")}`);
  const t = cephTarget(p);
  const h = await waitHealth(t, "a whole cluster (every monitor, the manager, every OSD, every placement group active)", cephWhole, 300_000);
  if (h.status !== "HEALTH_OK") log(`ceph: cluster is ${describeHealth(h)}`);
  return {
    fsid: built.fsid,
    configPath: f.conf,
    clientConfigPath: f.clientConf,
    adminKeyringPath: f.adminKeyring,
    clientKeyringPath: f.clientKeyring(built.clientName),
    clientKey: built.clientKey,
  };
}
