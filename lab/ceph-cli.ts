import { inNetns, output, RunOptions } from "./exec";
import { cephFiles } from "./ceph-files";
import { LabPaths } from "./paths";

/**
 * Ceph's command-line tools, run against the lab cluster. They always run
 * inside the Ceph namespace: the monitor addresses exist nowhere else.
 */
export interface CephTarget {
  readonly paths: LabPaths;
  readonly ns: string;
}

export type CephTool = "ceph" | "rbd" | "rados";

/** How long a tool may try to reach the monitors before it gives up. */
const CONNECT_TIMEOUT_S = 15;
/** Upper bound for one CLI call, so that a lost cluster cannot hang the lab. */
export const CEPH_COMMAND_TIMEOUT_MS = 60_000;

/** argv of a Ceph tool acting as `name` with `keyring`. */
export function cephArgvAs(t: CephTarget, name: string, keyring: string, tool: CephTool, ...args: string[]): string[] {
  // The python `ceph` has its own flag; the C++ tools take the config option.
  const timeout = tool === "ceph" ? ["--connect-timeout", String(CONNECT_TIMEOUT_S)] : ["--client-mount-timeout", String(CONNECT_TIMEOUT_S)];
  return inNetns(t.ns, [tool, "-c", cephFiles(t.paths).conf, "-n", name, "-k", keyring, ...timeout, ...args]);
}

/** argv of a Ceph tool (`ceph`, `rbd`, `rados`) acting as client.admin, e.g. for `rbd import`. */
export function cephArgv(t: CephTarget, tool: CephTool, ...args: string[]): string[] {
  return cephArgvAs(t, "client.admin", cephFiles(t.paths).adminKeyring, tool, ...args);
}

/** Runs `ceph ARGS` as client.admin and returns its standard output. */
export function ceph(t: CephTarget, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  return output(cephArgv(t, "ceph", ...args), { timeoutMs: CEPH_COMMAND_TIMEOUT_MS, ...opts });
}

/** Runs `ceph ARGS -f json` as client.admin and parses the answer. */
export async function cephJson<T>(t: CephTarget, args: readonly string[], opts: RunOptions = {}): Promise<T> {
  const text = await ceph(t, [...args, "-f", "json"], opts);
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`ceph ${args.join(" ")} -f json printed no JSON: ${text.slice(0, 200)}`);
  }
}
