import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CEPH_MIN_OSD_MEMORY_TARGET, CephConfOptions, monHost, renderCephClientConf, renderCephConf } from "../../lib/ceph/ceph-conf";

const FSID = "8f14e45f-ceea-467f-a0e6-0a2f1c3b4d5e";
const MONS = [
  { name: "a", address: "10.77.0.11" },
  { name: "b", address: "10.77.0.12" },
  { name: "c", address: "10.77.0.13" },
];
const FULL: CephConfOptions = {
  fsid: FSID,
  monitors: MONS,
  publicNetwork: "10.77.0.0/16",
  osdPoolDefaultSize: 3,
  singleHost: true,
  osdMemoryTargetBytes: CEPH_MIN_OSD_MEMORY_TARGET,
  bluestoreBlockSizeBytes: 2 * 1024 ** 3,
  dataDir: "/srv/lab/ceph",
  runDir: "/srv/lab/ceph/run",
  logDir: "/srv/lab/ceph/log",
};

/** The `key = value` pairs of one section, as a plain object. */
function section(text: string, name: string): Record<string, string> {
  const out: Record<string, string> = {};
  let current = "";
  for (const line of text.split("\n")) {
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = header[1];
    } else if (current === name && line.includes(" = ")) {
      const [k, ...v] = line.split(" = ");
      out[k] = v.join(" = ");
    }
  }
  return out;
}

describe("renderCephConf", () => {
  it("lists every monitor with v2 and v1 addresses", () => {
    expect(monHost(MONS)).toBe(
      "[v2:10.77.0.11:3300,v1:10.77.0.11:6789],[v2:10.77.0.12:3300,v1:10.77.0.12:6789],[v2:10.77.0.13:3300,v1:10.77.0.13:6789]",
    );
    const g = section(renderCephConf(FULL), "global");
    expect(g.fsid).toBe(FSID);
    expect(g.mon_host).toBe(monHost(MONS));
    expect(g.mon_initial_members).toBe("a, b, c");
    expect(g.public_network).toBe("10.77.0.0/16");
  });

  it("requires cephx and refuses insecure global_id reclaim", () => {
    const g = section(renderCephConf(FULL), "global");
    expect(g.auth_cluster_required).toBe("cephx");
    expect(g.auth_service_required).toBe("cephx");
    expect(g.auth_client_required).toBe("cephx");
    expect(g.auth_allow_insecure_global_id_reclaim).toBe("false");
    expect(g.mon_allow_pool_delete).toBe("true");
  });

  it("replicates across OSDs only on a single host", () => {
    expect(section(renderCephConf(FULL), "global").osd_crush_chooseleaf_type).toBe("0");
    expect(section(renderCephConf({ ...FULL, singleHost: false }), "global").osd_crush_chooseleaf_type).toBeUndefined();
  });

  it("derives min_size from size the way Ceph does", () => {
    const g = section(renderCephConf(FULL), "global");
    expect([g.osd_pool_default_size, g.osd_pool_default_min_size]).toEqual(["3", "2"]);
    const one = section(renderCephConf({ ...FULL, osdPoolDefaultSize: 1 }), "global");
    expect([one.osd_pool_default_size, one.osd_pool_default_min_size]).toEqual(["1", "1"]);
  });

  it("puts BlueStore on a file under [osd]", () => {
    const o = section(renderCephConf(FULL), "osd");
    expect(o.bluestore_block_create).toBe("true");
    expect(o.bluestore_block_size).toBe(String(2 * 1024 ** 3));
    expect(o.osd_memory_target).toBe(String(CEPH_MIN_OSD_MEMORY_TARGET));
    expect(o.osd_data).toBe("/srv/lab/ceph/osd/$id");
  });

  it("keeps every daemon path under the given directories", () => {
    const text = renderCephConf(FULL);
    expect(text).not.toContain("/var/lib/ceph");
    expect(text).not.toContain("/var/log/ceph");
    for (const type of ["mon", "mgr", "osd"]) {
      const s = section(text, type);
      expect(s[`${type}_data`]).toBe(`/srv/lab/ceph/${type}/$id`);
      expect(s.admin_socket).toBe("$run_dir/$cluster-$name.asok");
      expect(s.log_file).toBe("/srv/lab/ceph/log/$cluster-$name.log");
    }
    expect(section(text, "global").run_dir).toBe("/srv/lab/ceph/run");
    expect(section(text, "client").keyring).toBe("/srv/lab/ceph/$cluster.$name.keyring");
  });

  it("omits path settings that were not asked for", () => {
    const text = renderCephConf({ fsid: FSID, monitors: MONS, publicNetwork: "10.77.0.0/16" });
    expect(text).not.toMatch(/run_dir|mon_data|log_file|admin_socket|keyring|chooseleaf/);
    expect(text).not.toContain("[mon]");
  });

  it("lets extra settings override rendered ones, spaces and underscores alike", () => {
    const text = renderCephConf({ ...FULL, extra: { global: { "mon allow pool delete": false }, mon: { mon_data_avail_warn: 10 } } });
    expect(section(text, "global").mon_allow_pool_delete).toBe("false");
    expect(section(text, "mon").mon_data_avail_warn).toBe("10");
    expect(text.match(/mon_allow_pool_delete/g)).toHaveLength(1);
  });

  it("is deterministic", () => {
    expect(renderCephConf(FULL)).toBe(renderCephConf({ ...FULL }));
  });

  it.each<[string, Partial<CephConfOptions>, RegExp]>([
    ["bad fsid", { fsid: "not-a-uuid" }, /fsid is "not-a-uuid"; allowed: a lower-case UUID/],
    ["empty monitor list", { monitors: [] }, /monitors is \[\]; allowed: a non-empty list/],
    ["bad monitor name", { monitors: [{ name: "Mon-A", address: "10.0.0.1" }] }, /monitors\[0\]\.name is "Mon-A"; allowed: lower-case letters and digits/],
    ["bad monitor address", { monitors: [{ name: "a", address: "10.0.0.256" }] }, /monitors\[0\]\.address is "10\.0\.0\.256"; allowed: a dotted IPv4/],
    ["duplicate monitor", { monitors: [MONS[0], { name: "a", address: "10.0.0.9" }] }, /monitors\[1\]\.name is "a"/],
    ["bad public network", { publicNetwork: "10.77.0.0" }, /publicNetwork is "10\.77\.0\.0"; allowed: an IPv4 CIDR/],
    ["bad pool size", { osdPoolDefaultSize: 0 }, /osdPoolDefaultSize is 0; allowed: an integer from 1 to 10/],
    ["memory target below Ceph's floor", { osdMemoryTargetBytes: 512 * 1024 * 1024 }, /osdMemoryTargetBytes is 536870912; allowed: an integer from 939524096/],
    ["relative data dir", { dataDir: "state/ceph" }, /dataDir is "state\/ceph"; allowed: an absolute path/],
    ["newline in a path", { runDir: "/x\nfsid = evil" }, /runDir is "\/x\\nfsid = evil"/],
    ["comment in extra", { extra: { global: { debug_ms: "1 # x" } } }, /extra\.global\.debug_ms is "1 # x"/],
    ["unknown section", { extra: { mds: {} } as CephConfOptions["extra"] }, /extra is "mds"; allowed: global, mon, mgr, osd, client/],
  ])("rejects %s", (_what, change, message) => {
    expect(() => renderCephConf({ ...FULL, ...change })).toThrow(message);
  });
});

describe("renderCephClientConf", () => {
  it("has only what a client needs", () => {
    const text = renderCephClientConf({ fsid: FSID, monitors: MONS });
    expect(section(text, "global")).toEqual({ fsid: FSID, mon_host: monHost(MONS) });
    expect(section(text, "client")).toEqual({ keyring: "/etc/ceph/$cluster.$name.keyring" });
  });

  it("validates like the cluster conf", () => {
    expect(() => renderCephClientConf({ fsid: FSID.toUpperCase(), monitors: MONS })).toThrow(/fsid is/);
    expect(() => renderCephClientConf({ fsid: FSID, monitors: MONS, keyring: "keyring" })).toThrow(/keyring is "keyring"/);
  });
});

const hasCephConf = spawnSync("ceph-conf", ["--version"]).status === 0;

(hasCephConf ? describe : describe.skip)("ceph-conf reads the rendered file back", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ceph-conf-test-"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  function lookup(text: string, ...args: string[]): string {
    const file = path.join(dir, "ceph.conf");
    fs.writeFileSync(file, text);
    const r = spawnSync("ceph-conf", ["-c", file, ...args], { encoding: "utf8" });
    if (r.status !== 0) {
      throw new Error(`ceph-conf ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
    }
    return r.stdout.trim();
  }

  it("finds fsid, mon_host and the expanded per-daemon paths", () => {
    const text = renderCephConf(FULL);
    expect(lookup(text, "--lookup", "fsid")).toBe(FSID);
    expect(lookup(text, "--lookup", "mon_host")).toBe(monHost(MONS));
    expect(lookup(text, "-n", "osd.0", "--lookup", "osd_data")).toBe("/srv/lab/ceph/osd/0");
    expect(lookup(text, "-n", "mon.b", "--lookup", "mon_data")).toBe("/srv/lab/ceph/mon/b");
    expect(lookup(text, "-n", "mon.b", "--lookup", "keyring")).toBe("/srv/lab/ceph/mon/b/keyring");
    expect(lookup(text, "-n", "mgr.x", "--lookup", "admin_socket")).toBe("/srv/lab/ceph/run/ceph-mgr.x.asok");
    expect(lookup(text, "-n", "client.libvirt", "--lookup", "keyring")).toBe("/srv/lab/ceph/ceph.client.libvirt.keyring");
    expect(lookup(text, "-n", "osd.2", "--lookup", "osd_memory_target")).toBe(String(CEPH_MIN_OSD_MEMORY_TARGET));
  });

  it("reads the client conf", () => {
    const text = renderCephClientConf({ fsid: FSID, monitors: MONS });
    expect(lookup(text, "--lookup", "fsid")).toBe(FSID);
    expect(lookup(text, "-n", "client.libvirt", "--lookup", "keyring")).toBe("/etc/ceph/ceph.client.libvirt.keyring");
  });
});
