import * as pulumi from "@pulumi/pulumi";
import { CephCluster, CephClusterArgs } from "../../components/ceph-cluster";
import { installMocks, isWrappedSecret, plainInputsText, Registered, settle, unwrapSecrets, valueOf, REMOTE_COMMAND } from "../helpers/pulumi-mocks";

/**
 * CephCluster under Pulumi's mocks. The mocks stand in for the hosts: the
 * bootstrap command "prints" an fsid, keys and a monmap, the pool command a
 * client key; the tests check where those go and that they stay secret.
 */
const SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nh4a\n-----END OPENSSH PRIVATE KEY-----\n";
const FSID = "4a0e8b1c-2d3f-4a5b-8c6d-7e8f9a0b1c2d";
const MON_KEY = "AQAAAAAAAAAAABAAh4aMonKeyAAAAAAAAAAAAA==";
const ADMIN_KEY = "AQAAAAAAAAAAABAAh4aAdminKeyAAAAAAAAAAA==";
const OSD_KEY = "AQAAAAAAAAAAABAAh4aBootstrapOsdKeyAAAA==";
const CLIENT_KEY = "AQAAAAAAAAAAABAAh4aClientKeyAAAAAAAAAA==";

const stdout = (name: string) => {
  if (name.endsWith("-bootstrap")) {
    return `fsid=${FSID}\nmon_key=${MON_KEY}\nadmin_key=${ADMIN_KEY}\nbootstrap_osd_key=${OSD_KEY}\nmonmap=AAECAw==\n`;
  }
  if (name.endsWith("-pool")) {
    return CLIENT_KEY;
  }
  return undefined;
};

const host = (n: number, devices = ["/dev/vdb"]) => ({
  name: `ceph${n}`,
  address: `10.0.0.1${n}`,
  devices,
  connection: { host: `10.0.0.1${n}`, privateKey: SSH_KEY },
});

const args: CephClusterArgs = { hosts: [host(1), host(2), host(3)], publicNetwork: "10.0.0.0/24" };

async function build(a: CephClusterArgs): Promise<{ reg: Registered[]; c: CephCluster }> {
  const reg = installMocks(stdout);
  const c = new CephCluster("ceph", a);
  await valueOf(c.clientKey);
  await settle();
  return { reg, c };
}

const names = (reg: Registered[]) => reg.filter((r) => r.type === REMOTE_COMMAND).map((r) => r.name).sort();
const byName = (reg: Registered[], n: string) => {
  const r = reg.find((x) => x.name === n);
  if (!r) throw new Error(`no resource ${n}`);
  return r;
};

describe("CephCluster", () => {
  it("gives each host its daemons: 3 mons, 1 mgr, one OSD per device, pool on the first", async () => {
    const { reg } = await build(args);
    expect(names(reg)).toEqual([
      "ceph-bootstrap",
      ...["1", "2", "3"].flatMap((n) => [`ceph-ceph${n}-config`, `ceph-ceph${n}-mon`, `ceph-ceph${n}-osd-0`, `ceph-ceph${n}-packages`]),
      "ceph-ceph1-mgr",
      "ceph-pool",
    ].sort());
    for (const n of [1, 2, 3]) {
      expect((unwrapSecrets(byName(reg, `ceph-ceph${n}-osd-0`).inputs.connection) as { host: string }).host).toBe(`10.0.0.1${n}`);
    }
    expect(String(byName(reg, "ceph-ceph2-mon").inputs.script)).toContain("ceph-mon --cluster ceph --mkfs -i ceph2");
    expect(String(byName(reg, "ceph-ceph1-packages").inputs.script)).toContain("ceph-mgr");
    expect(String(byName(reg, "ceph-ceph2-packages").inputs.script)).not.toContain("ceph-mgr");
  });

  it("publishes the fsid, monitors, pool and a secret client key", async () => {
    const { c } = await build(args);
    expect(await valueOf(c.fsid)).toBe(FSID);
    expect(await pulumi.isSecret(c.fsid)).toBe(false);
    expect(await valueOf(c.monitorAddresses)).toEqual(["10.0.0.11", "10.0.0.12", "10.0.0.13"]);
    expect(await valueOf(c.pool)).toBe("libvirt-pool");
    expect(await valueOf(c.clientKey)).toBe(CLIENT_KEY);
    expect(await pulumi.isSecret(c.clientKey)).toBe(true);
  });

  it("writes ceph.conf with the bootstrap fsid and every monitor, keys only through secret stdin", async () => {
    const { reg } = await build(args);
    const config = byName(reg, "ceph-ceph3-config");
    expect(String(config.inputs.script)).toContain(`fsid = ${FSID}`);
    expect(String(config.inputs.script)).toContain("mon_host = [v2:10.0.0.11:3300,v1:10.0.0.11:6789],[v2:10.0.0.12:3300");
    expect(isWrappedSecret(config.inputs.stdin)).toBe(true);
    expect(plainInputsText(config)).toContain(ADMIN_KEY);
    for (const r of reg.filter((x) => x.type === REMOTE_COMMAND)) {
      for (const key of [MON_KEY, ADMIN_KEY, OSD_KEY, CLIENT_KEY]) {
        expect(String(r.inputs.script)).not.toContain(key);
        expect(JSON.stringify(r.inputs.triggers ?? [])).not.toContain(key);
      }
      if (r.inputs.stdin !== undefined) {
        expect(isWrappedSecret(r.inputs.stdin)).toBe(true);
      }
    }
  });

  it("re-runs only the pool script when the pool changes", async () => {
    const a = await build(args);
    const b = await build({ ...args, pgCount: 64 });
    const trig = (reg: Registered[], n: string) => JSON.stringify(unwrapSecrets([byName(reg, n).inputs.script, byName(reg, n).inputs.stdin]));
    expect(trig(b.reg, "ceph-pool")).not.toBe(trig(a.reg, "ceph-pool"));
    for (const n of ["ceph-bootstrap", "ceph-ceph1-mon", "ceph-ceph2-osd-0", "ceph-ceph1-mgr"]) {
      expect(trig(b.reg, n)).toBe(trig(a.reg, n));
    }
  });

  it("runs a single host with two devices and one replica", async () => {
    const { reg } = await build({ hosts: [host(1, ["/dev/vdb", "/dev/vdc"])], publicNetwork: "10.0.0.0/24", monitors: 1, replicaSize: 1 });
    expect(names(reg)).toEqual(["ceph-bootstrap", "ceph-ceph1-config", "ceph-ceph1-mgr", "ceph-ceph1-mon", "ceph-ceph1-osd-0", "ceph-ceph1-osd-1", "ceph-ceph1-packages", "ceph-pool"]);
    expect(String(byName(reg, "ceph-pool").inputs.script)).toContain("--yes-i-really-mean-it");
  });

  it("makes OSDs on files where hosts have no spare disk, with the ceph.conf overrides on every host", async () => {
    const files = [1, 2, 3].map((n) => ({ ...host(n, []), osdFiles: [`/var/lib/ceph/osd-files/ceph${n}.img`] }));
    const { reg } = await build({ hosts: files, publicNetwork: "10.0.0.0/24", osdFileSizeGiB: 2, confOverrides: { mon: { mon_data_avail_warn: 10 } } });
    const osd = String(byName(reg, "ceph-ceph2-osd-0").inputs.script);
    expect(osd).toContain("file=/var/lib/ceph/osd-files/ceph2.img");
    expect(osd).toContain('truncate -s 2G "$file"');
    expect(osd).not.toContain("ceph-volume");
    const config = String(byName(reg, "ceph-ceph3-config").inputs.script);
    expect(config).toMatch(/\[mon\][^[]*mon_data_avail_warn = 10/);
  });

  it.each<[string, Partial<CephClusterArgs>, RegExp]>([
    ["2 monitors", { monitors: 2 }, /monitors: 2 is not allowed; expected an odd number from 1 to 3/],
    ["more monitors than hosts", { monitors: 5 }, /monitors: 5 .* from 1 to 3/],
    ["more replicas than OSD hosts", { replicaSize: 4 }, /replicaSize: 4 .*at most 3, the number of hosts with OSD devices or files/],
    ["a PG count that is no power of two", { pgCount: 100 }, /pgCount: 100 .*power of two/],
    ["a device outside /dev", { hosts: [host(1, ["/tmp/disk"]), host(2), host(3)] }, /hosts\[0\]\.devices\[0\]: "\/tmp\/disk"/],
    ["an address outside the public network", { hosts: [host(1), host(2), { ...host(3), address: "10.9.0.13" }] }, /hosts\[2\]\.address: "10.9.0.13".*inside publicNetwork/],
    ["two hosts of one name", { hosts: [host(1), host(2), { ...host(3), name: "ceph1" }] }, /hosts\[2\]\.name: "ceph1"/],
    ["an OSD file that is a device", { hosts: [{ ...host(1, []), osdFiles: ["/dev/vdb"] }, host(2), host(3)] }, /hosts\[0\]\.osdFiles\[0\]: "\/dev\/vdb" .*outside \/dev/],
    ["an unknown ceph.conf section", { confOverrides: { mds: { a: 1 } } as never }, /confOverrides is "mds"; allowed: global, mon, mgr, osd, client/],
    ["a pool given as an Output", { pool: pulumi.output("x") as unknown as string }, /must be a plain value/],
  ])("fails on %s before registering anything", async (_what, patch, message) => {
    const reg = installMocks(stdout);
    expect(() => new CephCluster("ceph", { ...args, ...patch })).toThrow(message);
    await settle();
    expect(reg).toHaveLength(0);
  });
});
