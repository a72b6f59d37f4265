import { CloudAccess } from "../../lib/vm/cloud-access";
import { ResolvedCloudSpec } from "../../lib/vm/cloud-spec";
import { VmRecord } from "../../lib/vm/vm-model";
import { updateVm } from "../../lib/vm/vm-update";
import { LabDescription } from "../description";
import { httpGet, watchAnswers, watchRequests } from "../http-probe";
import { watchPings } from "../ping-watch";
import { printTable } from "./table";

/**
 * Live migration by a change of `node`, round after round between two
 * nodes, with the guest watched four ways meanwhile: one HTTP client that
 * waits for each answer, HTTP requests that overlap, ICMP echo, and QEMU's
 * own downtime. BENCH_MIGRATIONS rounds (default 10): one gap says little,
 * the spread says what to expect. BENCH_MAX_DOWNTIME_MS tries another QEMU
 * downtime limit than the product's (QEMU's 300 ms).
 */

export interface MigrationContext {
  readonly d: LabDescription;
  readonly cloud: ResolvedCloudSpec;
  readonly access: CloudAccess;
  readonly create: (name: string) => Promise<VmRecord>;
  /** Told where the VM is after each move, so that a failure later still removes it from the right node. */
  readonly moved: (vm: VmRecord) => void;
}

const secs = (ms: number) => (ms / 1000).toFixed(2);

/**
 * The downtime QEMU itself reports for the migration that just ended, from
 * the destination's completed job (the source forgets the domain): the guest's
 * pause from its stop on the source to its start on the destination.
 */
async function qemuDowntimeMs(access: CloudAccess, node: string, name: string): Promise<number> {
  const out = await access.onNode(node, (r) => r.run(["virsh", "-c", "qemu:///system", "domjobinfo", "--completed", "--domain", name], { timeoutMs: 20_000 }));
  const ms = /^Total downtime:\s+(\d+)\s+ms$/m.exec(out.stdout)?.[1];
  if (ms === undefined) throw new Error(`virsh domjobinfo --completed on ${node} gave no downtime:\n${out.stdout.trim()}`);
  return Number(ms);
}

/** How long after now the guest answers `body`, or undefined when it did not within `withinMs`. */
async function answersWithinMs(ip: string, body: string, withinMs: number): Promise<number | undefined> {
  const t0 = Date.now();
  while (Date.now() - t0 < withinMs) {
    if ((await httpGet(ip, "/", 1000).then((r) => r.body.trim(), () => "")) === body) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, 200));
  }
  return undefined;
}

export async function migrationSection(ctx: MigrationContext, name: string): Promise<void> {
  const { d, cloud, access } = ctx;
  const limit = process.env.BENCH_MAX_DOWNTIME_MS;
  if (limit !== undefined && !/^[1-9]\d{0,5}$/.test(limit)) throw new Error(`BENCH_MAX_DOWNTIME_MS: ${JSON.stringify(limit)} is not allowed; allowed: milliseconds, an integer 1-999999`);
  const roundsText = process.env.BENCH_MIGRATIONS ?? "10";
  if (!/^[1-9]\d{0,2}$/.test(roundsText)) throw new Error(`BENCH_MIGRATIONS: ${JSON.stringify(roundsText)} is not allowed; allowed: a number of rounds, 1-999`);
  const rounds = Number(roundsText);
  const vm = await ctx.create(name);
  if ((await answersWithinMs(vm.ip, vm.name, 240_000)) === undefined) throw new Error(`${vm.name} at ${vm.ip} does not answer HTTP within 240 s: no migration measured`);
  const rows: string[][] = [];
  let current = vm;
  const gaps: number[] = [];
  const requestGaps: number[] = [];
  const pingGaps: number[] = [];
  const qemuDowntimes: number[] = [];
  const hung: number[] = [];
  const times: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const to = d.nodes.find((n) => n.name !== current.node)!.name;
    // BENCH_MAX_DOWNTIME_MS sets QEMU's downtime limit for the move (the product leaves QEMU's 300 ms; see README).
    if (limit) await access.onNode(current.node, (r) => r.run(["virsh", "-c", "qemu:///system", "migrate-setmaxdowntime", "--domain", vm.name, "--downtime", limit], { timeoutMs: 20_000 }));
    const watch = watchAnswers(vm.ip, vm.name, 50);
    const requests = watchRequests(vm.ip, vm.name, 50);
    const pings = watchPings(vm.ip, 10, 300);
    const t0 = Date.now();
    let seen: { answers: number; longestGapMs: number };
    let asked: { answers: number; longestGapMs: number };
    let pinged: { replies: number; sent: number; longestGapMs: number };
    let took = NaN;
    try {
      current = await updateVm(cloud, access, current, { ...current, node: to });
      took = Date.now() - t0;
      ctx.moved(current);
    } finally {
      // Both watches stop, whatever either says: a ping left running would outlive the round.
      const [w, q, p] = await Promise.allSettled([watch.stop(), requests.stop(), pings.stop()]);
      if (w.status === "rejected") throw w.reason;
      if (q.status === "rejected") throw q.reason;
      if (p.status === "rejected") throw p.reason;
      seen = w.value;
      asked = q.value;
      pinged = p.value;
    }
    const { answers, longestGapMs: gap } = seen;
    gaps.push(gap);
    requestGaps.push(asked.longestGapMs);
    pingGaps.push(pinged.longestGapMs);
    times.push(took);
    const downtime = await qemuDowntimeMs(access, to, vm.name);
    qemuDowntimes.push(downtime);
    // The watches end with the move; a guest that answers during it may still stop for good right after (seen under TCG).
    const after = await answersWithinMs(vm.ip, vm.name, 30_000);
    rows.push([`${round + 1}`, `${vm.node === to ? "back to " : ""}${to}`, secs(took), String(gap), String(answers), String(asked.longestGapMs), String(pinged.longestGapMs), `${pinged.replies}/${pinged.sent}`, String(downtime), after === undefined ? "NO (30 s)" : `${after} ms`]);
    if (after === undefined) {
      hung.push(round + 1);
      break;
    }
  }
  printTable("Live migration (one HTTP client polling every 50 ms, a fresh connection each; HTTP requests started every 50 ms, overlapping; ICMP echo every 10 ms)", ["round", "to", "seconds", "longest HTTP gap ms", "answers", "longest gap, overlapping requests ms", "longest ICMP gap ms", "ICMP replies/sent", "QEMU downtime ms", "answers after the move"], rows);
  if (hung.length > 0) process.stdout.write(`the guest stopped answering after round ${hung.join(", ")} and did not answer for 30 s: the rounds stopped there\n`);
  const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
  printTable(
    `Live migration over ${gaps.length} rounds`,
    ["", "min", "median", "90th percentile", "max"],
    [
      ["longest HTTP gap ms (one client)", ...[0, 0.5, 0.9, 1].map((p) => String(q(gaps, p)))],
      ["longest gap, overlapping requests ms", ...[0, 0.5, 0.9, 1].map((p) => String(q(requestGaps, p)))],
      ["longest ICMP gap ms", ...[0, 0.5, 0.9, 1].map((p) => String(q(pingGaps, p)))],
      ["QEMU downtime ms", ...[0, 0.5, 0.9, 1].map((p) => String(q(qemuDowntimes, p)))],
      ["migration s", ...[0, 0.5, 0.9, 1].map((p) => secs(q(times, p)))],
    ],
  );
}
