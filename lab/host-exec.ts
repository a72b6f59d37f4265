import * as fs from "fs";
import * as path from "path";
import { output, run } from "./exec";
import { LabHost } from "./topology";
import { labPaths } from "./paths";

/** argv wrapped to run in host h's network namespace (from the machine's own mount namespace). */
export function onHost(h: LabHost, argv: readonly string[]): string[] {
  return ["ip", "netns", "exec", h.ns, ...argv];
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

/**
 * The resident daemons among `comms` in a host's namespace, as comm and pid:
 * the processes whose parent is not one of their own (not an sshd's
 * per-login children, a postgres backend).
 */
export function daemonsIn(ns: string, comms: ReadonlySet<string>): Array<{ comm: string; pid: number }> {
  const target = namedNetns(ns);
  const commOf = (pid: string) => fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  const out: Array<{ comm: string; pid: number }> = [];
  for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const comm = commOf(pid);
      if (!comms.has(comm) || netnsOf(Number(pid)) !== target || !processAlive(Number(pid))) continue;
      const ppid = fs.readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ")[1];
      if (commOf(ppid) !== comm) out.push({ comm, pid: Number(pid) });
    } catch {
      // gone while we looked
    }
  }
  return out;
}
