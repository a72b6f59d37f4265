import * as crypto from "crypto";
import * as path from "path";
import { cloudSpecFromLab } from "../../lab/cloud-spec";
import { readLabDescription } from "../../lab/description";
import { run } from "../../lab/exec";
import { labPaths } from "../../lab/paths";
import { watchAnswers } from "../../lab/http-probe";
import { createEngineStack, EngineStack } from "../../lab/engine-stack";
import { assertInManagerNamespace, httpGet, virsh } from "../helpers/lab-client";
import { eventually, leftovers, nodesWithDomain, scrub } from "../helpers/vm-lab";

/**
 * The kvm-cloud program under the real Pulumi engine, against the lab, the
 * way a user runs it: preview, up, stack outputs read by a shell pipeline,
 * an up and a refresh that change nothing, an update whose plan the preview
 * shows, a live migration, drift made by hand and put back, bad config
 * refused, an interrupted up that converges, and a destroy that leaves
 * nothing. Runs inside kcl-mgr (engine, providers and clients alike).
 */

jest.setTimeout(20 * 60_000);

const d = readLabDescription();
const cloud = cloudSpecFromLab(d);
const suffix = crypto.randomBytes(3).toString("hex");
const names = [`eng-${suffix}-1`, `eng-${suffix}-2`, `eng-${suffix}-3`];
const vm = (name: string, extra: Record<string, unknown> = {}) => ({ name, vcpus: 1, memoryMiB: 192, diskGiB: 1, ...extra });
let s: EngineStack;
let vms: Array<Record<string, unknown>>;

const timed = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
  const t0 = Date.now();
  const r = await f();
  process.stdout.write(`  [engine] ${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  return r;
};

function declare(list: Array<Record<string, unknown>>): void {
  vms = list;
  s.setConfig({ "kvm-cloud:vms": list });
}

/** A VM's outputs as the engine's state holds them (refresh updates these; stack outputs wait for the next up). */
async function vmState(name: string): Promise<Record<string, any>> {
  const r = (await s.resources()).find((x) => x.type === "pulumi-nodejs:dynamic/kvmcloud:VirtualMachine" && x.outputs?.name === name);
  return r?.outputs ?? {};
}

async function outputVms(): Promise<Array<{ name: string; ip: string; node: string; state: string }>> {
  return (await s.outputs()).virtualMachines;
}

beforeAll(async () => {
  assertInManagerNamespace(d);
  s = await createEngineStack(path.join(labPaths().state, "engine", "vms"), "labvms");
  await s.pulumi(["config", "set", "--secret", "kvm-cloud:cloudSpec"], { input: JSON.stringify(cloud) });
  s.setConfig({ "kvm-cloud:image": d.baseImage.spec });
  declare([vm(names[0], { node: d.nodes[0].name }), vm(names[1], { node: d.nodes[1].name })]);
});

afterAll(async () => {
  await s?.pulumi(["destroy", "--yes"], { allowFail: true, timeoutMs: 300_000 });
  for (const n of names) await scrub(d, cloud, n);
});

describe("the program under the real Pulumi engine", () => {
  it("keeps the cloud spec a secret in the stack's config file", async () => {
    const text = (await run(["cat", path.join(s.dir, `Pulumi.${s.stack}.yaml`)])).stdout;
    expect(text).toMatch(/kvm-cloud:cloudSpec:\s+secure: /);
    expect(text).not.toContain("PRIVATE KEY");
  });

  it("previews from empty: the stack and two VMs to create, nothing made", async () => {
    const r = await timed("preview from empty", () => s.program("preview"));
    expect(r.stdout).toMatch(new RegExp(`\\+\\s+pulumi-nodejs:dynamic/kvmcloud:VirtualMachine ${names[0]} create`));
    expect(r.stdout).toMatch(new RegExp(`\\+\\s+pulumi-nodejs:dynamic/kvmcloud:VirtualMachine ${names[1]} create`));
    expect(r.stdout).toMatch(/\+ 3 to create/);
    for (const n of names.slice(0, 2)) expect(await nodesWithDomain(d, n)).toEqual([]);
  });

  it("ups two VMs whose outputs a shell pipeline turns into each guest's own answer", async () => {
    const r = await timed("up of 2 VMs", () => s.program("up", [], { timeoutMs: 600_000 }));
    expect(r.stdout).toMatch(/\+ 3 created/);
    const out = await outputVms();
    expect(out.map((v) => v.name)).toEqual(names.slice(0, 2));
    expect(out.map((v) => v.node)).toEqual([d.nodes[0].name, d.nodes[1].name]);
    // What a pipeline does with `pulumi stack output`: jq picks the IPs, curl asks each guest its name.
    const pipeline = `pulumi stack output --json --stack ${s.stack} | jq -r '.virtualMachines[].ip' | while read -r ip; do curl -s --max-time 5 "http://$ip/"; done`;
    const answers = await eventually("both guests answering", () => run(["sh", "-c", pipeline], { cwd: s.dir, env: s.env, allowFail: true }), (x) => x.stdout.trim().split("\n").length === 2, 60_000, 1000);
    expect(answers.stdout.trim().split("\n")).toEqual(names.slice(0, 2));
    // State holds the thin provider shim, not lib/vm.
    const state = (await s.resources()).filter((x) => x.type === "pulumi-nodejs:dynamic/kvmcloud:VirtualMachine");
    for (const x of state) expect(String(x.inputs.__provider).length).toBeLessThan(4096);
  });

  it("changes nothing on a second up, and a refresh finds no drift", async () => {
    await timed("up with no change", () => s.program("up", ["--expect-no-changes"]));
    await timed("refresh with no change", () => s.pulumi(["refresh", "--yes", "--expect-no-changes"]));
  });

  it("shows the restart plan in preview --diff before up grows memory past the live maximum", async () => {
    declare([vm(names[0], { node: d.nodes[0].name, memoryMiB: 512 }), vms[1]]);
    const p = await s.program("preview", ["--diff"]);
    expect(p.stdout).toMatch(/memoryMiB 192 -> 512: needs a guest restart/);
    expect(p.stdout).toMatch(/~ 1 to update/);
    await timed("up: memory past the live maximum", () => s.program("up"));
    // The guest restarted with 512 MiB set and room to grow live to twice that.
    const xml = (await run(virsh(d.nodes[0].clientUri, "dumpxml", "--inactive", names[0]))).stdout;
    expect(xml).toMatch(/<currentMemory unit='KiB'>524288<\/currentMemory>/);
    expect(xml).toMatch(/<memory unit='KiB'>1048576<\/memory>/);
    expect((await vmState(names[0])).memoryMiB).toBe(512);
    const ip = (await outputVms())[0].ip;
    const back = await eventually("the restarted guest answering", () => httpGet(ip).catch(() => ({ status: 0, body: "" })), (r) => r.status === 200, 60_000);
    expect(back.body.trim()).toBe(names[0]);
  });

  it("live-migrates a VM whose node changes, while it keeps answering", async () => {
    const before = await outputVms();
    const ip = before[1].ip;
    await eventually("the guest answering", () => httpGet(ip).catch(() => ({ status: 0, body: "" })), (r) => r.body.trim() === names[1], 60_000);
    declare([vms[0], vm(names[1], { node: d.nodes[0].name })]);
    // The watch runs on past the up, through the checks after it: a guest that stops answering once it has moved is a gap too.
    const watch = watchAnswers(ip, names[1], 100, 3000);
    let seen: { answers: number; longestGapMs: number };
    try {
      await timed("up: live migration", () => s.program("up"));
      expect(await nodesWithDomain(d, names[1])).toEqual([d.nodes[0].name]);
      expect((await outputVms())[1].node).toBe(d.nodes[0].name);
    } finally {
      seen = await watch.stop();
      process.stdout.write(`  [engine] migration ${before[1].node} -> ${d.nodes[0].name}: longest HTTP gap ${seen.longestGapMs} ms, ${seen.answers} answers\n`);
    }
    expect(seen.answers).toBeGreaterThan(3);
    expect(seen.longestGapMs).toBeLessThan(10_000);
  });

  it("shows a VM suspended by hand as drift on refresh, and the next up resumes it", async () => {
    const node = (await outputVms())[1].node;
    const uri = d.nodes.find((n) => n.name === node)!.clientUri;
    await run(virsh(uri, "suspend", names[1]));
    const r = await s.pulumi(["refresh", "--yes", "--diff"]);
    expect(r.stdout).toMatch(/state\s*:\s*"running"\s*=>\s*"suspended"/);
    expect((await vmState(names[1])).state).toBe("suspended");
    await timed("up: resume", () => s.program("up"));
    expect((await run(virsh(uri, "domstate", names[1]))).stdout.trim()).toBe("running");
    await s.program("up", ["--expect-no-changes", "--diff"]);
  });

  it("refuses bad config in preview, naming the field, and makes nothing", async () => {
    const good = vms;
    for (const [bad, field] of [
      [[vm(names[0], { vcpus: 0 }), good[1]], /vms\[0\]\.vcpus: 0 is not allowed/],
      [[good[0], vm(names[1], { node: "node9" })], /vms\[1\]\.node: "node9" is not allowed.*node1, node2/],
    ] as const) {
      declare([...bad]);
      const r = await s.program("preview", [], { allowFail: true });
      expect(r.code).not.toBe(0);
      expect(r.stdout + r.stderr).toMatch(field);
      expect(r.stdout + r.stderr).not.toContain("PRIVATE KEY");
    }
    declare(good);
    await s.program("preview", ["--expect-no-changes", "--diff"]);
  });

  it("converges after an up interrupted by SIGINT in the middle of a create", async () => {
    declare([...vms, vm(names[2])]);
    const child = s.startUp();
    let out = "";
    child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr!.on("data", (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    await eventually("the create under way", async () => out, (o) => o.includes(`${names[2]} creating`), 120_000, 200);
    await new Promise((r) => setTimeout(r, 3000));
    child.kill("SIGINT");
    const code = await exited;
    process.stdout.write(`  [engine] interrupted up exited ${code}; it said:\n${out.split("\n").slice(-15).join("\n")}\n`);
    await timed("up after the interruption", () => s.program("up"));
    await s.program("up", ["--expect-no-changes"]);
    expect((await outputVms()).map((v) => v.name)).toEqual(names);
    const answer = await eventually("the third guest", async () => httpGet((await outputVms())[2].ip).catch(() => ({ status: 0, body: "" })), (r) => r.status === 200, 60_000);
    expect(answer.body.trim()).toBe(names[2]);
  });

  it("destroys every VM, leaving no domain, RBD image, inventory row or cache key", async () => {
    await timed("destroy", () => s.pulumi(["destroy", "--yes"], { timeoutMs: 300_000 }));
    for (const n of names) expect(await leftovers(d, cloud, n)).toEqual([]);
    expect((await s.resources()).filter((x) => x.type.includes("VirtualMachine"))).toEqual([]);
  });
});
