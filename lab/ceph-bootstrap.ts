import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { CephMonitor, monHost } from "../lib/render/ceph-conf";
import { ceph, CEPH_COMMAND_TIMEOUT_MS, cephArgvAs, CephTarget } from "./ceph-cli";
import { startDaemon } from "./ceph-daemons";
import { CephFiles, renderLabCephConf, writeIfChanged, writeMarker } from "./ceph-files";
import { inNetns, output, run } from "./exec";

/**
 * The one-time creation of the lab cluster, done by hand the way the Ceph
 * manual deployment guide does it. Nothing here is idempotent on its own:
 * the caller wipes a state that lacks the marker written at the very end.
 */
export interface BootstrapOptions extends CephTarget {
  readonly files: CephFiles;
  readonly monitors: readonly CephMonitor[];
  readonly osds: number;
  readonly mgrId: string;
  readonly log: (s: string) => void;
  /** Resolves once every monitor is in quorum. */
  readonly waitQuorum: () => Promise<void>;
}

const MKFS_TIMEOUT_MS = 180_000;

async function createKeyrings(f: CephFiles): Promise<void> {
  const keyring = (file: string, name: string, caps: Record<string, string>) =>
    run(["ceph-authtool", "--create-keyring", file, "--gen-key", "-n", name, ...Object.entries(caps).flatMap(([k, v]) => ["--cap", k, v])]);
  await keyring(f.monKeyring, "mon.", { mon: "allow *" });
  await keyring(f.adminKeyring, "client.admin", { mon: "allow *", osd: "allow *", mds: "allow *", mgr: "allow *" });
  await keyring(f.bootstrapOsdKeyring, "client.bootstrap-osd", { mon: "profile bootstrap-osd", mgr: "allow r" });
  // The monitors learn every initial key from the mon. keyring at mkfs time.
  await run(["ceph-authtool", f.monKeyring, "--import-keyring", f.adminKeyring]);
  await run(["ceph-authtool", f.monKeyring, "--import-keyring", f.bootstrapOsdKeyring]);
  for (const file of [f.monKeyring, f.adminKeyring, f.bootstrapOsdKeyring]) {
    fs.chmodSync(file, 0o600);
  }
}

async function createMonitors(o: BootstrapOptions, fsid: string): Promise<void> {
  const f = o.files;
  const addv = o.monitors.flatMap((m) => ["--addv", m.name, monHost([m])]);
  await run(["monmaptool", "--create", "--clobber", "--fsid", fsid, ...addv, "--enable-all-features", f.monmap]);
  for (const m of o.monitors) {
    fs.mkdirSync(f.daemonDir("mon", m.name), { recursive: true });
    await run(inNetns(o.ns, ["ceph-mon", "-c", f.conf, "--mkfs", "-i", m.name, "--monmap", f.monmap, "--keyring", f.monKeyring]), {
      timeoutMs: MKFS_TIMEOUT_MS,
    });
  }
  await Promise.all(o.monitors.map((m) => startDaemon(f, o.ns, { type: "mon", id: m.name })));
  o.log(`ceph: ${o.monitors.length} monitors started; waiting for quorum`);
  await o.waitQuorum();
}

async function createMgr(o: BootstrapOptions): Promise<void> {
  const dir = o.files.daemonDir("mgr", o.mgrId);
  fs.mkdirSync(dir, { recursive: true });
  const caps = ["mon", "allow profile mgr", "osd", "allow *", "mds", "allow *"];
  await ceph(o, ["auth", "get-or-create", `mgr.${o.mgrId}`, ...caps, "-o", path.join(dir, "keyring")]);
  await startDaemon(o.files, o.ns, { type: "mgr", id: o.mgrId });
}

/** Registers one OSD with the monitors and writes its keyring; returns its uuid. */
async function registerOsd(o: BootstrapOptions, expectedId: number): Promise<string> {
  const f = o.files;
  const uuid = crypto.randomUUID();
  const secret = (await output(["ceph-authtool", "--gen-print-key"])).trim();
  // `osd new` with a cephx secret registers the OSD and its key (with the
  // standard OSD caps) in one step, as the bootstrap-osd identity may.
  const id = (
    await output(cephArgvAs(o, "client.bootstrap-osd", f.bootstrapOsdKeyring, "ceph", "osd", "new", uuid, "-i", "-"), {
      input: JSON.stringify({ cephx_secret: secret }),
      timeoutMs: CEPH_COMMAND_TIMEOUT_MS,
    })
  ).trim();
  if (id !== String(expectedId)) {
    throw new Error(`ceph osd new gave id "${id}" for a new OSD; expected ${expectedId} on a fresh cluster`);
  }
  const dir = f.daemonDir("osd", id);
  fs.mkdirSync(dir, { recursive: true });
  await run(["ceph-authtool", "--create-keyring", path.join(dir, "keyring"), "--name", `osd.${id}`, "--add-key", secret]);
  fs.chmodSync(path.join(dir, "keyring"), 0o600);
  return uuid;
}

async function mkfsAndStartOsd(o: BootstrapOptions, id: string, uuid: string): Promise<void> {
  await run(inNetns(o.ns, ["ceph-osd", "-c", o.files.conf, "-i", id, "--mkfs", "--osd-uuid", uuid]), { timeoutMs: MKFS_TIMEOUT_MS });
  await startDaemon(o.files, o.ns, { type: "osd", id });
}

/** Creates and starts a new cluster in an empty state directory; returns its fsid. */
export async function bootstrapCeph(o: BootstrapOptions): Promise<string> {
  const f = o.files;
  for (const dir of [f.dir, f.run, f.log, path.join(f.dir, "crash")]) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o750 });
  }
  const fsid = crypto.randomUUID();
  writeIfChanged(f.fsid, fsid + "\n");
  writeIfChanged(f.conf, renderLabCephConf(f, fsid, o.monitors));
  o.log(`ceph: bootstrapping cluster ${fsid}`);
  await createKeyrings(f);
  await createMonitors(o, fsid);
  await createMgr(o);
  // Ids are handed out in order, so registration is sequential; the slow
  // part (BlueStore mkfs and first start) runs for all OSDs at once.
  const uuids: string[] = [];
  for (let i = 0; i < o.osds; i++) {
    uuids.push(await registerOsd(o, i));
  }
  o.log(`ceph: creating ${o.osds} osds`);
  await Promise.all(uuids.map((uuid, i) => mkfsAndStartOsd(o, String(i), uuid)));
  writeMarker(f, { version: 1, fsid, monitors: o.monitors, osds: o.osds });
  return fsid;
}
