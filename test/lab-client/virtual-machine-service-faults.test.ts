import * as crypto from "crypto";
import { cephHealth, cephTarget, cephWhole, LAB_OSDS } from "../../lab/ceph";
import { cloudSpecFromLab } from "../../lab/cloud-spec";
import { readLabDescription } from "../../lab/description";
import { labPaths } from "../../lab/paths";
import { onCephHost, startPostgres, stopPostgres, withDnsmasqHung } from "../helpers/service-hosts";
import { httpGet } from "../helpers/lab-client";
import { labProviderHostForSuite } from "../helpers/lab-provider-host";
import { eventually, inventoryRow, leftovers, nodesWithDomain, scrub } from "../helpers/vm-lab";

/**
 * A create while a service of the cloud fails, through Pulumi's
 * dynamic-provider host: dnsmasq hung (no lease: the create fails on its
 * bound, naming the MAC and the setting, and leaves nothing), Postgres
 * stopped while the guest boots (the create fails saying what it could not
 * remove; once Postgres is back the same create converges and delete leaves
 * nothing), and one Ceph OSD down (creates still work; the cluster mends when
 * it returns). Each case audits domains, images, rows and keys.
 */

jest.setTimeout(10 * 60_000);

const d = readLabDescription();
const cloud = cloudSpecFromLab(d);
const p = labPaths();
const tag = crypto.randomBytes(3).toString("hex");
const vmName = (what: string) => `svc-${what}-${tag}`;
const base = { vcpus: 1, memoryMiB: 192, diskGiB: 1, image: d.baseImage.spec, stack: "labtest" };
const made: string[] = [];

async function checked(name: string, spec = cloud) {
  made.push(name);
  const c = await host.check({}, { ...base, cloud: spec, name });
  expect(c.failures).toEqual([]);
  return c.inputs;
}

const host = labProviderHostForSuite(d, async () => {
  await startPostgres(d);
  for (const n of made) await scrub(d, cloud, n);
});

describe("VirtualMachine create while a service fails", () => {
  it("fails on its lease bound with dnsmasq hung, naming the MAC and the setting, and leaves nothing", async () => {
    const name = vmName("dhcp");
    const inputs = await checked(name, { ...cloud, leaseTimeoutSeconds: 20 });
    const t0 = Date.now();
    const err = await withDnsmasqHung(d, () => host.create(inputs).then(() => "", (e: Error) => e.message));
    const seconds = (Date.now() - t0) / 1000;
    process.stdout.write(`  create with dnsmasq hung failed after ${seconds.toFixed(1)} s\n`);
    expect(err).toMatch(/no DHCP lease for MAC 52:54:00(:[0-9a-f]{2}){3} in \S+ after 20 s \(cloud\.leaseTimeoutSeconds\)/);
    expect(seconds).toBeLessThan(120);
    expect(await leftovers(d, cloud, name)).toEqual([]);
  });

  it("with Postgres stopped while the guest boots: fails saying what it left, then the same create converges once Postgres is back", async () => {
    const name = vmName("pg");
    const inputs = await checked(name);
    const pending = host.create(inputs).then(() => "", (e: Error) => e.message);
    try {
      // The domain exists once the guest is booting: the create is past its inventory reservation.
      await eventually("the guest's domain", () => nodesWithDomain(d, name), (n) => n.length === 1, 120_000, 200);
      await stopPostgres(d);
      const err = await pending;
      process.stdout.write(`  create with Postgres stopped said:\n${err}\n`);
      expect(err).toMatch(new RegExp(`creating VM ${name} failed at step`));
      // The guest and its images are gone; its row could not be removed without Postgres, and the error says so.
      expect(await nodesWithDomain(d, name)).toEqual([]);
      expect(err).toMatch(/row|inventory/i);
    } finally {
      await startPostgres(d);
    }
    expect((await inventoryRow(cloud, name))?.state).toBe("creating");
    const created = await host.create(await host.check({}, { ...base, cloud, name }).then((c) => c.inputs));
    const answer = await eventually("the guest", () => httpGet(created.properties.ip as string).catch(() => ({ status: 0, body: "" })), (r) => r.status === 200);
    expect(answer.body.trim()).toBe(name);
    expect((await inventoryRow(cloud, name))?.state).toBe("running");
    await host.delete(name, created.properties);
    expect(await leftovers(d, cloud, name)).toEqual([]);
  });

  it("makes a VM with one OSD down, and the cluster is whole again once it returns", async () => {
    const t = cephTarget(p);
    // Stopped as an operator stops it: the unit's SIGTERM lets the OSD tell the monitors it is going.
    const osds = ["systemctl", "--no-pager", "list-units", "--state=active", "--plain", "--no-legend", "ceph-osd@*"];
    expect((await onCephHost(d, "ceph3", osds)).stdout).toMatch(/^ceph-osd@\d+\.service/);
    await onCephHost(d, "ceph3", ["systemctl", "stop", "ceph-osd@*"]);
    try {
      await eventually("ceph3's OSD marked down", () => cephHealth(t), (h) => h.osdsUp === LAB_OSDS - 1, 120_000, 1000);
      const name = vmName("osd");
      const created = await host.create(await checked(name));
      const answer = await eventually("the guest", () => httpGet(created.properties.ip as string).catch(() => ({ status: 0, body: "" })), (r) => r.status === 200);
      expect(answer.body.trim()).toBe(name);
      await host.delete(name, created.properties);
      expect(await leftovers(d, cloud, name)).toEqual([]);
    } finally {
      await onCephHost(d, "ceph3", ["systemctl", "start", "ceph-osd.target"]);
    }
    // The returning OSD makes its placement groups peer again for a while: whole means all active again.
    const h = await eventually("a whole cluster", () => cephHealth(t), cephWhole, 180_000, 1000);
    expect([h.osdsUp, h.osdsIn]).toEqual([LAB_OSDS, LAB_OSDS]);
  });
});
