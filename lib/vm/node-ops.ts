import * as crypto from "crypto";
import { CommandFailed, CommandRunner } from "../transport/command-runner";
import { remotelyBounded } from "../transport/ssh-runner";
import { checkDnsLabel } from "../core/network";
import { consoleLogPath } from "./domain-xml";
import { DomainFacts, DomainLook, NodeInfo, parseDomainLook, parseDomainXmlFacts, parseNodeInfo, parseSurveyedDomains, SurveyedDomain } from "./virsh-output";

/**
 * What the provider does to libvirt on a KVM node: virsh commands run through
 * an injected CommandRunner (ssh2 in production, the lab's sshd in tests).
 * Arguments are argv arrays: the runner quotes them.
 */

const VIRSH = ["virsh", "-q", "-c", "qemu:///system"];

/**
 * One round trip for everything placement and uniqueness need from a node,
 * in three virsh processes however many domains it holds: every domain's
 * definition and state come from one virsh running `dumpxml` and `domstate`
 * for each. A virsh per domain cost a process and a libvirt connection each
 * (about 20 ms on an idle lab node; 12 domains took 0.23-0.30 s against
 * 0.07-0.09 s in one), and every create surveys every node. Domains are
 * named to virsh by UUID, a word its command language takes as it is, and
 * their names come from their definitions: `virsh list` splits a name with
 * a space. $1 is a random marker of this call: no definition can know it.
 */
const INSPECT_SCRIPT = [
  // No globbing: the UUIDs are split on whitespace and nothing else.
  "set -ef",
  'v() { virsh -q -c qemu:///system "$@"; }',
  'm=$1; case "$m" in "" | *[!0-9a-f]*) echo "inspect: bad marker" >&2; exit 2 ;; esac',
  "echo @@NODEINFO@@",
  "v nodeinfo",
  "uuids=$(v list --all --uuid)",
  'cmds=""',
  "for u in $uuids; do",
  '  case "$u" in *[!0-9a-f-]*) continue ;; esac',
  '  cmds="$cmds echo @@D-$m@@ ; dumpxml --domain $u ; echo @@S-$m@@ ; domstate --domain $u ;"',
  "done",
  '[ -n "$cmds" ] || exit 0',
  // virsh goes on past a failed command: a domain undefined meanwhile is left out, not an error.
  'out=$(v "$cmds") || true',
  // No marker at all: virsh ran none of it (no libvirt to ask), and its stderr says why.
  'case "$out" in *"@@D-$m@@"*) printf "%s\\n" "$out" ;; *) exit 1 ;; esac',
].join("\n");

export interface NodeInspection {
  readonly info: NodeInfo;
  readonly domains: readonly SurveyedDomain[];
}

const NOT_FOUND = /failed to get domain|Domain not found|no domain with matching/i;

export async function inspectNode(r: CommandRunner): Promise<NodeInspection> {
  const marker = crypto.randomBytes(8).toString("hex");
  const out = (await r.run(["sh", "-c", INSPECT_SCRIPT, "inspect", marker], { timeoutMs: 60_000 })).stdout;
  const [head] = out.split(`@@D-${marker}@@`, 1);
  return { info: parseNodeInfo(head.replace("@@NODEINFO@@", "")), domains: parseSurveyedDomains(out, marker) };
}

/** virsh's state words ("running", "paused", "shut off"), or undefined when there is no such domain. */
export async function domainState(r: CommandRunner, name: string): Promise<string | undefined> {
  const res = await r.run([...VIRSH, "domstate", "--domain", name], { allowFail: true });
  if (res.code !== 0) {
    if (NOT_FOUND.test(res.stderr)) return undefined;
    throw new Error(`virsh domstate ${name} on ${r.target}: ${res.stderr.trim()}`);
  }
  return res.stdout.trim();
}

/**
 * What a refresh asks of a domain, in one virsh (one process, one libvirt
 * connection; each virsh costs about 20 ms to start on an idle lab node, several
 * times that with refreshes running side by side): its definition
 * (--inactive, see domainFacts), its state, and its disk's size as QEMU has
 * it open, which a stopped domain may not have (the caller asks Ceph then).
 * undefined when the domain is not on this node.
 */
export async function lookAtDomain(r: CommandRunner, name: string): Promise<DomainLook | undefined> {
  // The name goes into virsh's own command language: only a DNS label, a plain word there, is let in.
  checkDnsLabel("name", name);
  const commands = `dumpxml --inactive --domain ${name} ; echo @@STATE@@ ; domstate --domain ${name} ; echo @@BLOCK@@ ; domblkinfo --domain ${name} vda`;
  // virsh's status is its last command's (domblkinfo, which may fail for a stopped domain): judged by what it printed.
  const res = await r.run([...VIRSH, commands], { allowFail: true, timeoutMs: 60_000 });
  const look = parseDomainLook(res.stdout);
  if (look) return look;
  if (NOT_FOUND.test(res.stderr)) return undefined;
  throw new Error(`virsh dumpxml/domstate ${name} on ${r.target}: ${res.stderr.trim() || `exit ${res.code}, no output`}`);
}

/**
 * Facts of the domain as defined (--inactive): sizes as set, not a balloon's
 * momentary figure, which moves around a live migration and would show as
 * drift that is not there.
 */
export async function domainFacts(r: CommandRunner, name: string): Promise<DomainFacts | undefined> {
  const res = await r.run([...VIRSH, "dumpxml", "--inactive", "--domain", name], { allowFail: true });
  if (res.code !== 0) {
    if (NOT_FOUND.test(res.stderr)) return undefined;
    throw new Error(`virsh dumpxml ${name} on ${r.target}: ${res.stderr.trim()}`);
  }
  return parseDomainXmlFacts(res.stdout);
}

export async function defineDomain(r: CommandRunner, xml: string): Promise<void> {
  await r.run([...VIRSH, "define", "--file", "/dev/stdin"], { stdin: xml });
}

/**
 * libvirt sets up each guest's traffic filter under one lock per node, about
 * 200 ebtables and iptables runs (4-9 s on an idle lab node, 15-50 s under
 * load), so parallel starts queue inside libvirtd. There a bound on one start
 * counts the others' work, and even `virsh domstate` of a queued domain
 * blocks. The queue is kept outside instead: one start at a time per node, on
 * a lock file every provider process shares, with the wait and the start
 * bounded apart (as nova's max_concurrent_builds keeps builds apart).
 */
export interface StartQueue {
  /** The node's lock file (default /run/lock/kvmcloud-domain-start). */
  readonly lockFile: string;
  /** How long to wait for the node's other starts (default 600 s). */
  readonly waitMs: number;
  /** How long the start itself may take (default 300 s: one start took over 120 s in a boot storm of 16 TCG guests on 2 cores). */
  readonly startMs: number;
}
export const DEFAULT_START_QUEUE: StartQueue = { lockFile: "/run/lock/kvmcloud-domain-start", waitMs: 600_000, startMs: 300_000 };
/** flock's exit status when the wait ran out (-E): apart from virsh's own. */
const LOCK_WAIT_EXPIRED = 75;

export async function startDomain(r: CommandRunner, name: string, q: StartQueue = DEFAULT_START_QUEUE): Promise<void> {
  const waitS = Math.ceil(q.waitMs / 1000);
  const startS = Math.ceil(q.startMs / 1000);
  const start = [...VIRSH, "start", "--domain", name];
  const argv = ["flock", "-E", String(LOCK_WAIT_EXPIRED), "-w", String(waitS), q.lockFile, ...remotelyBounded(start, q.startMs)];
  const res = await r.run(argv, { allowFail: true, timeoutMs: q.waitMs + q.startMs + 10_000 });
  if (res.code === 0) return;
  if (res.code === LOCK_WAIT_EXPIRED) {
    throw new Error(`virsh start ${name} on ${r.target}: the node was still starting other guests after ${waitS} s (one start at a time per node, on ${q.lockFile})`);
  }
  if (res.code === 124 || res.code === 137) {
    throw new Error(`virsh start ${name} on ${r.target}: did not finish within ${startS} s (timed out)${res.stderr.trim() ? `: ${res.stderr.trim()}` : ""}`);
  }
  // libvirt's refusal, named by the command that met it: the queue around it is ours.
  throw new CommandFailed(r.target, start, res);
}

/**
 * The last `lines` of the guest's console log on this node (see
 * consoleLogPath), control characters dropped; undefined when there is none.
 */
export async function consoleTail(r: CommandRunner, name: string, lines = 15): Promise<string | undefined> {
  const res = await r.run(["tail", "-n", String(lines), "--", consoleLogPath(name)], { allowFail: true, timeoutMs: 15_000 });
  if (res.code !== 0) return undefined;
  return res.stdout.replace(/\r/g, "").replace(/\x1b\[[0-9;]*[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f]/g, "").trimEnd();
}

/** Forcibly off and undefined; a domain that is already gone is fine. */
export async function removeDomain(r: CommandRunner, name: string): Promise<void> {
  const state = await domainState(r, name);
  if (state === undefined) return;
  if (state !== "shut off") await r.run([...VIRSH, "destroy", "--domain", name], { allowFail: true });
  const res = await r.run([...VIRSH, "undefine", "--domain", name], { allowFail: true });
  if (res.code !== 0 && (await domainState(r, name)) !== undefined) {
    throw new Error(`virsh undefine ${name} on ${r.target}: ${res.stderr.trim()}`);
  }
}

/** ACPI shutdown, then a hard stop if the guest ignores it within graceMs. */
export async function shutdownDomain(r: CommandRunner, name: string, graceMs = 60_000): Promise<void> {
  if ((await domainState(r, name)) === "shut off") return;
  await r.run([...VIRSH, "shutdown", "--domain", name], { allowFail: true });
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if ((await domainState(r, name)) === "shut off") return;
    await new Promise((res) => setTimeout(res, 500));
  }
  await r.run([...VIRSH, "destroy", "--domain", name]);
}

export async function suspendDomain(r: CommandRunner, name: string): Promise<void> {
  await r.run([...VIRSH, "suspend", "--domain", name]);
}

export async function resumeDomain(r: CommandRunner, name: string): Promise<void> {
  await r.run([...VIRSH, "resume", "--domain", name]);
}

/**
 * vCPUs at next boot and, when `live`, now. `max` first raises the
 * persistent maximum (takes effect at the next boot).
 */
export async function setVcpus(r: CommandRunner, name: string, count: number, live: boolean, max?: number): Promise<void> {
  if (max !== undefined) await r.run([...VIRSH, "setvcpus", "--domain", name, "--count", String(max), "--maximum", "--config"]);
  if (live) await r.run([...VIRSH, "setvcpus", "--domain", name, "--count", String(count), "--live"]);
  await r.run([...VIRSH, "setvcpus", "--domain", name, "--count", String(count), "--config"]);
}

export async function setMemory(r: CommandRunner, name: string, memoryMiB: number, live: boolean, maxMiB?: number): Promise<void> {
  if (maxMiB !== undefined) await r.run([...VIRSH, "setmaxmem", "--domain", name, "--size", `${maxMiB}M`, "--config"]);
  if (live) await r.run([...VIRSH, "setmem", "--domain", name, "--size", `${memoryMiB}M`, "--live"]);
  await r.run([...VIRSH, "setmem", "--domain", name, "--size", `${memoryMiB}M`, "--config"]);
}

/** Grows the disk under a running guest (qemu tells the guest), or just the RBD image when it is off. */
export async function growDisk(r: CommandRunner, name: string, running: boolean, rbd: { id: string; volume: string }, gib: number): Promise<void> {
  if (running) {
    await r.run([...VIRSH, "blockresize", "--domain", name, "--path", "vda", "--size", `${gib}G`]);
  } else {
    await r.run(["rbd", "--id", rbd.id, "resize", "--no-progress", "--size", `${gib}G`, rbd.volume]);
  }
}

/**
 * Migration, run on the source node: a running (or paused) guest moves live
 * and keeps running; a stopped one moves only its definition (--offline).
 * Either way the definition moves with it and the source forgets it. Live
 * migration is peer-to-peer and tunnelled: guest memory travels inside the
 * source libvirtd's connection to `destUri` (SSH between nodes with
 * qemu+ssh, set up by MigrationMesh), never as a plain QEMU stream.
 */
/**
 * Waits while a job runs on the domain here, within a bound: a live migration
 * that a killed provider started goes on without it (it is peer-to-peer), and
 * a second `virsh migrate` meanwhile would fail, or find the domain gone as the
 * first one ends.
 */
export async function waitForDomainJob(r: CommandRunner, name: string, timeoutMs: number, pauseMs = 500): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await r.run([...VIRSH, "domjobinfo", "--domain", name], { allowFail: true });
    const job = /^Job type:\s+(\S+)/m.exec(res.stdout)?.[1];
    if (res.code !== 0 || job === undefined || job === "None") return;
    if (Date.now() > deadline) throw new Error(`a ${job} job on domain ${name} on ${r.target} still runs after ${timeoutMs} ms (virsh domjobabort --domain ${name} ends it)`);
    await new Promise((done) => setTimeout(done, pauseMs));
  }
}

export async function migrateDomain(
  r: CommandRunner,
  name: string,
  to: { destUri: string; offline: boolean },
  timeoutMs: number,
): Promise<void> {
  const mode = to.offline ? ["--offline"] : ["--live", "--p2p", "--tunnelled"];
  await r.run([...VIRSH, "migrate", ...mode, "--persistent", "--undefinesource", "--domain", name, "--desturi", to.destUri], { timeoutMs });
}
