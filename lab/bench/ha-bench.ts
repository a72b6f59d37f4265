/**
 * `npm run bench`, HA part: how fast the HA cluster reacts to losing a KVM
 * node, measured in the lab (inside the manager namespace; lab/bench/run.sh
 * puts it there). Not a test: nothing passes or fails on a number, but a
 * round that never sees what it waits for fails instead of printing a figure.
 *
 *  1. node2 killed outright (every process) with an HA guest on it: seconds
 *     to detection (node1's Corosync sees one member), to fencing (node2's
 *     address in Ceph's blocklist), to the guest's first HTTP answer from
 *     node1, to the inventory's row naming node1 (Pacemaker's alert agent),
 *     and, with the lab mended (node2 booted again), to unfencing;
 *  2. node2 cut off (its knet traffic dropped) and healed: the same, where
 *     unfencing is the fence watch's work;
 *  3. drain of node2 with two HA guests on it, and its return: seconds until
 *     every guest has moved, and each guest's longest HTTP gap.
 */
import { readLabDescription } from "../description";
import { killHost, mendLab } from "../node-loss";
import { onLabNode } from "../ha-ops";
import { printTable } from "./table";
import { HaGuests } from "./ha-guests";
import { watchAnswers } from "../http-probe";

const d = readLabDescription();
const ROUNDS = 3;
const victim = d.nodes[1];
const survivor = d.nodes[0];
const entry = `${victim.sshHost}:0/0`;
const SPLIT = "kcl_bench_split";

/** A command on a lab node, 20 s on the node (lab/ha-ops.ts). */
const on = (node: string, argv: readonly string[]) => onLabNode(d, node, argv, { timeoutMs: 25_000 });

const members = async () => Number(/^Nodes:\s+(\d+)/m.exec((await on(survivor.name, ["corosync-quorumtool", "-s"])).out)?.[1] ?? NaN);
const fenced = async () => (await on(survivor.name, ["ceph", "--id", "kvmcloud-fence", "osd", "blocklist", "ls"])).out.split("\n").some((l) => l.split(" ")[0] === entry);

/** Polls until `done`, within a bound; returns seconds since t0. A wait that never sees it throws: no figure for what was not seen. */
async function until(what: string, t0: number, done: () => Promise<boolean>, boundMs = 180_000): Promise<number> {
  while (Date.now() - t0 < boundMs) {
    if (await done()) return (Date.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} not seen within ${boundMs / 1000} s`);
}

async function healthy(): Promise<void> {
  await until("both members and node2 unfenced before the round", Date.now(), async () => (await members()) === 2 && !(await fenced()));
}

async function killRounds(g: HaGuests): Promise<string[][]> {
  const rows: string[][] = [];
  const guest = g.guests[0];
  for (let i = 1; i <= ROUNDS; i++) {
    await healthy();
    // The guest prefers node2: after a mend Pacemaker moves it back there (live).
    await until(`${guest.name} on ${victim.name}`, Date.now(), async () => (await g.runningOn(guest, survivor.name)).join() === victim.name, 300_000);
    await g.firstAnswer(guest, Date.now(), 120_000);
    const t0 = Date.now();
    await killHost(victim.name);
    // The guest died with node2's processes: its next answer comes from a boot on node1.
    const answered = g.firstAnswer(guest, t0, 300_000);
    answered.catch(() => undefined);
    // Watched from the kill on: the alert agent records the start on node1, which comes before the guest's boot.
    const recorded = until("the inventory's row naming node1", t0, async () => (await g.recordedNode(guest)) === survivor.name, 300_000);
    recorded.catch(() => undefined);
    const detected = await until("node1 seeing one member", t0, async () => (await members()) === 1);
    const fence = await until("node2's blocklist entry", t0, fenced);
    const back = await answered;
    if ((await g.runningOn(guest, survivor.name)).join() !== survivor.name) throw new Error(`${guest.name} answered, but Pacemaker does not run it on ${survivor.name}`);
    const m0 = Date.now();
    // The mend boots node2 again; its entry goes when Pacemaker unfences it on joining.
    let unfencedAt = NaN;
    const watch = until("node2 unfenced", m0, async () => !(await fenced()), 400_000).then((s) => (unfencedAt = s));
    await mendLab();
    const mend = (Date.now() - m0) / 1000;
    await watch;
    rows.push([String(i), detected.toFixed(1), fence.toFixed(1), back.toFixed(1), (await recorded).toFixed(1), unfencedAt.toFixed(1), mend.toFixed(1)]);
  }
  return rows;
}

async function splitRounds(): Promise<string[][]> {
  const rows: string[][] = [];
  const nft = `nft add table inet ${SPLIT} && nft add chain inet ${SPLIT} in '{ type filter hook input priority -10; }' && nft add chain inet ${SPLIT} out '{ type filter hook output priority -10; }' && nft add rule inet ${SPLIT} in udp dport 5405 drop && nft add rule inet ${SPLIT} out udp dport 5405 drop`;
  for (let i = 1; i <= ROUNDS; i++) {
    await healthy();
    const t0 = Date.now();
    if ((await on(victim.name, ["sh", "-c", nft])).code !== 0) throw new Error("could not cut node2's knet traffic");
    try {
      const detected = await until("node1 seeing one member", t0, async () => (await members()) === 1);
      const fence = await until("node2's blocklist entry", t0, fenced);
      rows.push([String(i), detected.toFixed(1), fence.toFixed(1)]);
    } finally {
      await on(victim.name, ["nft", "delete", "table", "inet", SPLIT]);
    }
    const h0 = Date.now();
    const rejoined = await until("node2 rejoining", h0, async () => (await members()) === 2);
    const unfenced = await until("node2 unfenced by its fence watch", h0, async () => !(await fenced()));
    rows[rows.length - 1].push(rejoined.toFixed(1), unfenced.toFixed(1));
  }
  return rows;
}

/** Both guests on node2 under HTTP polling while node2 is drained, then returned: seconds and each guest's longest gap. */
async function drainRounds(g: HaGuests): Promise<string[][]> {
  const rows: string[][] = [];
  // After the kill rounds both guests go back to node2 (one from a cold boot on node1): each on node2 and answering first.
  for (const x of g.guests) {
    await until(`${x.name} on ${victim.name}`, Date.now(), async () => (await g.runningOn(x, survivor.name)).join() === victim.name, 300_000);
    await g.firstAnswer(x, Date.now(), 180_000);
  }
  for (const [what, drain] of [["drain of node2", [victim.name]], ["return of node2", []]] as const) {
    const watches = g.guests.map((x) => watchAnswers(x.ip, x.name));
    const t0 = Date.now();
    await g.standby(survivor.name, [...drain]);
    const want = drain.length > 0 ? survivor.name : victim.name;
    for (const x of g.guests) await until(`${x.name} on ${want}`, t0, async () => (await g.runningOn(x, survivor.name)).join() === want, 600_000);
    const seconds = (Date.now() - t0) / 1000;
    const gaps = await Promise.all(watches.map((w) => w.stop()));
    rows.push([what, seconds.toFixed(1), ...gaps.map((x) => String(x.longestGapMs))]);
  }
  return rows;
}

async function main(): Promise<void> {
  const token = /token:\s*(\d+)/.exec((await on(survivor.name, ["cat", "/etc/corosync/corosync.conf"])).out)?.[1];
  process.stdout.write(`\nHA: node loss (Corosync token ${token} ms, fence watch every 10 s; polled over SSH every ~0.5 s)\n`);
  const tag = Date.now().toString(36).slice(-5);
  const guests = await HaGuests.make(d, [`bench-ha1-${tag}`, `bench-ha2-${tag}`], victim.name);
  try {
    printTable(
      `node2 killed outright (every process) with an HA guest on it, ${ROUNDS} rounds: seconds after the kill, and after the mend began`,
      ["round", "detected", "fenced", "guest answers from node1", "inventory says node1", "unfenced after mend began", "mend (lab:up)"],
      await killRounds(guests),
    );
    await healthy();
    printTable("drain of node2 with both HA guests on it, and its return (standby script; HTTP polled every 100 ms)", ["step", "seconds until every guest moved", ...guests.guests.map((x) => `longest gap ${x.name} ms`)], await drainRounds(guests));
  } finally {
    await guests.remove();
  }
  printTable(`node2's knet traffic dropped, ${ROUNDS} rounds: seconds after the drop, and after the heal`, ["round", "detected", "fenced", "rejoined after heal", "unfenced after heal"], await splitRounds());
}

main().catch((e) => {
  process.stderr.write(`ha-bench: ${(e as Error).message}\n`);
  process.exit(1);
});
