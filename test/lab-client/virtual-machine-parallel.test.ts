import * as crypto from "crypto";
import * as fs from "fs";
import { cloudSpecFromLab } from "../../lab/cloud-spec";
import { readLabDescription } from "../../lab/description";
import { cloudAccess } from "../../lib/vm/cloud-access";
import { listVms } from "../../lib/inventory/vm-rows";
import { capacities, surveyNodes } from "../../lib/vm/survey";
import { httpGet } from "../helpers/lab-client";
import { PrometheusApi } from "../helpers/prometheus-api";
import { labProviderHostForSuite } from "../helpers/lab-provider-host";
import { eventually, inventoryRow, leftovers, scrub } from "../helpers/vm-lab";

/**
 * Sixteen VMs created at once through one provider host, as one `pulumi up`
 * with its default parallelism of 16 does: distinct names, MACs and IPs, and
 * a placement that respects each node's memory even though every create
 * decided concurrently. Meanwhile Prometheus scrapes the kvm-cloud exporter
 * every 5 s: its scrapes stay within their bound (no pile-up behind busy
 * hosts), and the machine's load is printed. Runs inside kcl-mgr.
 */

jest.setTimeout(20 * 60_000);

const d = readLabDescription();
const cloud = cloudSpecFromLab(d);
const tag = crypto.randomBytes(3).toString("hex");
const COUNT = 16;
const names = Array.from({ length: COUNT }, (_, i) => `par${i + 1}-${tag}`);
const prom = new PrometheusApi(d.monitoring?.prometheusUrl ?? "http://prometheus-not-in-lab-description");
const loadAverage = () => Number(fs.readFileSync("/proc/loadavg", "utf8").split(" ")[0]);

const host = labProviderHostForSuite(d, async () => {
  for (const n of names) await scrub(d, cloud, n);
});

it(`creates ${COUNT} VMs in parallel with distinct MACs and IPs, splitting them by memory, while the exporter stays within its bound`, async () => {
  // Free memory now, as placement will see it.
  const access = cloudAccess(cloud);
  const free = Object.fromEntries(
    capacities(await surveyNodes(cloud, access), await access.withInventory((inv) => listVms(inv.sql))).map((c) => [c.name, c.memoryMiB - c.allocatedMemoryMiB]),
  );
  const most = Math.max(...Object.values(free));
  // Big enough that no single node can hold them all, small enough that the
  // nodes together hold them with one to spare (other suites may add a VM).
  const memoryMiB = Math.ceil((most + 1) / COUNT / 16) * 16;
  const slots = Object.values(free).reduce((a, f) => a + Math.floor(f / memoryMiB), 0);
  expect(slots).toBeGreaterThanOrEqual(COUNT + 1);

  let peakLoad = loadAverage();
  const sampler = setInterval(() => (peakLoad = Math.max(peakLoad, loadAverage())), 1000);
  const t0 = Date.now();
  // A failed create must not leave the sampler running past the suite.
  const results = await Promise.all(
    names.map(async (name) => {
      const checked = await host.check({}, { cloud, name, vcpus: 1, memoryMiB, diskGiB: 1, image: d.baseImage.spec, stack: "labtest" });
      expect(checked.failures).toEqual([]);
      return (await host.create(checked.inputs)).properties;
    }),
  ).finally(() => clearInterval(sampler));
  const seconds = Math.ceil((Date.now() - t0) / 1000);
  // Prometheus' own view of the exporter over the creates: the longest scrape and how many it got.
  const window = `${seconds + 5}s`;
  const [longest] = await prom.query(`max_over_time(scrape_duration_seconds{job="kvmcloud"}[${window}])`);
  const [scrapes] = await prom.query(`count_over_time(scrape_duration_seconds{job="kvmcloud"}[${window}])`);
  const longestScrape = Number(longest?.value[1]);
  process.stdout.write(
    `  ${COUNT} VMs of ${memoryMiB} MiB in parallel: ${seconds} s; 1-min load average peaked at ${peakLoad.toFixed(2)} (2 cores); ` +
      `exporter: ${scrapes?.value[1]} scrapes, longest ${longestScrape.toFixed(2)} s\n`,
  );
  // A measurement that saw nothing is no measurement.
  expect(Number(scrapes?.value[1])).toBeGreaterThanOrEqual(Math.floor(seconds / 5) - 2);
  // The exporter's own bound is a second below Prometheus' timeout (the lab scrapes every 5 s: 4 s).
  expect(longestScrape).toBeLessThan(5);

  expect(new Set(results.map((r) => r.name)).size).toBe(COUNT);
  expect(new Set(results.map((r) => r.mac)).size).toBe(COUNT);
  expect(new Set(results.map((r) => r.ip)).size).toBe(COUNT);
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
