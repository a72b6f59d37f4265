import { spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { run, succeeds, waitFor } from "./exec";
import { processAlive } from "./host-exec";
import { LabPaths } from "./paths";
import { LabHost } from "./topology";

/**
 * A bare Debian host for the lab: the machine's own Debian booted with
 * systemd as PID 1 by systemd-nspawn, in the host's network namespace, with
 * nothing running but sshd. The product's stack then sets it up over SSH, as
 * it would a real host (recipe and its reasons: ../shared/LAB-NOTES.md).
 *
 * Its root is an overlayfs: the machine's / below, a layer of the host's own
 * above, mounted in a private mount namespace that lives as long as nspawn.
 */

/** Files of a bare host under the lab's state directory. */
export function bareHostFiles(p: LabPaths, h: LabHost) {
  const dir = path.join(p.state, "hosts", h.name);
  return {
    dir,
    upper: path.join(dir, "upper"),
    work: path.join(dir, "work"),
    root: path.join(dir, "root"),
    console: path.join(dir, "console.log"),
    hostKey: path.join(dir, "ssh_host_ed25519_key"),
  };
}

/** Units the machine has enabled stay off in a host (ssh aside): the stack decides what runs. */
const KEEP_ENABLED = new Set(["ssh.service"]);

/** A character device 0/0 in the upper layer hides the lower file of that name. */
async function whiteout(upper: string, file: string): Promise<void> {
  const at = path.join(upper, file);
  if (fs.existsSync(at)) return;
  fs.mkdirSync(path.dirname(at), { recursive: true });
  await run(["mknod", at, "c", "0", "0"]);
}

/**
 * The machine's root home must not show through: its start-up files (pyenv)
 * make every login slow, and its .ssh holds the machine's own keys. An opaque
 * directory hides all of the lower one, also what appears there later
 * (whiting out each entry missed /root/.ssh, made after the layer was).
 */
async function ownRootHome(upper: string): Promise<void> {
  const home = path.join(upper, "root");
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  await run(["setfattr", "-n", "trusted.overlay.opaque", "-v", "y", home]);
  // Whiteouts of earlier layers are moot under an opaque directory, and one named .ssh would block the key directory.
  for (const entry of fs.readdirSync(home)) {
    if (fs.lstatSync(path.join(home, entry)).isCharacterDevice()) fs.rmSync(path.join(home, entry));
  }
  fs.mkdirSync(path.join(home, ".ssh"), { recursive: true, mode: 0o700 });
  fs.chmodSync(home, 0o700);
}

/** The host's own layer: identity, keys, a clean /root, services off, apt allowed to start services. */
async function prepareLayer(p: LabPaths, h: LabHost, publicKey: string): Promise<void> {
  const f = bareHostFiles(p, h);
  const u = f.upper;
  fs.mkdirSync(path.join(u, "etc/ssh/sshd_config.d"), { recursive: true });
  fs.writeFileSync(path.join(u, "etc/hostname"), `${h.name}\n`);
  fs.writeFileSync(path.join(u, "etc/hosts"), `127.0.0.1 localhost\n127.0.1.1 ${h.name}\n${h.address} ${h.name}\n`);
  const machineId = path.join(u, "etc/machine-id");
  if (!fs.existsSync(machineId)) fs.writeFileSync(machineId, crypto.randomBytes(16).toString("hex") + "\n");
  const wants = "/etc/systemd/system";
  for (const dir of fs.readdirSync(wants).filter((d) => d.endsWith(".wants"))) {
    for (const unit of fs.readdirSync(path.join(wants, dir))) {
      if (!KEEP_ENABLED.has(unit)) await whiteout(u, path.join(wants, dir, unit));
    }
  }
  // The lab sets each host's address from outside, not through a network manager: "online" means
  // nothing here, and networkd's wait for it (pulled in by units that want network-online.target,
  // such as corosync) started networkd mid-run, which failed on br0's existing address and held
  // corosync for its 120 s timeout. A node rebooted with KvmNode's networkd files still starts networkd.
  const waitOnline = path.join(u, "etc/systemd/system/systemd-networkd-wait-online.service");
  fs.mkdirSync(path.dirname(waitOnline), { recursive: true });
  if (!fs.existsSync(waitOnline)) fs.symlinkSync("/dev/null", waitOnline);
  await ownRootHome(u);
  // Once, as an installer would: the stack adds keys of its own (the nodes' migration keys), which a reboot keeps.
  const authorized = path.join(u, "root/.ssh/authorized_keys");
  const present = fs.existsSync(authorized) ? fs.readFileSync(authorized, "utf8") : "";
  if (!present.split("\n").includes(publicKey)) fs.appendFileSync(authorized, `${publicKey}\n`, { mode: 0o600 });
  // Debian's policy-rc.d here exits 101: apt would never start what it installs.
  await whiteout(u, "/usr/sbin/policy-rc.d");
  for (const type of ["rsa", "ecdsa"]) {
    await whiteout(u, `/etc/ssh/ssh_host_${type}_key`);
    await whiteout(u, `/etc/ssh/ssh_host_${type}_key.pub`);
  }
  if (!fs.existsSync(f.hostKey)) {
    await run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", `kvmcloud-lab-${h.name}`, "-f", f.hostKey]);
  }
  fs.copyFileSync(f.hostKey, path.join(u, "etc/ssh/ssh_host_ed25519_key"));
  fs.chmodSync(path.join(u, "etc/ssh/ssh_host_ed25519_key"), 0o600);
  fs.copyFileSync(`${f.hostKey}.pub`, path.join(u, "etc/ssh/ssh_host_ed25519_key.pub"));
  // No PAM: pam_systemd waits 25 s twice per login for a logind that cannot
  // start here (the host's D-Bus never reports ready under nspawn on this
  // machine: "Cannot setup inotify for '/usr/share/dbus-1/system.d'; error
  // 'Permission denied'"). Keys are checked by sshd itself.
  fs.writeFileSync(
    path.join(u, "etc/ssh/sshd_config.d/kvmcloud-lab.conf"),
    // Every address: a KVM node's own boot moves its address onto br0, maybe after sshd starts.
    "HostKey /etc/ssh/ssh_host_ed25519_key\nPasswordAuthentication no\nUsePAM no\n",
  );
}

/** cgroups of the host's own (no systemd on the machine makes them for --keep-unit). */
function cgroupDirs(h: LabHost): string[] {
  const memory = /^\d+:memory:(.*)$/m.exec(fs.readFileSync("/proc/self/cgroup", "utf8"))?.[1] ?? "/";
  return [`systemd/${h.ns}`, `unified/${h.ns}`, `memory${memory.replace(/\/$/, "")}/${h.ns}`].map((d) => path.join("/sys/fs/cgroup", d));
}

/**
 * The host's nspawn, found by its command line rather than a pid file, so
 * that lab:down also stops one that a killed run or another checkout left.
 */
function nspawnPid(h: LabHost): number | undefined {
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (argv[0].endsWith("systemd-nspawn") && argv.includes(`--machine=${h.ns}`)) return Number(entry);
    } catch {
      // gone while we looked
    }
  }
  return undefined;
}

/**
 * Whether the running host sits in the namespace now named /run/netns/<ns>:
 * a namespace deleted and made again under a running host leaves it in the
 * old one, alive but unreachable.
 */
function inCurrentNamespace(nspawn: number, h: LabHost): boolean {
  let ino: number;
  try {
    ino = fs.statSync(`/run/netns/${h.ns}`).ino;
  } catch {
    return false;
  }
  // The host's init is nspawn's child; nspawn itself stays in the root namespace.
  for (const task of fs.readdirSync(`/proc/${nspawn}/task`)) {
    for (const child of fs.readFileSync(`/proc/${nspawn}/task/${task}/children`, "utf8").trim().split(/\s+/).filter(Boolean)) {
      try {
        if (fs.readlinkSync(`/proc/${child}/ns/net`) === `net:[${ino}]`) return true;
      } catch {
        // gone while we looked
      }
    }
  }
  return false;
}

/** Boots the host unless it runs (in its current namespace), and waits (bounded) until its sshd answers on its address. */
export async function ensureBareHost(p: LabPaths, h: LabHost, publicKey: string, timeoutMs = 120_000): Promise<void> {
  const f = bareHostFiles(p, h);
  const running = nspawnPid(h);
  if (running !== undefined && !inCurrentNamespace(running, h)) await stopBareHost(h);
  if (nspawnPid(h) === undefined) {
    fs.mkdirSync(f.work, { recursive: true, mode: 0o700 });
    // The upper layer's top is the host's `/`: other users (postgres, redis) must traverse it.
    for (const d of [f.upper, f.root]) {
      fs.mkdirSync(d, { recursive: true });
      fs.chmodSync(d, 0o755);
    }
    await prepareLayer(p, h, publicKey);
    fs.mkdirSync(p.images, { recursive: true });
    const cgroups = cgroupDirs(h);
    for (const d of cgroups) fs.mkdirSync(d, { recursive: true });
    const boot = [
      "set -e",
      ...cgroups.map((d) => `echo $$ > ${d}/cgroup.procs`),
      `mount -t overlay overlay -o lowerdir=/,upperdir=${f.upper},workdir=${f.work} ${f.root}`,
      // /run is on disk here: nspawn refuses to clean its files there.
      "mkdir -p /run/systemd && mount -t tmpfs tmpfs /run/systemd",
      // The guest image reaches the node by a bind mount, not the lower layer: overlayfs keeps serving
      // a lower file it has looked up, so a rebuilt image would still read as the old one.
      `exec systemd-nspawn --boot --directory=${f.root} --machine=${h.ns} --network-namespace-path=/run/netns/${h.ns} --register=no --keep-unit --capability=CAP_NET_ADMIN --console=passive${h.role === "node" ? ` --bind-ro=${p.images}` : ""}`,
    ].join("\n");
    const fd = fs.openSync(f.console, "a", 0o600);
    try {
      const child = spawn("unshare", ["-m", "--propagation", "private", "bash", "-c", boot], {
        stdio: ["ignore", fd, fd],
        detached: true,
        env: { ...process.env, SYSTEMD_NSPAWN_UNIFIED_HIERARCHY: "1", SYSTEMD_NSPAWN_API_VFS_WRITABLE: "network" },
      });
      child.unref();
    } finally {
      fs.closeSync(fd);
    }
  }
  await waitFor(
    `${h.name}'s sshd on ${h.address}:22 (console: ${f.console})`,
    async () => ((await succeeds(["ip", "netns", "exec", h.ns, "bash", "-c", `exec 3<>/dev/tcp/${h.address}/22`], { timeoutMs: 3000 })) ? true : undefined),
    timeoutMs,
    250,
  );
}

/** Powers the host off (bounded), then removes its cgroups; its files go with the state directory. */
export async function stopBareHost(h: LabHost, graceMs = 30_000): Promise<void> {
  const pid = nspawnPid(h);
  if (pid !== undefined) {
    // nspawn turns SIGTERM into a clean poweroff of the host's systemd.
    process.kill(pid, "SIGTERM");
    const gone = await waitFor(`${h.name} to power off`, async () => (processAlive(pid) ? undefined : true), graceMs, 200).catch(() => false);
    if (!gone && processAlive(pid)) process.kill(pid, "SIGKILL");
  }
  // A poweroff that outlived the grace (libvirt-guests waiting on a TCG guest) leaves the host's
  // processes behind nspawn's SIGKILL: they are the host's, so they go too.
  await killCgroupProcesses(h, cgroupDirs(h));
  for (const d of cgroupDirs(h).reverse()) {
    if (!fs.existsSync(d)) continue;
    for (const sub of fs.readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => path.join(d, e.name))) {
      await run(["find", sub, "-depth", "-type", "d", "-exec", "rmdir", "{}", ";"], { allowFail: true });
    }
    try {
      fs.rmdirSync(d);
    } catch (e) {
      throw new Error(`cannot remove ${h.name}'s cgroup ${d} (a process of the host still in it?): ${(e as Error).message}`);
    }
  }
}

/** Every pid in the cgroups (and their children), read from cgroup.procs. */
function cgroupPids(dirs: readonly string[]): number[] {
  const pids = new Set<number>();
  const visit = (d: string) => {
    if (!fs.existsSync(d)) return;
    for (const l of fs.readFileSync(path.join(d, "cgroup.procs"), "utf8").split("\n")) if (/^\d+$/.test(l)) pids.add(Number(l));
    for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) visit(path.join(d, e.name));
  };
  dirs.forEach(visit);
  return [...pids].filter(processAlive);
}

/** SIGKILLs what is left in the host's cgroups and waits (bounded) until it has exited. */
async function killCgroupProcesses(h: LabHost, dirs: readonly string[], timeoutMs = 20_000): Promise<void> {
  const left = cgroupPids(dirs);
  if (left.length === 0) return;
  for (const pid of left) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Exited meanwhile.
    }
  }
  await waitFor(`${h.name}'s ${left.length} left-over processes to exit`, async () => (cgroupPids(dirs).length === 0 ? true : undefined), timeoutMs, 200);
}

/**
 * Whether the host's own disk configures its network (KvmNode's bridge, made
 * permanent for systemd-networkd or ifupdown): then its boot sets the address,
 * as on a real host, and the lab must not give the NIC one as well (a bridge
 * port keeping the address answers nothing: its ARP replies go to the bridge).
 */
export function hostConfiguresNetwork(p: LabPaths, h: LabHost): boolean {
  const upper = bareHostFiles(p, h).upper;
  return ["etc/systemd/network", "etc/network/interfaces.d"].some((d) => {
    try {
      return fs.readdirSync(path.join(upper, d)).length > 0;
    } catch {
      return false;
    }
  });
}

/** `address type base64` for the lab's known_hosts. */
export function bareHostKnownHost(p: LabPaths, h: LabHost): string {
  const [type, key] = fs.readFileSync(`${bareHostFiles(p, h).hostKey}.pub`, "utf8").trim().split(/\s+/);
  return `${h.address} ${type} ${key}`;
}
