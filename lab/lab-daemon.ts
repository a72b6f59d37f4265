import { spawn } from "child_process";
import * as fs from "fs";
import { waitFor } from "./exec";
import { killStray, livePid, onHost, processAlive } from "./host-exec";
import { LabHost } from "./topology";

/**
 * A long-running program of the lab that does not daemonize itself (node
 * exporters, Prometheus, the kvm-cloud exporter): started detached on a lab
 * host with its output in a log file and its pid in a pid file. Living in a
 * lab namespace, it ends with lab:down's namespace sweep.
 */
export interface Daemon {
  readonly name: string;
  readonly host: LabHost;
  readonly argv: readonly string[];
  /** /proc/PID/comm of the running program. */
  readonly comm: string;
  readonly pidFile: string;
  readonly logFile: string;
  readonly cwd?: string;
}

export function alive(d: Daemon): number | undefined {
  return livePid(d.pidFile, d.comm, d.host.ns);
}

function pidInFile(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Starts the daemon unless it runs; returns true when it started it. */
export async function ensureDaemon(d: Daemon): Promise<boolean> {
  const before = pidInFile(d.pidFile);
  killStray(d.pidFile, d.comm, d.host.ns);
  // A daemon left in a deleted namespace must be gone before its successor
  // starts: Prometheus' TSDB lock would refuse a second instance.
  if (before !== undefined && alive(d) === undefined) {
    const ours = () => {
      try {
        return processAlive(before) && fs.readFileSync(`/proc/${before}/comm`, "utf8").trim() === d.comm.slice(0, 15);
      } catch {
        return false;
      }
    };
    await waitFor(`old ${d.name} (pid ${before}) to exit`, async () => (ours() ? undefined : true), 10_000, 100).catch(() => undefined);
  }
  if (alive(d) !== undefined) return false;
  const argv = onHost(d.host, d.argv);
  const fd = fs.openSync(d.logFile, "a", 0o600);
  try {
    // ip netns exec and nsenter exec the program, so the child's pid is the daemon's.
    const child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", fd, fd], detached: true, cwd: d.cwd });
    child.unref();
    fs.writeFileSync(d.pidFile, `${child.pid}\n`);
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

export function stopDaemon(d: Daemon): void {
  const pid = alive(d);
  if (pid !== undefined) process.kill(pid, "SIGTERM");
}
