import { parseCephBootstrap } from "../../lib/ceph/bootstrap-secrets";
import { renderCephBootstrapScript } from "../../lib/ceph/bootstrap-script";
import {
  cephPackages,
  renderCephFileOsdScript,
  renderCephHostConfigScript,
  renderCephMgrScript,
  renderCephMonScript,
  renderCephOsdScript,
  renderCephPackagesScript,
} from "../../lib/ceph/daemons-script";
import { rbdClientCaps, renderCephPoolScript } from "../../lib/ceph/pool-script";
import { remoteInvocation } from "../../lib/core/script";
import { CephClusterSpec, planCephCluster } from "../../lib/ceph/ceph-cluster";
import { shellcheck } from "../helpers/shellcheck";

const FSID = "8f14e45f-ceea-467f-a0e6-0a2f1c3b4d5e";
const MONS = [
  { name: "a", address: "10.77.0.11" },
  { name: "b", address: "10.77.0.12" },
  { name: "c", address: "10.77.0.13" },
];
const KEY = "AQCONAJr3X5ENxAAXc0zagPxR0kpI89+/ZonaQ==";

describe("Ceph host scripts", () => {
  const scripts: Array<[string, string]> = [
    ["packages (all roles)", renderCephPackagesScript({ mon: true, mgr: true, osd: true })],
    ["bootstrap", renderCephBootstrapScript({ monitors: MONS })],
    ["host config", renderCephHostConfigScript({ fsid: FSID, monitors: MONS, publicNetwork: "10.77.0.0/16", osdPoolDefaultSize: 3 })],
    ["mon", renderCephMonScript({ id: "b" })],
    ["mgr", renderCephMgrScript({ id: "a" })],
    ["osd", renderCephOsdScript({ device: "/dev/disk/by-id/virtio-h4a_disk-1" })],
    ["osd on a file", renderCephFileOsdScript({ file: "/var/lib/ceph/osd-files/0.img", sizeGiB: 10 })],
    ["pool", renderCephPoolScript({ pool: "libvirt-pool", pgCount: 32, replicaSize: 3, clientName: "libvirt" })],
    ["pool, one replica", renderCephPoolScript({ pool: "p", pgCount: 8, replicaSize: 1, clientName: "libvirt" })],
  ];

  it.each(scripts)("%s is strict and shellcheck-clean", (_what, text) => {
    expect(text).toContain("\nset -euo pipefail\n");
    expect(shellcheck(text)).toBe("");
  });

  it.each(scripts)("%s fits in one SSH command line", (_what, text) => {
    expect(shellcheck(remoteInvocation(text) + "\n", "sh").split("\n").filter((l) => l && !l.includes("SC2016"))).toEqual([]);
  });

  it("installs only what a host's roles need", () => {
    expect(cephPackages({ mon: false, mgr: false, osd: true })).toEqual(["ceph-common", "ceph-osd", "lvm2"]);
    expect(cephPackages({ mon: true, mgr: false, osd: false })).toEqual(["ceph-common", "ceph-base", "ceph-mon"]);
  });

  it("never puts a key on a command line: keys are read from stdin into variables", () => {
    const mon = renderCephMonScript({ id: "a" });
    expect(mon).toContain('IFS= read -r mon_key');
    expect(mon).not.toMatch(/--add-key|ceph-authtool .*\$mon_key/);
    expect(mon).toMatch(/printf '\[mon\.\]\\n\\tkey = %s\\n\\tcaps mon = "allow \*"\\n\[client\.admin\]/);
  });

  it("the pool script prints only the client key on stdout and limits the client to its pool", () => {
    const text = renderCephPoolScript({ pool: "vm-disks", pgCount: 64, replicaSize: 2, clientName: "libvirt" });
    expect(text).toContain("exec 3>&1 1>&2");
    expect(text.split("\n").filter((l) => l.includes(">&3"))).toEqual(["ceph auth get-key client.libvirt >&3"]);
    expect(text).toContain("ceph osd pool create vm-disks 64 64 replicated");
    expect(text).toContain("ceph osd pool set vm-disks min_size 1");
    expect(rbdClientCaps("vm-disks")).toEqual({ mon: "profile rbd", osd: "profile rbd pool=vm-disks", mgr: "profile rbd pool=vm-disks" });
    expect(text).toContain("ceph auth caps client.libvirt mon 'profile rbd' osd 'profile rbd pool=vm-disks' mgr 'profile rbd pool=vm-disks'");
    expect(text).toContain("ceph mgr module enable prometheus");
  });

  it.each<[string, () => string, RegExp]>([
    ["a mon id with a dash", () => renderCephMonScript({ id: "mon-a" }), /id: "mon-a" is not allowed/],
    ["a device outside /dev", () => renderCephOsdScript({ device: "/dev/../etc/passwd" }), /device: "\/dev\/..\/etc\/passwd"/],
    ["an OSD file under /dev", () => renderCephFileOsdScript({ file: "/dev/sdb", sizeGiB: 1 }), /file: "\/dev\/sdb" is not allowed; expected an absolute file path outside \/dev/],
    ["an OSD file of 0 GiB", () => renderCephFileOsdScript({ file: "/srv/osd.img", sizeGiB: 0 }), /sizeGiB: 0/],
    ["a pool name with a space", () => renderCephPoolScript({ pool: "a b", pgCount: 8, replicaSize: 3, clientName: "libvirt" }), /pool: "a b"/],
  ])("rejects %s", (_what, fn, message) => {
    expect(fn).toThrow(message);
  });
});

describe("planCephCluster", () => {
  const spec: CephClusterSpec = {
    hosts: ["a", "b", "c", "d", "e"].map((n, i) => ({ name: n, address: `10.0.0.${11 + i}`, devices: i < 3 ? ["/dev/sdb", "/dev/sdc"] : [] })),
    publicNetwork: "10.0.0.0/24",
  };

  it("puts 3 monitors and 1 manager on the first hosts and one OSD per device", () => {
    const p = planCephCluster(spec);
    expect(p.monitors.map((m) => m.name)).toEqual(["a", "b", "c"]);
    expect(p.managers).toEqual(["a"]);
    expect(p.osds).toHaveLength(6);
    expect(p.osds[5]).toEqual({ host: "c", device: "/dev/sdc" });
    expect([p.pool, p.pgCount, p.replicaSize, p.clientName]).toEqual(["libvirt-pool", 32, 3, "libvirt"]);
  });

  it("adds one OSD per file, counts hosts with files for the replicas and fills the file size and overrides", () => {
    const files: CephClusterSpec = {
      publicNetwork: "10.0.0.0/24",
      hosts: ["a", "b", "c"].map((n, i) => ({ name: n, address: `10.0.0.${11 + i}`, devices: [], osdFiles: [`/var/lib/ceph/osd-files/${n}.img`] })),
    };
    const p = planCephCluster(files);
    expect(p.osds).toEqual([
      { host: "a", file: "/var/lib/ceph/osd-files/a.img" },
      { host: "b", file: "/var/lib/ceph/osd-files/b.img" },
      { host: "c", file: "/var/lib/ceph/osd-files/c.img" },
    ]);
    expect([p.replicaSize, p.osdFileSizeGiB, p.confOverrides]).toEqual([3, 10, {}]);
    const mixed = planCephCluster({ ...spec, osdFileSizeGiB: 2, confOverrides: { osd: { osd_memory_target: 939524096 } }, hosts: spec.hosts.map((h, i) => (i === 3 ? { ...h, osdFiles: ["/srv/osd.img"] } : h)) });
    expect(mixed.osds).toHaveLength(7);
    expect(mixed.osds[6]).toEqual({ host: "d", file: "/srv/osd.img" });
    expect([mixed.osdFileSizeGiB, mixed.confOverrides]).toEqual([2, { osd: { osd_memory_target: 939524096 } }]);
    expect(planCephCluster({ ...spec, replicaSize: 4, hosts: spec.hosts.map((h, i) => (i === 3 ? { ...h, osdFiles: ["/srv/osd.img"] } : h)) }).replicaSize).toBe(4);
  });

  it.each([1, 3, 5])("accepts %i monitors", (monitors) => {
    expect(planCephCluster({ ...spec, monitors }).monitors).toHaveLength(monitors);
  });

  it.each<[Partial<CephClusterSpec>, RegExp]>([
    [{ monitors: 2 }, /monitors: 2 is not allowed; expected an odd number from 1 to 5/],
    [{ monitors: 0 }, /monitors: 0/],
    [{ managers: 6 }, /managers: 6 .* from 1 to 5/],
    [{ hosts: [] }, /hosts: \[\] .*non-empty/],
    [{ replicaSize: 4 }, /replicaSize: 4 .*at most 3/],
    [{ publicNetwork: "10.0.0.1/24" }, /publicNetwork: "10.0.0.1\/24"/],
    [{ pool: "" }, /pool: ""/],
    [{ clientName: "client.libvirt" }, /clientName: "client.libvirt"/],
    [{ osdFileSizeGiB: 0 }, /osdFileSizeGiB: 0 is not allowed; expected an integer from 1 to 65536/],
    [{ confOverrides: { osdd: { a: 1 } } as never }, /confOverrides is "osdd"; allowed: global, mon, mgr, osd, client/],
    [{ confOverrides: { osd: { "a#b": 1 } } }, /confOverrides.osd key is "a#b"/],
    [{ hosts: [{ name: "a", address: "10.0.0.11", devices: [], osdFiles: ["osd.img"] }] }, /hosts\[0\]\.osdFiles\[0\]: "osd.img" is not allowed; expected an absolute file path/],
    [{ hosts: [{ name: "a", address: "10.0.0.11", devices: [], osdFiles: ["/srv/a.img", "/srv/a.img"] }] }, /hosts\[0\]\.osdFiles\[1\]: "\/srv\/a.img" .*listed once/],
  ])("rejects %j naming the field and what is allowed", (patch, message) => {
    expect(() => planCephCluster({ ...spec, ...patch })).toThrow(message);
  });
});

describe("parseCephBootstrap", () => {
  const good = `fsid=${FSID}\nmon_key=${KEY}\nadmin_key=${KEY}\nbootstrap_osd_key=${KEY}\nmonmap=AAEC\n`;

  it("reads every field", () => {
    expect(parseCephBootstrap(good)).toEqual({ fsid: FSID, monKey: KEY, adminKey: KEY, bootstrapOsdKey: KEY, monmap: "AAEC" });
  });

  it("names a missing field", () => {
    expect(() => parseCephBootstrap(good.replace(/admin_key=.*\n/, ""))).toThrow(/bootstrap output admin_key/);
  });

  it("never quotes a malformed key", () => {
    let message = "";
    try {
      parseCephBootstrap(good.replace(`admin_key=${KEY}`, "admin_key=AQ-not-a-key-but-secret"));
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/adminKey: "\[secret\]"/);
    expect(message).not.toContain("AQ-not-a-key-but-secret");
  });
});
