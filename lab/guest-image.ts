import { createHash } from "crypto";
import { promises as fs } from "fs";
import * as os from "os";
import * as path from "path";
import { output, run } from "./exec";
import { collectModules, type ModuleInfo } from "./guest-modules";
import type { LabPaths } from "./paths";

/**
 * The lab's VM image: a Debian kernel plus a busybox initramfs on a FAT disk
 * booted by syslinux. Built from installed packages only (no network, no
 * mounts), so any Debian 12 host with the lab's packages can make it.
 */

const GUEST_DIR = path.join(__dirname, "guest");
const BUSYBOX = "/bin/busybox";
const IMAGE_NAME = "kvmcloud-tiny.img";
const STAMP_NAME = "kvmcloud-tiny.stamp";
/** Bump when the image layout changes in a way the hashed inputs do not show. */
const FORMAT = "kvmcloud-tiny/2";
const DISK_KIB = 65536;
/** Fixed timestamps make the initramfs reproducible (2024-01-01T00:00:00Z). */
const EPOCH = new Date(Date.UTC(2024, 0, 1));

/** Files of lab/guest and where they go in the initramfs. */
const GUEST_FILES = [
  { src: "init", dest: "init" },
  { src: "udhcpc.script", dest: "etc/kvmcloud/udhcpc.script" },
  { src: "info.cgi", dest: "www/cgi-bin/info" },
  { src: "cpu-online", dest: "etc/kvmcloud/cpu-online" },
  { src: "run-commands", dest: "etc/kvmcloud/run-commands" },
] as const;

export interface GuestImage {
  readonly diskPath: string;
  /** Hash of everything the image is built from: a new hash means a new base image. */
  readonly hash: string;
  readonly sizeBytes: number;
  readonly kernelVersion: string;
}

/** Orders version strings like `sort -V` for the parts kernels use. */
function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/);
  const pb = b.split(/[.-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? "";
    const y = pb[i] ?? "";
    const nx = /^\d+$/.test(x) ? Number(x) : NaN;
    const ny = /^\d+$/.test(y) ? Number(y) : NaN;
    const c = !isNaN(nx) && !isNaN(ny) ? nx - ny : x.localeCompare(y);
    if (c !== 0) {
      return c;
    }
  }
  return 0;
}

async function newestKernel(): Promise<string> {
  const versions = (await fs.readdir("/boot"))
    .filter((f) => f.startsWith("vmlinuz-"))
    .map((f) => f.slice("vmlinuz-".length))
    .sort(compareVersions);
  if (versions.length === 0) {
    throw new Error("kernelVersion: no /boot/vmlinuz-* found; allowed: install linux-image-amd64 or pass kernelVersion");
  }
  return versions[versions.length - 1];
}

async function sha256File(file: string): Promise<string> {
  return createHash("sha256").update(await fs.readFile(file)).digest("hex");
}

/** Hash of everything that shapes the image; the build is skipped when it matches. */
async function inputsHash(kver: string, kernel: string, modules: readonly ModuleInfo[]): Promise<string> {
  const h = createHash("sha256");
  h.update(`${FORMAT}\n${kver}\n${(await fs.stat(kernel)).size}\n`);
  for (const f of GUEST_FILES) {
    h.update(`${f.dest} ${await sha256File(path.join(GUEST_DIR, f.src))}\n`);
  }
  h.update(`busybox ${await sha256File(BUSYBOX)}\n`);
  for (const m of modules) {
    h.update(`module ${m.filename}\n`);
  }
  return h.digest("hex");
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}

async function install(src: string, dest: string, mode: number): Promise<void> {
  await fs.mkdir(path.dirname(dest), { recursive: true });
  await fs.copyFile(src, dest);
  await fs.chmod(dest, mode);
}

/** Writes a gzip'd newc initramfs to `initrd` from a staging tree under `work`. */
async function buildInitramfs(work: string, initrd: string, kver: string, modules: readonly ModuleInfo[]): Promise<void> {
  const root = path.join(work, "root");
  for (const dir of ["bin", "sbin", "usr/bin", "usr/sbin", "dev", "proc", "sys", "tmp", "run", "root", "mnt/seed", "var/log", "etc/kvmcloud", "lib/modules"]) {
    await fs.mkdir(path.join(root, dir), { recursive: true });
  }
  await install(BUSYBOX, path.join(root, "bin/busybox"), 0o755);
  for (const f of GUEST_FILES) {
    await install(path.join(GUEST_DIR, f.src), path.join(root, f.dest), 0o755);
  }
  const loadList: string[] = [];
  for (const m of modules) {
    const base = path.basename(m.filename);
    const dest = path.join(root, "lib/modules", base);
    await install(m.filename, dest, 0o644);
    // busybox insmod cannot read compressed modules.
    if (base.endsWith(".xz")) {
      await run(["xz", "-d", dest]);
    } else if (base.endsWith(".zst")) {
      await run(["zstd", "-q", "-d", "--rm", dest]);
    } else if (base.endsWith(".gz")) {
      await run(["gzip", "-d", dest]);
    }
    loadList.push(`/lib/modules/${base.replace(/\.(xz|zst|gz)$/, "")}`);
  }
  await fs.writeFile(path.join(root, "etc/kvmcloud/modules"), loadList.join("\n") + "\n", { mode: 0o644 });
  await fs.writeFile(path.join(root, "etc/kvmcloud/kernel"), `${kver}\n`, { mode: 0o644 });

  const entries = (await output(["find", ".", "-mindepth", "1"], { cwd: root })).split("\n").filter(Boolean).sort();
  for (const e of entries) {
    await fs.lutimes(path.join(root, e), EPOCH, EPOCH);
  }
  const cpio = path.join(work, "initrd");
  await run(["cpio", "--quiet", "-o", "-H", "newc", "-R", "0:0", "--reproducible", "--force-local", "-O", cpio], {
    cwd: root,
    input: entries.join("\n") + "\n",
  });
  await run(["gzip", "-n", "-9", cpio]);
  await fs.rename(`${cpio}.gz`, initrd);
}

/**
 * no_timer_check: under TCG on a loaded host the kernel's early check that the
 * timer ticks through the IO-APIC can miss its window, and the guest panics
 * ("IO-APIC + timer doesn't work!") before it ever asks for a lease.
 */
const SYSLINUX_CFG = [
  "DEFAULT linux",
  "PROMPT 0",
  "TIMEOUT 0",
  "LABEL linux",
  "  KERNEL vmlinuz",
  "  APPEND initrd=initrd.gz console=ttyS0 quiet no_timer_check",
  "",
].join("\n");

/** A FAT "superfloppy" (no partition table) that SeaBIOS boots through syslinux. */
async function buildDisk(work: string, disk: string, kernel: string, initrd: string): Promise<void> {
  const cfg = path.join(work, "syslinux.cfg");
  await fs.writeFile(cfg, SYSLINUX_CFG);
  await fs.utimes(cfg, EPOCH, EPOCH);
  await fs.utimes(initrd, EPOCH, EPOCH);
  await fs.rm(disk, { force: true });
  // With SOURCE_DATE_EPOCH, --invariant, a fixed volume id and `mcopy -m`
  // the same inputs give a byte-identical disk.
  const env = { ...process.env, MTOOLS_SKIP_CHECK: "1", SOURCE_DATE_EPOCH: String(EPOCH.getTime() / 1000) };
  await run(["mkfs.vfat", "--invariant", "-i", "4b564d43", "-n", "KVMCLOUD", "-C", disk, String(DISK_KIB)], { env });
  await run(["syslinux", "--install", disk], { env });
  for (const [src, name] of [
    [kernel, "vmlinuz"],
    [initrd, "initrd.gz"],
    [cfg, "syslinux.cfg"],
  ]) {
    await run(["mcopy", "-o", "-m", "-i", disk, src, `::${name}`], { env });
  }
}

/** Where lab:up keeps the guest's disk image. */
export function guestImagePath(p: LabPaths): string {
  return path.join(p.images, IMAGE_NAME);
}

/**
 * Builds (or reuses) the guest disk image in `outDir`. Idempotent: skipped
 * when the image exists and the stamp of its inputs is unchanged.
 */
export async function buildGuestImage(outDir: string, opts: { kernelVersion?: string } = {}): Promise<GuestImage> {
  const kver = opts.kernelVersion ?? (await newestKernel());
  if (!/^[A-Za-z0-9._+-]+$/.test(kver)) {
    throw new Error(`kernelVersion: ${JSON.stringify(kver)} is not allowed; allowed: [A-Za-z0-9._+-]+ as in /boot/vmlinuz-VERSION`);
  }
  const kernel = `/boot/vmlinuz-${kver}`;
  if (!(await exists(kernel))) {
    throw new Error(`kernelVersion: ${JSON.stringify(kver)} has no ${kernel}; allowed: a version installed under /boot`);
  }
  await fs.mkdir(outDir, { recursive: true });
  const diskPath = path.join(outDir, IMAGE_NAME);
  const stampPath = path.join(outDir, STAMP_NAME);
  const modules = await collectModules(kver);
  const hash = await inputsHash(kver, kernel, modules);

  const stamp = await fs.readFile(stampPath, "utf8").catch(() => "");
  if (stamp.trim() === hash && (await exists(diskPath))) {
    return { diskPath, hash, sizeBytes: (await fs.stat(diskPath)).size, kernelVersion: kver };
  }

  // A private work directory next to the output keeps concurrent builds apart
  // and lets the finished image be renamed into place atomically.
  const work = await fs.mkdtemp(path.join(outDir, ".guest-build-"));
  try {
    const initrd = path.join(work, "initrd.gz");
    const disk = path.join(work, "disk.img");
    await buildInitramfs(work, initrd, kver, modules);
    await buildDisk(work, disk, kernel, initrd);
    await fs.rename(disk, diskPath);
    await fs.writeFile(stampPath, hash + "\n");
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
  return { diskPath, hash, sizeBytes: (await fs.stat(diskPath)).size, kernelVersion: kver };
}

/** Writes a NoCloud seed ISO (volume id `cidata`) holding the given files. */
export async function buildSeedImage(
  outPath: string,
  files: { metaData: string; userData: string; networkConfig?: string },
): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "kvmcloud-seed-"));
  const tmp = `${outPath}.tmp-${process.pid}`;
  try {
    const names = ["meta-data", "user-data"];
    await fs.writeFile(path.join(dir, "meta-data"), files.metaData);
    await fs.writeFile(path.join(dir, "user-data"), files.userData);
    if (files.networkConfig !== undefined) {
      await fs.writeFile(path.join(dir, "network-config"), files.networkConfig);
      names.push("network-config");
    }
    await fs.mkdir(path.dirname(path.resolve(outPath)), { recursive: true });
    await run(["genisoimage", "-quiet", "-output", tmp, "-volid", "cidata", "-joliet", "-rock", ...names], { cwd: dir });
    await fs.rename(tmp, outPath);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
    await fs.rm(tmp, { force: true });
  }
}
