import * as crypto from "crypto";
import { cloudSpecFromLab } from "../../lab/cloud-spec";
import { readLabDescription } from "../../lab/description";
import { watchAnswers } from "../../lab/http-probe";
import { haRunningOn, runStandbyScript } from "../../lab/ha-ops";
import { httpGet } from "../helpers/lab-client";
import { labProviderHostForSuite } from "../helpers/lab-provider-host";
import { eventually, leftovers, scrub } from "../helpers/vm-lab";

/**
 * Drain and return of a node with two HA VMs on it, both polled over HTTP:
 * HaCluster's standby script (the one `pulumi up` runs for `ha.drain`),
 * run on node1 as RemoteCommand runs it, makes Pacemaker live-migrate both
 * VMs to node2 and returns only once node1 is empty; no VM's HTTP gap is
 * longer than a migration's. A new VM is then placed on node2, and a VM
 * declared on the drained node stays where Pacemaker put it. Returned, node1
 * gets its VMs back.
 */

jest.setTimeout(25 * 60_000);

const d = readLabDescription();
const [first, second] = d.nodes.map((n) => n.name);
const suffix = crypto.randomBytes(3).toString("hex");
const names = [`drain-a-${suffix}`, `drain-b-${suffix}`];
const props = new Map<string, Record<string, unknown>>();

const answer = (ip: string, name: string) => httpGet(ip, "/", 1500).then((r) => r.status === 200 && r.body.trim() === name, () => false);

/** Where Pacemaker runs the VM, asked on the node that stays in. */
const runningOn = (name: string) => haRunningOn(d, second, name);
/** HaCluster's standby script, run on the first node. */
const standby = (drain: string[]) => runStandbyScript(d, first, drain);

/** Each VM polled every 100 ms while `during` runs: the longest time without its answer, to the end. */
async function watched<T>(during: () => Promise<T>): Promise<{ result: T; gaps: Map<string, number> }> {
  const watches = names.map((name) => [name, watchAnswers(props.get(name)!.ip as string, name)] as const);
  let result: T;
  try {
    result = await during();
  } catch (e) {
    await Promise.allSettled(watches.map(([, w]) => w.stop()));
    throw e;
  }
  const gaps = new Map<string, number>();
  for (const [name, w] of watches) gaps.set(name, (await w.stop()).longestGapMs);
  return { result, gaps };
}

const host = labProviderHostForSuite(d, async () => {
  await standby([]).catch(() => undefined);
  for (const n of names) await scrub(d, cloudSpecFromLab(d), n);
});

describe("drain and return of a node", () => {
  it("has two HA VMs on the first node, both answering", async () => {
    const cloud = cloudSpecFromLab(d);
    for (const name of names) {
      const c = await host.check({}, { vcpus: 1, memoryMiB: 192, diskGiB: 1, image: d.baseImage.spec, stack: "labtest", cloud, name, node: first, ha: true });
      expect(c.failures).toEqual([]);
      props.set(name, (await host.create(c.inputs)).properties);
    }
    for (const name of names) {
      expect(await runningOn(name)).toEqual([first]);
      expect(await eventually(`${name}'s answer`, () => answer(props.get(name)!.ip as string, name), (a) => a, 180_000, 1000)).toBe(true);
    }
  });

  it("moves both VMs off the drained node live, and returns only once it is empty", async () => {
    const { result, gaps } = await watched(() => standby([first]));
    process.stdout.write(`  drain of ${first}: ${result.seconds.toFixed(1)} s; longest HTTP gap ${[...gaps].map(([n, g]) => `${n} ${g} ms`).join(", ")}\n`);
    expect(result.out).toContain(`drained: ${first}`);
    for (const name of names) expect(await runningOn(name)).toEqual([second]);
    // A migration's gap, not a restart's (a cold boot under TCG takes 15 s and more).
    for (const g of gaps.values()) expect(g).toBeLessThan(10_000);
  });

  it("places a new VM off the drained node, and leaves a VM declared there where Pacemaker put it", async () => {
    const drained = { ...cloudSpecFromLab(d), nodes: cloudSpecFromLab(d).nodes.map((n) => (n.name === first ? { ...n, drained: true } : n)) };
    const c = await host.check({}, { vcpus: 1, memoryMiB: 128, diskGiB: 1, image: d.baseImage.spec, stack: "labtest", cloud: drained, name: `drain-c-${suffix}`, node: first });
    expect(c.failures).toEqual([]);
    await expect(host.create(c.inputs)).rejects.toThrow(new RegExp(`on pinned node ${first}: in standby \\(drained\\)`));
    const name = names[0];
    const read = await host.read(name, props.get(name)!);
    expect(read.properties.node).toBe(second);
    // The engine's DiffResponse: DIFF_NONE is 1, DIFF_SOME 2.
    const declared = { ...read.properties, node: first };
    expect((await host.diff(name, { ...read.properties, cloud: drained }, { ...declared, cloud: drained })).changes).toBe(1);
    const plain = cloudSpecFromLab(d);
    expect((await host.diff(name, { ...read.properties, cloud: plain }, { ...declared, cloud: plain })).changes).toBe(2);
  });

  it("gives the returned node its VMs back, live", async () => {
    const t0 = Date.now();
    const { result, gaps } = await watched(async () => {
      const r = await standby([]);
      for (const name of names) await eventually(`${name} back on ${first}`, () => runningOn(name), (w) => w.length === 1 && w[0] === first, 300_000, 1000);
      return r;
    });
    process.stdout.write(`  return of ${first}: script ${result.seconds.toFixed(1)} s, every VM back after ${((Date.now() - t0) / 1000).toFixed(1)} s; longest HTTP gap ${[...gaps].map(([n, g]) => `${n} ${g} ms`).join(", ")}\n`);
    for (const g of gaps.values()) expect(g).toBeLessThan(10_000);
  });

  it("deletes both, leaving nothing", async () => {
    const cloud = cloudSpecFromLab(d);
    for (const name of names) {
      const read = await host.read(name, props.get(name)!);
      await host.delete(name, read.properties);
      expect(await leftovers(d, cloud, name)).toEqual([]);
    }
  });
});
