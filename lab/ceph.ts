import * as fs from "fs";
import { CephMonitor } from "../lib/render/ceph-conf";
import { bootstrapCeph } from "./ceph-bootstrap";
import { cephJson, CephTarget } from "./ceph-cli";
import { CephDaemon, daemonName, findCephProcesses, startDaemon, stopProcesses } from "./ceph-daemons";
import { cephFiles, CephFiles, readMarker, renderLabCephClientConf, renderLabCephConf, wipeCephState, writeIfChanged } from "./ceph-files";
import { ensureCephResources } from "./ceph-resources";
import { run, waitFor } from "./exec";

export { cephArgv } from "./ceph-cli";
export type { CephTarget, CephTool } from "./ceph-cli";

/**
 * The lab's Ceph cluster: three monitors, one mgr and file-backed OSDs, all
 * on one machine inside the Ceph namespace, started by hand (no systemd).
 */
export interface CephLabOptions extends CephTarget {
  readonly monitors: readonly CephMonitor[];
  readonly osds: number;
  readonly pool: string;
  /** Client name without the `client.` prefix, e.g. `libvirt`. */
  readonly client: string;
  readonly log?: (s: string) => void;
}

export interface CephLab {
  readonly fsid: string;
  /** The cluster's own ceph.conf (daemon paths in the state directory). */
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

const MGR_ID = "x";
const NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

interface StatusJson {
  health: { status: CephHealthStatus; checks?: Record<string, { summary?: { message?: string }; muted?: boolean }> };
  quorum_names?: string[];
  osdmap: { num_up_osds?: number; num_in_osds?: number; osdmap?: { num_up_osds?: number; num_in_osds?: number } };
  pgmap?: { num_pgs?: number; pgs_by_state?: Array<{ state_name: string; count: number }> };
  mgrmap?: { available?: boolean };
}

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

function describe(h: CephHealth): string {
  return `${h.status}, ${h.monsInQuorum} mons in quorum, ${h.osdsUp} osds up / ${h.osdsIn} in, mgr ${h.mgrAvailable ? "up" : "down"}, ${h.pgsActive}/${h.pgsTotal} pgs active${h.checks.length ? `; ${h.checks.join("; ")}` : ""}`;
}

/** Polls the cluster until `ok`, then returns its health; the error tells what was last seen. */
async function waitHealth(t: CephTarget, what: string, ok: (h: CephHealth) => boolean, timeoutMs: number): Promise<CephHealth> {
  let last = "no answer from the monitors";
  try {
    return await waitFor(
      what,
      async () => {
        const h = await cephHealth(t);
        last = describe(h);
        return ok(h) ? h : undefined;
      },
      timeoutMs,
      1000,
    );
  } catch (e) {
    throw new Error(`${(e as Error).message}; last seen: ${last}`);
  }
}

function checkOptions(o: CephLabOptions): void {
  const bad = (field: string, value: unknown, allowed: string) => new Error(`ensureCeph: ${field} is ${JSON.stringify(value)}; allowed: ${allowed}`);
  if (!Number.isInteger(o.osds) || o.osds < 1 || o.osds > 32) throw bad("osds", o.osds, "an integer from 1 to 32");
  if (!NAME.test(o.pool)) throw bad("pool", o.pool, "lower-case letters, digits, '_', '.', '-' (63 at most)");
  if (!NAME.test(o.client) || o.client.includes(".")) throw bad("client", o.client, "lower-case letters, digits, '_', '-' (no 'client.' prefix)");
  if (!NAME.test(o.ns)) throw bad("ns", o.ns, "an existing network namespace name");
}

/** Fails early, with a useful message, when the namespace is not ready for the monitors. */
async function checkNamespace(o: CephLabOptions): Promise<void> {
  const r = await run(["ip", "-n", o.ns, "-j", "addr", "show"], { allowFail: true, timeoutMs: 10_000 });
  if (r.code !== 0) {
    throw new Error(`network namespace "${o.ns}" is not usable (create it first): ${r.stderr.trim()}`);
  }
  const links = JSON.parse(r.stdout) as Array<{ addr_info?: Array<{ local?: string }> }>;
  const have = new Set(links.flatMap((l) => (l.addr_info ?? []).map((a) => a.local)));
  const missing = o.monitors.filter((m) => !have.has(m.address)).map((m) => m.address);
  if (missing.length > 0) {
    throw new Error(`namespace "${o.ns}" lacks the monitor address(es) ${missing.join(", ")}; it has ${[...have].join(", ") || "none"}`);
  }
}

function wanted(o: CephLabOptions): CephDaemon[] {
  return [
    ...o.monitors.map((m) => ({ type: "mon" as const, id: m.name })),
    { type: "mgr", id: MGR_ID },
    ...Array.from({ length: o.osds }, (_, i) => ({ type: "osd" as const, id: String(i) })),
  ];
}

/** Restarts, from the existing state, whatever daemon is not running in the namespace. */
async function restartMissing(o: CephLabOptions, f: CephFiles, log: (s: string) => void): Promise<void> {
  const procs = findCephProcesses(f, o.ns);
  const strays = procs.filter((p) => !p.inNamespace);
  if (strays.length > 0) {
    // Left in a namespace that has since been deleted: alive, but unreachable.
    log(`ceph: stopping ${strays.length} daemon(s) outside namespace ${o.ns}: ${strays.map(daemonName).join(", ")}`);
    await stopProcesses(strays, log);
  }
  const running = new Set(procs.filter((p) => p.inNamespace).map(daemonName));
  const missing = wanted(o).filter((d) => !running.has(daemonName(d)));
  if (missing.length === 0) {
    return;
  }
  log(`ceph: starting ${missing.map(daemonName).join(", ")}`);
  const mons = missing.filter((d) => d.type === "mon");
  await Promise.all(mons.map((d) => startDaemon(f, o.ns, d)));
  if (mons.length > 0) {
    await waitHealth(o, `quorum of ${o.monitors.length} monitors`, (h) => h.monsInQuorum === o.monitors.length, 120_000);
  }
  await Promise.all(missing.filter((x) => x.type !== "mon").map((d) => startDaemon(f, o.ns, d)));
}

/**
 * Brings the lab's Ceph cluster to a running, healthy state. Idempotent: a
 * healthy cluster is left alone, dead daemons are restarted from their state,
 * and a half-made state (no marker) is wiped and made anew.
 */
export async function ensureCeph(o: CephLabOptions): Promise<CephLab> {
  const log = o.log ?? (() => undefined);
  checkOptions(o);
  await checkNamespace(o);
  const f = cephFiles(o.paths);
  let marker = readMarker(f);
  if (!marker) {
    const leftovers = findCephProcesses(f, o.ns);
    if (leftovers.length > 0 || (fs.existsSync(f.dir) && fs.readdirSync(f.dir).length > 0)) {
      log(`ceph: state at ${f.dir} is incomplete; stopping ${leftovers.length} daemon(s) and starting over`);
      await stopProcesses(leftovers, log);
      wipeCephState(f);
    }
    const waitQuorum = async () => {
      await waitHealth(o, `quorum of ${o.monitors.length} monitors`, (h) => h.monsInQuorum === o.monitors.length, 120_000);
    };
    await bootstrapCeph({ ...o, files: f, mgrId: MGR_ID, log, waitQuorum });
    marker = readMarker(f);
    if (!marker) {
      throw new Error(`ceph bootstrap finished without writing ${f.marker}`);
    }
  } else {
    const made = (field: string, had: unknown, asked: unknown) =>
      new Error(`ensureCeph: ${field} is ${JSON.stringify(asked)} but the cluster at ${f.dir} was made with ${JSON.stringify(had)}; remove ${f.dir} (lab down) to make a new cluster`);
    const mons = (ms: readonly CephMonitor[]) => ms.map((m) => `${m.name}=${m.address}`).join(",");
    if (mons(marker.monitors) !== mons(o.monitors)) throw made("monitors", mons(marker.monitors), mons(o.monitors));
    if (marker.osds !== o.osds) throw made("osds", marker.osds, o.osds);
    if (writeIfChanged(f.conf, renderLabCephConf(f, marker.fsid, marker.monitors))) {
      log(`ceph: rewrote ${f.conf}; running daemons keep their old settings until restarted`);
    }
    await restartMissing(o, f, log);
  }
  writeIfChanged(f.clientConf, renderLabCephClientConf(marker.fsid, marker.monitors));

  await waitHealth(o, "all monitors, the mgr and all osds", (h) => h.monsInQuorum === o.monitors.length && h.mgrAvailable && h.osdsUp === o.osds && h.osdsIn === o.osds, 240_000);
  const clientKey = await ensureCephResources({ ...o, files: f, log });
  const active = await waitHealth(o, "all placement groups active", (h) => h.pgsTotal > 0 && h.pgsActive === h.pgsTotal, 240_000);
  // HEALTH_OK is the aim but not a precondition: a warning leaves the lab usable.
  const health =
    active.status === "HEALTH_OK" ? active : await waitHealth(o, "HEALTH_OK", (h) => h.status === "HEALTH_OK", 120_000).catch(async () => cephHealth(o));
  if (health.status !== "HEALTH_OK") {
    log(`ceph: cluster is ${describe(health)}`);
  }
  return {
    fsid: marker.fsid,
    configPath: f.conf,
    clientConfigPath: f.clientConf,
    adminKeyringPath: f.adminKeyring,
    clientKeyringPath: f.clientKeyring(o.client),
    clientKey,
  };
}

/** Stops every Ceph daemon of the lab (SIGTERM, bounded wait, SIGKILL). The state stays. */
export async function stopCeph(o: CephTarget & { readonly log?: (s: string) => void }): Promise<void> {
  const log = o.log ?? (() => undefined);
  const procs = findCephProcesses(cephFiles(o.paths), o.ns);
  if (procs.length > 0) {
    log(`ceph: stopping ${procs.map(daemonName).join(", ")}`);
    await stopProcesses(procs, log);
  }
}
