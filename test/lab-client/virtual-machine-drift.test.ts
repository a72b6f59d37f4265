import * as crypto from "crypto";
import { cloudSpecFromLab } from "../../lab/cloud-spec";
import { readLabDescription } from "../../lab/description";
import { labProviderHostForSuite } from "../helpers/lab-provider-host";
import { leftovers, nodesWithDomain, scrub } from "../helpers/vm-lab";

/**
 * No phantom drift: a refresh right after each of five live migrations, and
 * after a guest restart, reads back exactly the sizes and state the VM was
 * declared with (the balloon moves the guest's momentary memory around a
 * migration; refresh must not report that as a change). Through Pulumi's
 * dynamic-provider host, inside kcl-mgr.
 */

jest.setTimeout(15 * 60_000);

const d = readLabDescription();
const cloud = cloudSpecFromLab(d);
const name = `drift-${crypto.randomBytes(3).toString("hex")}`;
const declared = { vcpus: 1, memoryMiB: 192, diskGiB: 1, image: d.baseImage.spec, stack: "labtest", name, cloud };
const INPUTS = ["vcpus", "memoryMiB", "diskGiB", "state", "node"] as const;

const inputsOf = (p: Record<string, unknown>) => Object.fromEntries(INPUTS.map((k) => [k, p[k]]));

const host = labProviderHostForSuite(d, async () => {
  await scrub(d, cloud, name);
});

describe("refresh after migrations and a restart", () => {
  it("reads back what was declared after each of five live migrations and a guest restart", async () => {
    let props: Record<string, unknown> = (await host.create({ ...declared, node: d.nodes[0].name })).properties;
    const reads: string[] = [];
    for (let i = 1; i <= 5; i++) {
      const to = d.nodes[i % d.nodes.length].name;
      props = await host.update(name, props, { ...declared, node: to });
      const read = (await host.read(name, props)).properties;
      reads.push(`${i}: ${JSON.stringify(inputsOf(read))}`);
      expect(inputsOf(read)).toEqual({ vcpus: 1, memoryMiB: 192, diskGiB: 1, state: "running", node: to });
      expect(await nodesWithDomain(d, name)).toEqual([to]);
      props = read;
    }
    // A restart: stopped, then running again, on the node it is on.
    const node = props.node as string;
    props = await host.update(name, props, { ...declared, node, state: "stopped" });
    props = await host.update(name, props, { ...declared, node, state: "running" });
    const read = (await host.read(name, props)).properties;
    reads.push(`restart: ${JSON.stringify(inputsOf(read))}`);
    process.stdout.write(`  refresh after each move:\n    ${reads.join("\n    ")}\n`);
    expect(inputsOf(read)).toEqual({ vcpus: 1, memoryMiB: 192, diskGiB: 1, state: "running", node });
    await host.delete(name, read);
    expect(await leftovers(d, cloud, name)).toEqual([]);
  });
});
