import * as fs from "fs";
import * as path from "path";
import { output, run } from "./exec";
import { LabHost } from "./topology";
import { labPaths } from "./paths";

/**
 * Running a command "on" a lab host: inside its network namespace and, for
 * KVM nodes, inside the persisted mount namespace that holds the node's
 * private /etc/libvirt, /run/libvirt, /etc/ceph and friends.
 */

export function mountNamespaceFile(h: LabHost): string {
  return path.join(labPaths().mountNamespaces, h.name);
}

/** argv wrapped to run on host h. */
export function onHost(h: LabHost, argv: readonly string[]): string[] {
  if (h.ownMounts) {
    return ["nsenter", `--mount=${mountNamespaceFile(h)}`, `--net=/run/netns/${h.ns}`, "--", ...argv];
  }
  return ["ip", "netns", "exec", h.ns, ...argv];
}

async function isMountPoint(p: string): Promise<boolean> {
  return (await run(["mountpoint", "-q", p], { allowFail: true })).code === 0;
}

async function netnsInode(ns: string): Promise<string> {
  return (await output(["stat", "-L", "-c", "%i", `/run/netns/${ns}`])).trim();
}

/**
 * Makes (or re-makes) the node's persisted mount namespace. Its /sys is
 * remounted from inside the node's network namespace so that it shows the
 * node's own interfaces, which libvirt reads when it attaches guests to br0.
 * A mount namespace made for an older incarnation of the netns is stale:
 * rebuilt. (It is created from the root mount namespace: `ip netns exec`
 * runs in a slave mount namespace whose binds would never reach ours.)
 */
export async function ensureMountNamespace(h: LabHost): Promise<boolean> {
  const dir = labPaths().mountNamespaces;
  fs.mkdirSync(dir, { recursive: true });
  if (!(await isMountPoint(dir))) {
    await run(["mount", "--bind", dir, dir]);
  }
  await run(["mount", "--make-private", dir]);
  const file = mountNamespaceFile(h);
  const stamp = `${file}.netns`;
  const inode = await netnsInode(h.ns);
  const current = fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8") === inode;
  if (current && (await isMountPoint(file))) {
    return false;
  }
  await releaseMountNamespace(h);
  fs.writeFileSync(file, "");
  await run(["unshare", `--mount=${file}`, "--propagation", "private", "true"]);
  await run(onHost(h, ["umount", "-l", "/sys"]));
  await run(onHost(h, ["mount", "-t", "sysfs", "sysfs", "/sys"]));
  fs.writeFileSync(stamp, inode);
  return true;
}

export async function releaseMountNamespace(h: LabHost): Promise<void> {
  const file = mountNamespaceFile(h);
  if (fs.existsSync(file)) {
    await killMountNamespaceProcesses(file);
    await run(["umount", "-l", file], { allowFail: true });
    fs.rmSync(file, { force: true });
  }
  fs.rmSync(`${file}.netns`, { force: true });
}

/** Removes the directory of mount namespaces when no node uses it any more. */
export async function releaseMountNamespaceDir(): Promise<void> {
  const dir = labPaths().mountNamespaces;
  if (fs.existsSync(dir)) {
    for (const f of fs.readdirSync(dir)) {
      await run(["umount", "-l", path.join(dir, f)], { allowFail: true });
    }
    await run(["umount", "-l", dir], { allowFail: true });
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  }
}

function netnsOf(pid: number): string | undefined {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

function namedNetns(ns: string): string | undefined {
  try {
    return `net:[${fs.statSync(`/run/netns/${ns}`).ino}]`;
  } catch {
    return undefined;
  }
}

function pidFromFile(pidFile: string, comm: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(pidFile, "utf8").trim().split("\n")[0]);
    if (!Number.isInteger(pid) || pid <= 0) {
      return undefined;
    }
    const actual = fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
    return actual.startsWith(comm.slice(0, 15)) && processAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Pid from a pid file when that process is alive, runs `comm` and, given a
 * namespace, lives in it: a daemon left in a deleted incarnation of the
 * namespace is alive but serves nobody.
 */
export function livePid(pidFile: string, comm: string, ns?: string): number | undefined {
  const pid = pidFromFile(pidFile, comm);
  if (pid === undefined || ns === undefined) {
    return pid;
  }
  return netnsOf(pid) === namedNetns(ns) ? pid : undefined;
}

/** Kills the pid file's daemon if it lives outside `ns` (a leftover of a deleted namespace). */
export function killStray(pidFile: string, comm: string, ns: string): void {
  const pid = pidFromFile(pidFile, comm);
  if (pid !== undefined && netnsOf(pid) !== namedNetns(ns)) {
    process.kill(pid, "SIGKILL");
  }
}

/** Kills every process inside a persisted mount namespace (guests and daemons of a node). */
export async function killMountNamespaceProcesses(file: string): Promise<void> {
  let target: string;
  try {
    target = `mnt:[${fs.statSync(file).ino}]`;
  } catch {
    return;
  }
  const inside = () =>
    fs.readdirSync("/proc").filter((d) => {
      if (!/^\d+$/.test(d)) return false;
      try {
        return fs.readlinkSync(`/proc/${d}/ns/mnt`) === target && processAlive(Number(d));
      } catch {
        return false;
      }
    });
  for (const pid of inside()) {
    process.kill(Number(pid), "SIGKILL");
  }
  for (let i = 0; i < 50 && inside().length > 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** True for a running process; a killed one lingering as a zombie until reaped is dead. */
export function processAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}
