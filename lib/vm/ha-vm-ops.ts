import { ResolvedCloudSpec } from "./cloud-spec";
import { CloudAccess } from "./cloud-access";
import { CommandRunner } from "../transport/command-runner";
import { ClusterView, memberRefusal, parseClusterView } from "../ha/crm-mon";
import {
  DEFAULT_VM_RESOURCE_TIMEOUTS,
  HA_DOMAIN_DIR,
  haDomainConfigPath,
  renderVmLocation,
  renderVmResource,
  vmLocationId,
  vmResourceId,
} from "../ha/virtual-domain";

/**
 * An `ha` VM's steps on the cluster: the domain XML on every node, the
 * Pacemaker resource and its location, and waits for Pacemaker to act.
 * Pacemaker does the starting, stopping and moving; these steps only ask it
 * and watch, each within a bound.
 */

const POLL_MS = 1000;
/** Pacemaker's own bounds on the resource's operations, plus time for it to get to them: each wait below takes its own. */
const START_TIMEOUT_MS = (DEFAULT_VM_RESOURCE_TIMEOUTS.startSeconds + 30) * 1000;
const STOP_TIMEOUT_MS = (DEFAULT_VM_RESOURCE_TIMEOUTS.stopSeconds + 30) * 1000;
const MIGRATE_TIMEOUT_MS = (DEFAULT_VM_RESOURCE_TIMEOUTS.migrateSeconds + 30) * 1000;

export async function writeHaDomainXml(r: CommandRunner, name: string, xml: string): Promise<void> {
  const script = 'set -e; install -d -m 0700 "$1"; umask 077; cat > "$2.new"; mv -f "$2.new" "$2"';
  await r.run(["sh", "-c", script, "write-ha-domain", HA_DOMAIN_DIR, haDomainConfigPath(name)], { stdin: xml, timeoutMs: 30_000 });
}

export async function removeHaDomainXml(r: CommandRunner, name: string): Promise<void> {
  await r.run(["rm", "-f", haDomainConfigPath(name)], { timeoutMs: 30_000 });
}

/** On every node: a lost node's VMs start from the copy on the survivor. */
export async function onEveryNode(cloud: ResolvedCloudSpec, access: CloudAccess, fn: (r: CommandRunner) => Promise<void>): Promise<void> {
  const failed: string[] = [];
  await Promise.all(
    cloud.nodes.map((n) => access.onNode(n.name, fn).catch((e: Error) => void failed.push(`${n.name}: ${e.message}`))),
  );
  if (failed.length > 0) throw new Error(failed.sort().join("; "));
}

export async function readClusterView(r: CommandRunner, name: string): Promise<ClusterView> {
  const res = await r.run(["crm_mon", "--one-shot", "--inactive", "--output-as=xml"], { allowFail: true, timeoutMs: 30_000 });
  if (!res.stdout.includes("<pacemaker-result")) {
    throw new Error(`crm_mon on ${r.target} (an ha VM needs the cloud's HA cluster): ${res.stderr.trim() || `exit ${res.code}`}`);
  }
  return parseClusterView(res.stdout, name);
}

/**
 * Runs a cluster command on the first node that answers as a quorate member,
 * `prefer` first: any member's CIB is the cluster's, but a lost node's is not.
 */
export async function onCluster<T>(cloud: ResolvedCloudSpec, access: CloudAccess, prefer: string | undefined, vm: string, fn: (r: CommandRunner, view: ClusterView) => Promise<T>): Promise<T> {
  const order = [...new Set([prefer, ...cloud.nodes.map((n) => n.name)].filter((n): n is string => n !== undefined && cloud.nodes.some((c) => c.name === n)))];
  const reasons: string[] = [];
  for (const node of order) {
    try {
      return await access.onNode(node, async (r) => {
        const quorate = await r.run(["crm_node", "--quorum"], { allowFail: true, timeoutMs: 30_000 });
        if (quorate.stdout.trim() !== "1") throw new Error(`not a quorate cluster member (crm_node --quorum: ${quorate.stdout.trim() || quorate.stderr.trim()})`);
        return fn(r, await readClusterView(r, vm));
      });
    } catch (e) {
      reasons.push(`${node}: ${(e as Error).message}`);
    }
  }
  throw new Error(`no node of the HA cluster could act for ${vm}: ${reasons.join("; ")}`);
}

/** Waits until Pacemaker reports what `done` looks for; the error says what it last saw. */
async function waitForCluster(r: CommandRunner, name: string, what: string, done: (v: ClusterView) => boolean, timeoutMs: number): Promise<ClusterView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = await readClusterView(r, name);
    if (done(view)) return view;
    if (Date.now() > deadline) {
      const where = view.runningOn.length > 0 ? `running on ${view.runningOn.join(", ")}` : "not running";
      const failures = view.failures.length > 0 ? `; failed: ${view.failures.join("; ")}` : "";
      throw new Error(`Pacemaker did not get ${vmResourceId(name)} ${what} within ${Math.round(timeoutMs / 1000)} s: it is ${where}${failures}`);
    }
    await new Promise((ok) => setTimeout(ok, POLL_MS));
  }
}

const setTargetRole = (r: CommandRunner, name: string, running: boolean) =>
  r.run(["crm_resource", "--resource", vmResourceId(name), "--meta", "--set-parameter", "target-role", "--parameter-value", running ? "Started" : "Stopped"], { timeoutMs: 30_000 });

const setPreferredNode = (r: CommandRunner, name: string, node: string) =>
  r.run(["cibadmin", "--modify", "--allow-create", "--scope", "constraints", "--xml-pipe"], { stdin: renderVmLocation(name, node), timeoutMs: 30_000 });

/**
 * Hands the VM to Pacemaker: the resource (stopped, so it never starts
 * before its location exists), its preferred node, then Started. Returns the
 * node it runs on: Pacemaker may start it elsewhere if the start failed there.
 */
export async function startUnderPacemaker(r: CommandRunner, name: string, node: string): Promise<string> {
  await r.run(["cibadmin", "--modify", "--allow-create", "--scope", "resources", "--xml-pipe"], { stdin: renderVmResource(name, false), timeoutMs: 30_000 });
  await setPreferredNode(r, name, node);
  return (await setRunningUnderPacemaker(r, name, true))!;
}

/** Started or Stopped, and waited for (within Pacemaker's start or stop bound); returns the node it runs on, if any. */
export async function setRunningUnderPacemaker(r: CommandRunner, name: string, running: boolean): Promise<string | undefined> {
  await setTargetRole(r, name, running);
  const stopped = (v: ClusterView) => v.runningOn.length === 0 && (v.role === undefined || v.role === "Stopped");
  const view = running
    ? await waitForCluster(r, name, "started", (v) => v.runningOn.length === 1, START_TIMEOUT_MS)
    : await waitForCluster(r, name, "stopped", stopped, STOP_TIMEOUT_MS);
  return view.runningOn[0];
}

/** A new preferred node: Pacemaker live-migrates the VM there (allow-migrate). Refused with the reason when that node cannot take it. */
export async function moveUnderPacemaker(r: CommandRunner, view: ClusterView, name: string, to: string): Promise<void> {
  const refusal = memberRefusal(view, to);
  if (refusal !== undefined) {
    // Pacemaker keeps it where it runs: the user chooses between pinning it there and bringing the node back.
    const where = view.runningOn.length ? `it runs on ${view.runningOn.join(", ")}; set its node to that, or ` : "";
    throw new Error(`cannot move ${name} to ${to}: ${refusal}; ${where}bring ${to} back and run pulumi up again`);
  }
  await setPreferredNode(r, name, to);
  await waitForCluster(r, name, `onto ${to}`, (v) => v.runningOn.length === 1 && v.runningOn[0] === to, MIGRATE_TIMEOUT_MS);
}

/** Whether the CIB holds the VM's resource (started or not). */
export async function resourceExists(r: CommandRunner, name: string): Promise<boolean> {
  const res = await r.run(["cibadmin", "--query", "--scope", "resources", "--xpath", `//primitive[@id='${vmResourceId(name)}']`], { allowFail: true, timeoutMs: 30_000 });
  return res.code === 0;
}

/** Stops the VM, then removes its location and resource (in that order: the schema refuses a constraint on a resource that is gone); what is already gone counts as done. */
export async function removeFromPacemaker(r: CommandRunner, name: string): Promise<void> {
  const exists = await resourceExists(r, name);
  // Stopped first (starting counts too): a resource deleted while active is stopped as an orphan, with no one waiting for it.
  if (exists) await setRunningUnderPacemaker(r, name, false);
  const location = await r.run(["cibadmin", "--query", "--scope", "constraints", "--xpath", `//rsc_location[@id='${vmLocationId(name)}']`], { allowFail: true, timeoutMs: 30_000 });
  if (location.code === 0) await r.run(["cibadmin", "--delete", "--scope", "constraints", "--xml-text", `<rsc_location id="${vmLocationId(name)}"/>`], { timeoutMs: 30_000 });
  if (exists) await r.run(["cibadmin", "--delete", "--scope", "resources", "--xml-text", `<primitive id="${vmResourceId(name)}"/>`], { timeoutMs: 30_000 });
}
