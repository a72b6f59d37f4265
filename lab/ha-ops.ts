import { LabDescription } from "./description";
import { inNetns, run } from "./exec";
import { labSshArgv } from "./ssh-client";
import { hostByName } from "./topology";
import { parseClusterView } from "../lib/ha/crm-mon";
import { renderStandbyScript } from "../lib/ha/standby";

/**
 * The lab's view of the HA cluster for its tests and the bench, over the same
 * SSH as the rest of the lab (from the manager's namespace): where Pacemaker
 * runs an HA VM, and HaCluster's own standby script run on a node as
 * RemoteCommand runs it.
 */

/** A command on a lab node, bounded there (`timeout`) and here. */
export async function onLabNode(d: LabDescription, node: string, argv: readonly string[], o: { input?: string; timeoutMs?: number } = {}): Promise<{ code: number; out: string }> {
  const n = d.nodes.find((x) => x.name === node);
  if (!n) throw new Error(`no node ${node} in the lab description (${d.nodes.map((x) => x.name).join(", ")})`);
  const timeoutMs = o.timeoutMs ?? 30_000;
  const remoteSeconds = String(Math.max(1, Math.ceil(timeoutMs / 1000) - 5));
  const r = await run(inNetns(hostByName("mgr").ns, labSshArgv(d.ssh, n.sshHost, ["timeout", remoteSeconds, ...argv])), { allowFail: true, timeoutMs, input: o.input });
  return { code: r.code, out: r.stdout + r.stderr };
}

/** Where Pacemaker runs vm-NAME, asked on `from`; [] when that node cannot say (down, no quorum view). */
export async function haRunningOn(d: LabDescription, from: string, name: string): Promise<readonly string[]> {
  const r = await onLabNode(d, from, ["crm_mon", "--one-shot", "--inactive", "--output-as=xml"]);
  const xml = r.out.indexOf("<");
  if (r.code !== 0 || xml < 0) return [];
  try {
    return parseClusterView(r.out.slice(xml), name).runningOn;
  } catch {
    return [];
  }
}

/** HaCluster's standby script for `drain` on `node`, bounded as `pulumi up` bounds it; its seconds and output, or an error quoting it. */
export async function runStandbyScript(d: LabDescription, node: string, drain: readonly string[]): Promise<{ seconds: number; out: string }> {
  const t0 = Date.now();
  const script = renderStandbyScript({ members: d.nodes.map((n) => n.name), drain: [...drain], waitSeconds: 600 });
  const r = await onLabNode(d, node, ["bash", "-s"], { input: script, timeoutMs: 660_000 });
  if (r.code !== 0) throw new Error(`the standby script on ${node} failed (exit ${r.code}): ${r.out}`);
  return { seconds: (Date.now() - t0) / 1000, out: r.out };
}
