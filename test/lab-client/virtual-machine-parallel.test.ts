import * as crypto from "crypto";
import { cloudSpecFromLab } from "../../lab/cloud-spec";
import { readLabDescription } from "../../lab/description";
import { cloudAccess } from "../../lib/vm/cloud-access";
import { listVms } from "../../lib/vm/inventory";
import { capacities, surveyNodes } from "../../lib/vm/survey";
import { assertInManagerNamespace, httpGet } from "../helpers/lab-client";
import { ProviderHost, serializeProvider, startProviderHost } from "../helpers/provider-host";
import { eventually, inventoryRow, leftovers, scrub } from "../helpers/vm-lab";

/**
 * Eight VMs created at once through one provider host, as one `pulumi up`
 * with default parallelism does: distinct names, MACs and IPs, and a
 * placement that respects each node's memory even though every create
 * decided concurrently. Runs inside kcl-mgr.
 */

jest.setTimeout(20 * 60_000);

const d = readLabDescription();
const cloud = cloudSpecFromLab(d);
const tag = crypto.randomBytes(3).toString("hex");
const names = Array.from({ length: 8 }, (_, i) => `par${i + 1}-${tag}`);
let host: ProviderHost;

beforeAll(async () => {
  assertInManagerNamespace(d);
  host = await startProviderHost(serializeProvider("VirtualMachine"));
});

afterAll(async () => {
  await host?.stop();
  for (const n of names) await scrub(d, cloud, n);
});

it("creates 8 VMs in parallel with distinct MACs and IPs, splitting them by memory", async () => {
  // Free memory now, as placement will see it.
  const access = cloudAccess(cloud);
  const free = Object.fromEntries(
    capacities(await surveyNodes(cloud, access), await access.withInventory((inv) => listVms(inv.sql))).map((c) => [c.name, c.memoryMiB - c.allocatedMemoryMiB]),
  );
  const most = Math.max(...Object.values(free));
  // Big enough that no single node can hold all eight, small enough that the
  // nodes together hold them with one to spare (other suites may add a VM).
  const memoryMiB = Math.ceil((most + 1) / 8 / 16) * 16;
  const slots = Object.values(free).reduce((a, f) => a + Math.floor(f / memoryMiB), 0);
  expect(slots).toBeGreaterThanOrEqual(9);

  const t0 = Date.now();
  const results = await Promise.all(
    names.map(async (name) => {
      const checked = await host.check({}, { cloud, name, vcpus: 1, memoryMiB, diskGiB: 1, image: d.baseImage.spec, stack: "labtest" });
      expect(checked.failures).toEqual([]);
      return (await host.create(checked.inputs)).properties;
    }),
  );
  process.stdout.write(`  8 VMs of ${memoryMiB} MiB in parallel: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);

  expect(new Set(results.map((r) => r.name)).size).toBe(8);
  expect(new Set(results.map((r) => r.mac)).size).toBe(8);
  expect(new Set(results.map((r) => r.ip)).size).toBe(8);
  const perNode: Record<string, number> = {};
  for (const r of results) perNode[r.node] = (perNode[r.node] ?? 0) + r.memoryMiB;
  for (const [node, used] of Object.entries(perNode)) expect(used).toBeLessThanOrEqual(free[node]);
  expect(Object.keys(perNode).sort()).toEqual(d.nodes.map((n) => n.name).sort());

  for (const r of results) {
    const res = await eventually(`HTTP from ${r.name}`, () => httpGet(r.ip), (x) => x.status === 200, 120_000);
    expect(res.body.trim()).toBe(r.name);
    expect(await inventoryRow(cloud, r.name)).toMatchObject({ node: r.node, ip: r.ip, mac: r.mac, memory_mib: memoryMiB });
  }

  await Promise.all(results.map((r) => host.delete(r.name, r)));
  for (const n of names) expect(await leftovers(d, cloud, n)).toEqual([]);
});
