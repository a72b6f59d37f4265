import * as fs from "fs";
import * as path from "path";
import { CEPH_MIN_OSD_MEMORY_TARGET, CephMonitor, renderCephClientConf, renderCephConf } from "../lib/render/ceph-conf";
import { LabPaths } from "./paths";
import { NETWORK, PREFIX_LENGTH } from "./topology";

/**
 * Where the lab's Ceph cluster keeps its files: everything under
 * `paths.ceph`, so removing that one directory forgets the cluster.
 */
export interface CephFiles {
  readonly dir: string;
  readonly conf: string;
  /** ceph.conf for client machines (the KVM nodes): fsid, mon_host, keyring path. */
  readonly clientConf: string;
  readonly fsid: string;
  /** Written once every daemon has been created; without it the state is half-made. */
  readonly marker: string;
  readonly monKeyring: string;
  readonly adminKeyring: string;
  readonly bootstrapOsdKeyring: string;
  readonly monmap: string;
  readonly run: string;
  readonly log: string;
  daemonDir(type: "mon" | "mgr" | "osd", id: string): string;
  clientKeyring(client: string): string;
}

export function cephFiles(p: LabPaths): CephFiles {
  const dir = p.ceph;
  return {
    dir,
    conf: path.join(dir, "ceph.conf"),
    clientConf: path.join(dir, "client", "ceph.conf"),
    fsid: path.join(dir, "fsid"),
    marker: path.join(dir, "bootstrapped.json"),
    monKeyring: path.join(dir, "ceph.mon.keyring"),
    // Named $cluster.$name.keyring so the [client] keyring setting finds it.
    adminKeyring: path.join(dir, "ceph.client.admin.keyring"),
    bootstrapOsdKeyring: path.join(dir, "ceph.client.bootstrap-osd.keyring"),
    monmap: path.join(dir, "monmap"),
    run: path.join(dir, "run"),
    log: path.join(dir, "log"),
    daemonDir: (type, id) => path.join(dir, type, id),
    clientKeyring: (client) => path.join(dir, `ceph.client.${client}.keyring`),
  };
}

/** The lab's choices for a cluster living on one machine. */
export function renderLabCephConf(files: CephFiles, fsid: string, monitors: readonly CephMonitor[]): string {
  return renderCephConf({
    fsid,
    monitors,
    publicNetwork: `${NETWORK}/${PREFIX_LENGTH}`,
    osdPoolDefaultSize: 3,
    singleHost: true,
    osdMemoryTargetBytes: CEPH_MIN_OSD_MEMORY_TARGET,
    bluestoreBlockSizeBytes: 2 * 1024 ** 3,
    dataDir: files.dir,
    runDir: files.run,
    logDir: files.log,
    extra: {
      // The lab shares the host's disk, whose free share says nothing about
      // the cluster; Ceph's default (30 %) would keep it in HEALTH_WARN.
      mon: { mon_data_avail_warn: 10 },
      // At Ceph's default (debug) the cluster log gains a pgmap line every
      // few seconds, growing the state directory for as long as the lab runs.
      global: { mon_cluster_log_file_level: "info" },
    },
  });
}

export function renderLabCephClientConf(fsid: string, monitors: readonly CephMonitor[]): string {
  return renderCephClientConf({ fsid, monitors });
}

/** Writes file only when its content changes, atomically, and says whether it did. */
export function writeIfChanged(file: string, content: string, mode = 0o644): boolean {
  try {
    if (fs.readFileSync(file, "utf8") === content) {
      return false;
    }
  } catch {
    // Missing: written below.
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file + ".tmp", content, { mode });
  fs.renameSync(file + ".tmp", file);
  return true;
}

/** What the first bootstrap created; later runs must ask for the same. */
export interface CephMarker {
  readonly version: 1;
  readonly fsid: string;
  readonly monitors: readonly CephMonitor[];
  readonly osds: number;
}

export function readMarker(files: CephFiles): CephMarker | undefined {
  try {
    const m = JSON.parse(fs.readFileSync(files.marker, "utf8")) as CephMarker;
    return m.version === 1 && typeof m.fsid === "string" ? m : undefined;
  } catch {
    return undefined;
  }
}

export function writeMarker(files: CephFiles, m: CephMarker): void {
  writeIfChanged(files.marker, JSON.stringify(m, null, 2) + "\n");
}

/** Removes the whole Ceph state, refusing anything that does not look like it. */
export function wipeCephState(files: CephFiles): void {
  const dir = path.resolve(files.dir);
  if (!path.isAbsolute(files.dir) || path.basename(dir) !== "ceph" || dir.split(path.sep).filter(Boolean).length < 2) {
    throw new Error(`refusing to wipe Ceph state at "${files.dir}": expected an absolute path ending in /ceph below a state directory`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
}
