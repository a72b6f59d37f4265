/**
 * `npm run bench`, part 2: the same life of two VMs driven by the real Pulumi
 * engine (preview, up, refresh, destroy of the kvm-cloud program) and by
 * Pulumi's dynamic-provider host alone (check, create, read, delete), so the
 * engine's own overhead is a measured ratio. Figures only; runs inside the
 * manager namespace (lab/bench/run.sh). A step that fails stops the bench:
 * a figure of something that did not happen is no figure.
 */
import * as crypto from "crypto";
import * as path from "path";
import { serializeProvider, startProviderHost } from "../../test/helpers/provider-host";
import { cloudSpecFromLab } from "../cloud-spec";
import { readLabDescription } from "../description";
import { createEngineStack } from "../engine-stack";
import { labPaths } from "../paths";

const d = readLabDescription();
const cloud = cloudSpecFromLab(d);
const tag = crypto.randomBytes(2).toString("hex");
const vms = [0, 1].map((i) => ({ name: `benge-${tag}-${i}`, vcpus: 1, memoryMiB: 192, diskGiB: 1, node: d.nodes[i % d.nodes.length].name }));

async function timed(f: () => Promise<unknown>): Promise<number> {
  const t0 = Date.now();
  await f();
  return Date.now() - t0;
}

async function throughEngine(): Promise<Record<string, number>> {
  const s = await createEngineStack(path.join(labPaths().state, "engine", "bench"), "bench");
  await s.pulumi(["config", "set", "--secret", "kvm-cloud:cloudSpec"], { input: JSON.stringify(cloud) });
  s.setConfig({ "kvm-cloud:image": d.baseImage.spec, "kvm-cloud:vms": vms });
  try {
    return {
      preview: await timed(() => s.program("preview")),
      up: await timed(() => s.program("up", [], { timeoutMs: 600_000 })),
      refresh: await timed(() => s.pulumi(["refresh", "--yes"])),
      destroy: await timed(() => s.pulumi(["destroy", "--yes"], { timeoutMs: 300_000 })),
    };
  } finally {
    await s.pulumi(["destroy", "--yes"], { allowFail: true, timeoutMs: 300_000 });
  }
}

async function throughHost(): Promise<Record<string, number>> {
  const host = await startProviderHost(serializeProvider("VirtualMachine"));
  const made: Array<{ id: string; properties: Record<string, unknown> }> = [];
  try {
    let inputs: Array<Record<string, unknown>> = [];
    const check = await timed(async () => {
      inputs = await Promise.all(vms.map(async (v) => (await host.check({}, { ...v, cloud, image: d.baseImage.spec, stack: "bench" })).inputs));
    });
    const create = await timed(async () => made.push(...(await Promise.all(inputs.map((i) => host.create(i))))));
    const read = await timed(() => Promise.all(made.map((m) => host.read(m.id, m.properties))));
    const del = await timed(() => Promise.all(made.splice(0).map((m) => host.delete(m.id, m.properties))));
    return { preview: check, up: create, refresh: read, destroy: del };
  } finally {
    await Promise.all(made.map((m) => host.delete(m.id, m.properties).catch(() => undefined)));
    await host.stop();
  }
}

(async () => {
  process.stdout.write(`\nTwo VMs through the real engine and through the provider host alone (${new Date().toISOString()})\n`);
  const engine = await throughEngine();
  const host = await throughHost();
  process.stdout.write("| step | engine (s) | provider host (s) | ratio |\n|---|---|---|---|\n");
  const names: Record<string, string> = { preview: "preview / check", up: "up / create", refresh: "refresh / read", destroy: "destroy / delete" };
  for (const k of Object.keys(engine)) {
    process.stdout.write(`| ${names[k]} | ${(engine[k] / 1000).toFixed(2)} | ${(host[k] / 1000).toFixed(2)} | ${(engine[k] / Math.max(1, host[k])).toFixed(2)} |\n`);
  }
})().catch((e) => {
  process.stderr.write(`engine bench failed: ${(e as Error).message}\n`);
  process.exit(1);
});
