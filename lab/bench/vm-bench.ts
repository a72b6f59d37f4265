/**
 * `npm run bench`: figures of the VM provider against the lab, printed as
 * tables. Not a test: nothing here passes or fails on a number. Runs inside
 * the manager namespace (lab/bench/run.sh puts it there).
 *
 *  1. create-to-IP of one VM, split by step;
 *  2. 1, 4, 8 and 16 VMs created in parallel, with the machine's peak load
 *     and the exporter's longest scrape meanwhile;
 *  3. live migration time and the longest gap in the guest's HTTP answers;
 *  4. RBD copy-on-write clone vs full copy of a 10 GiB image;
 *  5. how soon the peers' methods (DNS, ARP scan, libvirt) know a new VM's address, beside ours;
 *  6. refresh of 50 VMs (BENCH_REFRESH_VMS) through the provider host, 8 reads at once.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import { cloudAccess, operationAccess } from "../../lib/vm/cloud-access";
import { createVm } from "../../lib/vm/vm-create";
import { deleteVm } from "../../lib/vm/vm-delete";
import { VmRecord } from "../../lib/vm/vm-model";
import { PrometheusApi } from "../../test/helpers/prometheus-api";
import { cloudSpecFromLab } from "../cloud-spec";
import { readLabDescription } from "../description";
import { findIpSection } from "./find-ip-bench";
import { migrationSection } from "./migration-bench";
import { refreshSection } from "./refresh-bench";
import { printTable } from "./table";

const d = readLabDescription();
const cloud = cloudSpecFromLab(d);
const access = cloudAccess(cloud);
const tag = crypto.randomBytes(2).toString("hex");
const made: VmRecord[] = [];

const secs = (ms: number) => (ms / 1000).toFixed(2);

/** A create as the provider runs it: one SSH connection per host for the whole operation. */
async function create(name: string, onStep?: (step: string, ms: number) => void): Promise<VmRecord> {
  const op = operationAccess(cloud);
  try {
    const vm = await createVm(cloud, op, { name, stack: "bench", vcpus: 1, memoryMiB: 192, diskGiB: 1, image: d.baseImage.spec, sshAuthorizedKeys: [], state: "running" }, onStep);
    made.push(vm);
    return vm;
  } finally {
    await op.close();
  }
}

async function removeAll(): Promise<void> {
  await Promise.all(made.splice(0).map((vm) => deleteVm(cloud, access, vm)));
}

async function oneVm(): Promise<void> {
  const steps: Array<[string, number]> = [];
  const t0 = Date.now();
  let lag = NaN;
  await create(`bench-one-${tag}`, (s, ms) => (s === "lease-seen-after-write" ? (lag = ms) : steps.push([s, ms])));
  const total = Date.now() - t0;
  printTable("Create to IP, one VM (TCG guest, 1 vCPU, 192 MiB)", ["step", "seconds"], [...steps.map(([s, ms]) => [s, secs(ms)]), ["total", secs(total)]]);
  process.stdout.write(`DHCP lease written -> seen by the provider's watch: ${lag} ms\n`);
  await removeAll();
}

const loadAverage = () => Number(fs.readFileSync("/proc/loadavg", "utf8").split(" ")[0]);

/** Prometheus' figure for an instant query, or "n/a" when the lab has no monitoring. */
async function promValue(expr: string): Promise<string> {
  if (!d.monitoring) return "n/a";
  const [r] = await new PrometheusApi(d.monitoring.prometheusUrl).query(expr);
  if (!r) throw new Error(`Prometheus has no data for ${expr}: the exporter was not scraped`);
  return Number(r.value[1]).toFixed(2);
}

/** The provider's own steps (what `create` reports but the guest's boot and `virsh start`), in the order they run. */
const OWN_STEPS = ["lock", "preflight", "reserve", "clone", "seed", "define", "dhcp-entry", "record"];

/** A create's OWN_STEPS in ms; a step it did not report means the bench's step names are out of date. */
function ownSteps(steps: Record<string, number>): number[] {
  const missing = OWN_STEPS.filter((st) => steps[st] === undefined);
  if (missing.length > 0) throw new Error(`create reported no time for step(s) ${missing.join(", ")}: the bench's step names are out of date`);
  return OWN_STEPS.map((st) => steps[st]);
}

async function parallel(): Promise<void> {
  const rows: string[][] = [];
  const stepRows: string[][] = [];
  const mean = (xs: number[]) => secs(xs.reduce((a, b) => a + b, 0) / xs.length);
  for (const n of [1, 4, 8, 16]) {
    const each: number[] = [];
    // Per VM: the guest's boot to its lease, `virsh start` (the node's queue and libvirt's filter set-up), and the rest (ours).
    const boots: number[] = [];
    const starts: number[] = [];
    const provider: number[] = [];
    const stepsOf: Array<Record<string, number>> = [];
    let peakLoad = loadAverage();
    const sampler = setInterval(() => (peakLoad = Math.max(peakLoad, loadAverage())), 1000);
    const t0 = Date.now();
    await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const s = Date.now();
        const steps: Record<string, number> = {};
        await create(`bench-p${n}x${i + 1}-${tag}`, (step, ms) => (steps[step] = ms));
        stepsOf.push(steps);
        const took = Date.now() - s;
        each.push(took);
        boots.push(steps["boot-to-lease"]);
        starts.push(steps.start);
        provider.push(took - steps["boot-to-lease"] - steps.start);
      }),
    ).finally(() => clearInterval(sampler));
    const total = Date.now() - t0;
    const longestScrape = await promValue(`max_over_time(scrape_duration_seconds{job="kvmcloud"}[${Math.ceil(total / 1000) + 5}s])`);
    rows.push([String(n), secs(total), secs(total / n), mean(each), secs(Math.max(...each)), mean(provider), mean(starts), mean(boots), peakLoad.toFixed(2), longestScrape]);
    const own = stepsOf.map(ownSteps);
    stepRows.push([String(n), ...OWN_STEPS.map((_, k) => mean(own.map((x) => x[k])))]);
    await removeAll();
  }
  printTable("VMs created in parallel (exporter scraped every 5 s meanwhile); per VM means", ["VMs", "total s", "total / VM s", "mean create s", "slowest s", "provider's own steps s", "virsh start s", "guest boot to lease s", "peak load (1 min)", "longest exporter scrape s"], rows);
  stepRows.push(["1, while 7 guests boot", ...(await aloneWhileOthersBoot(7)).map(secs)]);
  printTable("The provider's own steps in those creates, mean s per VM (clone, seed and the DHCP entry run at once)", ["VMs", ...OWN_STEPS], stepRows);
}

/**
 * Whether the provider's time per VM grows with more creates at once by our
 * own queues and locks or by the CPU: one create made alone, once `others`
 * creates have started their guests (so that it shares no step with them,
 * only the cores their boots use). Returns its OWN_STEPS in ms.
 */
async function aloneWhileOthersBoot(others: number): Promise<number[]> {
  let started = 0;
  let allStarted = () => undefined as void;
  const booting = new Promise<void>((resolve) => (allStarted = resolve));
  const background = Promise.all(
    Array.from({ length: others }, (_, i) => create(`bench-bg${i + 1}-${tag}`, (step) => step === "start" && ++started === others && allStarted())),
  );
  // A failed background create ends the wait with its error instead of hanging it.
  await Promise.race([booting, background]);
  const steps: Record<string, number> = {};
  const load = loadAverage();
  await create(`bench-alone-${tag}`, (step, ms) => (steps[step] = ms));
  await background;
  process.stdout.write(`one create while ${others} guests boot: load ${load.toFixed(2)} at its start; \`virsh start\` ${secs(steps.start)} s, boot to lease ${secs(steps["boot-to-lease"])} s\n`);
  await removeAll();
  return ownSteps(steps);
}

async function migration(): Promise<void> {
  const moved = (vm: VmRecord) => made.forEach((m, i) => m.name === vm.name && (made[i] = vm));
  await migrationSection({ d, cloud, access, create, moved }, `bench-mig-${tag}`);
  await removeAll();
}

async function findIp(): Promise<void> {
  await findIpSection({ d, cloud, access, create }, `bench-ip-${tag}`);
  await removeAll();
}

async function refresh(): Promise<void> {
  const vms = process.env.BENCH_REFRESH_VMS ?? "50";
  if (!/^[1-9]\d{0,2}$/.test(vms)) throw new Error(`BENCH_REFRESH_VMS: ${JSON.stringify(vms)} is not allowed; allowed: a number of VMs, 1-999`);
  // 8: the pulumi CLI's default --parallel on the lab's 2 cores (four per CPU).
  await refreshSection(d, cloud, tag, { vms: Number(vms), parallel: 8, rounds: 3 });
}

async function cloneVsCopy(): Promise<void> {
  const pool = cloud.ceph.pool;
  const src = `bench-src-${tag}`;
  const rbd = (...a: string[]) => ["rbd", "--id", cloud.ceph.clientName, ...a];
  await access.onNode(d.nodes[0].name, async (r) => {
    const timed = async (argv: string[]) => {
      const t0 = Date.now();
      await r.run(argv, { timeoutMs: 30 * 60_000 });
      return Date.now() - t0;
    };
    try {
      await r.run(rbd("create", "--size", "10G", `${pool}/${src}`));
      // The lab's Ceph has 6 GiB raw for 3 replicas: 256 MiB of data stands in for an image's used blocks.
      await r.run(rbd("bench", "--io-type", "write", "--io-size", "4M", "--io-total", "256M", "--io-pattern", "seq", `${pool}/${src}`), { timeoutMs: 600_000 });
      await r.run(rbd("snap", "create", `${pool}/${src}@base`));
      await r.run(rbd("snap", "protect", `${pool}/${src}@base`));
      const clone = await timed(rbd("clone", `${pool}/${src}@base`, `${pool}/${src}-clone`));
      const copy = await timed(rbd("cp", "--no-progress", `${pool}/${src}@base`, `${pool}/${src}-copy`));
      printTable("10 GiB image with 256 MiB written: copy-on-write clone vs full copy", ["method", "seconds"], [
        ["rbd clone", secs(clone)],
        ["rbd cp (full copy)", secs(copy)],
        ["ratio", `${(copy / Math.max(clone, 1)).toFixed(0)}x`],
      ]);
    } finally {
      await r.run(rbd("rm", "--no-progress", `${pool}/${src}-clone`), { allowFail: true });
      await r.run(rbd("rm", "--no-progress", `${pool}/${src}-copy`), { allowFail: true });
      await r.run(rbd("snap", "unprotect", `${pool}/${src}@base`), { allowFail: true });
      await r.run(rbd("snap", "purge", "--no-progress", `${pool}/${src}`), { allowFail: true });
      await r.run(rbd("rm", "--no-progress", `${pool}/${src}`), { allowFail: true });
    }
  });
}

(async () => {
  process.stdout.write(`kvm-cloud VM benchmark, lab on ${d.nodes.length} nodes, ${new Date().toISOString()}\n`);
  // `vm-bench.ts one migration` runs only those tables; no argument runs all.
  const sections: Record<string, () => Promise<void>> = { one: oneVm, "find-ip": findIp, parallel, migration, clone: cloneVsCopy, refresh };
  const chosen = process.argv.slice(2);
  for (const c of chosen) if (!(c in sections)) throw new Error(`unknown bench section "${c}"; expected any of ${Object.keys(sections).join(", ")}`);
  try {
    for (const [name, run] of Object.entries(sections)) if (chosen.length === 0 || chosen.includes(name)) await run();
  } finally {
    await removeAll().catch((e) => process.stderr.write(`cleanup: ${(e as Error).message}\n`));
  }
})().catch((e) => {
  process.stderr.write(`bench failed: ${(e as Error).message}\n`);
  process.exit(1);
});
