import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { CephFiles } from "./ceph-files";
import { processAlive } from "./host-exec";

/**
 * The lab's Ceph daemons as processes. Without systemd the processes
 * themselves are the truth: a daemon is ours when its command line names our
 * ceph.conf, and alive in the lab when it sits in the Ceph namespace (a
 * daemon left in a deleted namespace still runs but serves nobody).
 */
export type CephDaemonType = "mon" | "mgr" | "osd";

export interface CephDaemon {
  readonly type: CephDaemonType;
  readonly id: string;
}

export interface CephProcess extends CephDaemon {
  readonly pid: number;
  /** False when the process lives in some other network namespace. */
  readonly inNamespace: boolean;
}

export function daemonName(d: CephDaemon): string {
  return `${d.type}.${d.id}`;
}

const PROGRAMS: Record<string, CephDaemonType> = { "ceph-mon": "mon", "ceph-mgr": "mgr", "ceph-osd": "osd" };

function netnsInode(file: string): number | undefined {
  try {
    return fs.statSync(file).ino;
  } catch {
    return undefined;
  }
}

/** True for a live process; a zombie has finished even though /proc still shows it. */
/**
 * Ceph daemon processes that belong to this lab: started with our ceph.conf,
 * or (whatever their config) living in the lab's Ceph namespace.
 */
export function findCephProcesses(files: CephFiles, ns: string): CephProcess[] {
  const nsIno = netnsInode(`/run/netns/${ns}`);
  const found: CephProcess[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(entry)) {
      continue;
    }
    const pid = Number(entry);
    let argv: string[];
    try {
      argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    } catch {
      continue;
    }
    const type = PROGRAMS[path.basename(argv[0] ?? "")];
    if (!type || !processAlive(pid)) {
      continue;
    }
    const procIno = netnsInode(`/proc/${pid}/ns/net`);
    const inNamespace = nsIno !== undefined && procIno === nsIno;
    const conf = argv[argv.indexOf("-c") + 1];
    if (!inNamespace && (argv.indexOf("-c") < 0 || path.resolve(conf) !== path.resolve(files.conf))) {
      continue;
    }
    const i = argv.indexOf("-i");
    found.push({ type, id: i >= 0 ? argv[i + 1] ?? "" : "", pid, inNamespace });
  }
  return found;
}

/**
 * Starts one daemon in the namespace. Ceph daemons fork and the parent exits
 * once the child has initialised, so the exit code tells whether it came up.
 * Output goes to a file, not a pipe: the daemon would hold a pipe open.
 */
export async function startDaemon(files: CephFiles, ns: string, d: CephDaemon, timeoutMs = 90_000): Promise<void> {
  const name = daemonName(d);
  // Leftovers of a killed daemon; the new one writes its own.
  fs.rmSync(path.join(files.run, `ceph-${name}.pid`), { force: true });
  fs.rmSync(path.join(files.run, `ceph-${name}.asok`), { force: true });
  fs.mkdirSync(files.log, { recursive: true });
  const outFile = path.join(files.log, `start-${name}.out`);
  const fd = fs.openSync(outFile, "a");
  const argv = ["ip", "netns", "exec", ns, `ceph-${d.type}`, "-c", files.conf, "-i", d.id];
  try {
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", fd, fd], detached: true });
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      child.on("error", (e) => {
        clearTimeout(timer);
        reject(new Error(`cannot start ceph ${name}: ${e.message}`));
      });
      child.on("exit", (c, signal) => {
        clearTimeout(timer);
        resolve(c ?? (signal ? 128 : 1));
      });
    });
    if (code !== 0) {
      const tail = fs.readFileSync(outFile, "utf8").trim().split("\n").slice(-5).join("\n");
      throw new Error(`ceph ${name} did not start (exit ${code}); see ${outFile} and ${files.log}/ceph-${name}.log:\n${tail}`);
    }
  } finally {
    fs.closeSync(fd);
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

async function waitGone(pids: readonly number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let alive = pids.filter(processAlive);
  while (alive.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    alive = alive.filter(processAlive);
  }
  return alive;
}

/**
 * Stops processes: SIGTERM, a bounded wait, then SIGKILL. OSDs and the mgr go
 * first so that they can still tell the monitors they are leaving.
 */
export async function stopProcesses(procs: readonly CephProcess[], log: (s: string) => void, graceMs = 20_000): Promise<void> {
  const waves = [procs.filter((p) => p.type !== "mon"), procs.filter((p) => p.type === "mon")];
  for (const wave of waves) {
    if (wave.length === 0) {
      continue;
    }
    wave.forEach((p) => signal(p.pid, "SIGTERM"));
    const left = await waitGone(
      wave.map((p) => p.pid),
      graceMs,
    );
    if (left.length > 0) {
      log(`ceph: SIGKILL to ${left.length} daemon(s) that ignored SIGTERM: pids ${left.join(", ")}`);
      left.forEach((pid) => signal(pid, "SIGKILL"));
      const stuck = await waitGone(left, 10_000);
      if (stuck.length > 0) {
        throw new Error(`ceph daemons still alive after SIGKILL: pids ${stuck.join(", ")}`);
      }
    }
  }
}
