import * as fs from "fs";
import * as path from "path";
import { output, run } from "./exec";
import { hostByName } from "./topology";

/**
 * A lab host lost outright, and brought back: what the node-loss tests and
 * the HA bench do to a KVM node.
 */

/** SIGKILL to every process in the host's namespace at once: what a power cut leaves. Returns how many there were. */
export async function killHost(name: string): Promise<number> {
  const pids = (await output(["ip", "netns", "pids", hostByName(name).ns])).split("\n").filter((s) => /^\d+$/.test(s.trim()));
  await run(["kill", "-KILL", ...pids], { allowFail: true });
  return pids.length;
}

/**
 * lab:up, the lab's own mend, run where it always runs: the machine's mount
 * and network namespaces, those of the process that started this one with
 * `ip netns exec` (a bare host booted from this process's own mount
 * namespace would live in the one `ip netns exec` made for it).
 */
export async function mendLab(): Promise<void> {
  const ns = (kind: string, pid: number | "self") => fs.readlinkSync(`/proc/${pid}/ns/${kind}`);
  if (ns("net", process.ppid) === ns("net", "self")) throw new Error("mending the lab needs the machine's namespaces: run this with ip netns exec (see test/run-all.sh)");
  const root = path.resolve(__dirname, "..");
  const lab = [process.execPath, path.join(root, "node_modules/ts-node/dist/bin.js"), "--transpile-only", path.join(root, "lab/cli.ts"), "up"];
  await run(["nsenter", `--mount=/proc/${process.ppid}/ns/mnt`, `--net=/proc/${process.ppid}/ns/net`, "--", ...lab], { cwd: root, timeoutMs: 600_000 });
}
