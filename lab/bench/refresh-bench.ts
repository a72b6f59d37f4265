import { ResolvedCloudSpec } from "../../lib/vm/cloud-spec";
import { ProviderHost, serializeProvider, startProviderHost } from "../../test/helpers/provider-host";
import { LabDescription } from "../description";
import { printTable } from "./table";

/**
 * Refresh at scale: many VMs, created once through Pulumi's dynamic-provider
 * host and kept for the section, then read through that host as `pulumi
 * refresh` does, at most `parallel` reads at once (the CLI's `--parallel`,
 * whose default is four per CPU: 8 on the lab's 2 cores). The VMs are suspended (paused)
 * after their boot: 50 TCG guests left running would take the 2 cores, and a
 * read asks libvirt the same of a paused domain as of a running one.
 */

export interface RefreshBenchOptions {
  readonly vms: number;
  readonly parallel: number;
  readonly rounds: number;
}

/** At most `limit` of `jobs` at once; every job's outcome, in order. */
async function pooled<T>(jobs: Array<() => Promise<T>>, limit: number): Promise<Array<PromiseSettledResult<T>>> {
  const out: Array<PromiseSettledResult<T>> = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]().then((value) => ({ status: "fulfilled" as const, value }), (reason) => ({ status: "rejected" as const, reason }));
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return out;
}

const firstFailure = (results: Array<PromiseSettledResult<unknown>>): Error | undefined => (results.find((r) => r.status === "rejected") as PromiseRejectedResult | undefined)?.reason;

export async function refreshSection(d: LabDescription, cloud: ResolvedCloudSpec, tag: string, o: RefreshBenchOptions): Promise<void> {
  const host: ProviderHost = await startProviderHost(serializeProvider("VirtualMachine"));
  const made: Array<{ id: string; properties: Record<string, unknown> }> = [];
  const retried: string[] = [];
  try {
    const names = Array.from({ length: o.vms }, (_, i) => `bench-r${i + 1}-${tag}`);
    const t0 = Date.now();
    const created = await pooled(
      names.map((name) => async () => {
        const { inputs, failures } = await host.check({}, { cloud, name, vcpus: 1, memoryMiB: 192, diskGiB: 1, image: d.baseImage.spec, stack: "bench", state: "suspended" });
        if (failures.length > 0) throw new Error(`check of ${name}: ${JSON.stringify(failures)}`);
        // A boot storm of TCG guests can leave one without a lease within the bound (seen: 1 of 50); the
        // create undoes itself, and one more try is what a user's next `pulumi up` would do. Said in the title.
        const m = await host.create(inputs).catch((e: Error) => {
          retried.push(`${name}: ${e.message.split("\n")[0]}`);
          return host.create(inputs);
        });
        made.push(m);
        return m;
      }),
      o.parallel,
    );
    const createdMs = Date.now() - t0;
    const failed = firstFailure(created);
    if (failed) throw new Error(`${created.filter((c) => c.status === "rejected").length} of ${o.vms} creates failed; the first: ${failed.message}`);
    const rows: string[][] = [];
    for (let round = 1; round <= o.rounds; round++) {
      const each: number[] = [];
      const r0 = Date.now();
      const read = await pooled(
        made.map((m) => async () => {
          const s = Date.now();
          const got = await host.read(m.id, m.properties);
          each.push(Date.now() - s);
          // A read that finds nothing would be a fast read of nothing: the figure must be of VMs found.
          if (got.id !== m.id || got.properties.node === undefined) throw new Error(`read of ${m.id} found no VM: ${JSON.stringify(got)}`);
          return got;
        }),
        o.parallel,
      );
      const total = Date.now() - r0;
      const bad = firstFailure(read);
      if (bad) throw new Error(`round ${round}: ${read.filter((r) => r.status === "rejected").length} of ${made.length} reads failed; the first: ${bad.message}`);
      each.sort((a, b) => a - b);
      rows.push([String(round), (total / 1000).toFixed(2), String(each[Math.floor(each.length / 2)]), String(each[each.length - 1])]);
    }
    for (const r of retried) process.stdout.write(`first try failed: ${r}\n`);
    printTable(`Refresh of ${o.vms} VMs through the provider host, ${o.parallel} reads at once (created in ${(createdMs / 1000).toFixed(0)} s, ${retried.length} on a second try; suspended)`, ["round", "total s", "median read ms", "slowest read ms"], rows);
  } finally {
    const gone = await pooled(made.splice(0).map((m) => () => host.delete(m.id, m.properties)), o.parallel);
    const left = firstFailure(gone);
    await host.stop();
    if (left) process.stderr.write(`refresh bench cleanup: ${gone.filter((g) => g.status === "rejected").length} deletes failed; the first: ${left.message}\n`);
  }
}
