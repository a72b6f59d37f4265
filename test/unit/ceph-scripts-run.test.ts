import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseCephBootstrap } from "../../lib/ceph/bootstrap-secrets";
import { renderCephBootstrapScript } from "../../lib/ceph/bootstrap-script";
import { renderCephFileOsdScript, renderCephHostConfigScript, renderCephMgrScript, renderCephMonScript } from "../../lib/ceph/daemons-script";

/**
 * The Ceph bootstrap, host-config and monitor scripts run for real (real
 * ceph-authtool, monmaptool, ceph-mon --mkfs, ceph-conf) inside private
 * mount and network namespaces: /etc/ceph, /var/lib/ceph, /var/log/ceph and
 * /run/ceph are fresh tmpfs and the monitor's address sits on a veth no one
 * else sees, so nothing outside the test changes and no packet leaves.
 * systemd is not running here: a stub systemctl records what would have been
 * enabled, and the one-monitor cluster below starts its daemons itself.
 * Needs root (unshare -m -n).
 */
const MONS = [
  { name: "a", address: "10.77.0.11" },
  { name: "b", address: "10.77.0.12" },
  { name: "c", address: "10.77.0.13" },
];
const isRoot = process.getuid?.() === 0;

/** A scratch directory whose bin/systemctl only records what it was asked. */
function scratchDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.mkdirSync(path.join(dir, "bin"));
  fs.writeFileSync(path.join(dir, "bin/systemctl"), `#!/bin/sh\necho "$*" >> ${path.join(dir, "systemctl.log")}\n`, { mode: 0o755 });
  return dir;
}

/** Driver lines giving the private namespaces the host's address, fresh tmpfs Ceph directories and the stub systemctl. */
function scratchHost(dir: string, address: string): string {
  return `
      ip link add h4a0 type veth peer name h4a1
      ip addr add ${address}/16 dev h4a0
      ip link set h4a0 up
      for d in /etc/ceph /var/lib/ceph /var/log/ceph /run/ceph; do mount -t tmpfs h4a "$d"; done
      export PATH=${path.join(dir, "bin")}:$PATH`;
}

(isRoot ? describe : describe.skip)("Ceph scripts on a scratch host (root: private mount namespace)", () => {
  let dir: string;
  let result: { status: number | null; stdout: string; stderr: string };
  const file = (n: string) => path.join(dir, n);

  beforeAll(() => {
    dir = scratchDir("h4a-ceph-run-");
    fs.writeFileSync(file("bootstrap.sh"), renderCephBootstrapScript({ monitors: MONS }));
    fs.writeFileSync(file("mon.sh"), renderCephMonScript({ id: "b" }));
    // The conf needs the fsid the bootstrap makes: rendered in the driver from a template.
    fs.writeFileSync(file("config.tmpl"), renderCephHostConfigScript({ fsid: "00000000-0000-4000-8000-000000000000", monitors: MONS, publicNetwork: "10.77.0.0/16" }));
    const driver = `
      set -euo pipefail${scratchHost(dir, "10.77.0.12")}
      bash ${file("bootstrap.sh")} > ${file("boot1.txt")}
      bash ${file("bootstrap.sh")} > ${file("boot2.txt")}
      get() { sed -n "s/^$1=//p" ${file("boot1.txt")}; }
      fsid=$(get fsid)
      sed "s/00000000-0000-4000-8000-000000000000/$fsid/" ${file("config.tmpl")} > ${file("config.sh")}
      printf '%s\\n%s\\n' "$(get admin_key)" "$(get bootstrap_osd_key)" | bash ${file("config.sh")}
      printf '%s\\n%s\\n%s\\n%s\\n' "$(get mon_key)" "$(get admin_key)" "$(get bootstrap_osd_key)" "$(get monmap)" | bash ${file("mon.sh")} > ${file("mon1.txt")} 2>&1
      printf '%s\\n%s\\n%s\\n%s\\n' "$(get mon_key)" "$(get admin_key)" "$(get bootstrap_osd_key)" "$(get monmap)" | bash ${file("mon.sh")} > ${file("mon2.txt")} 2>&1
      ceph-conf --lookup fsid > ${file("conf-fsid.txt")}
      ceph-authtool -l /etc/ceph/ceph.client.admin.keyring > ${file("admin-keyring.txt")}
      stat -c '%a %U' /etc/ceph/ceph.client.admin.keyring /var/lib/ceph/bootstrap-osd/ceph.keyring > ${file("modes.txt")}
      ls /var/lib/ceph/mon/ceph-b > ${file("mon-dir.txt")}
      ls -A /var/lib/ceph/tmp > ${file("tmp-dir.txt")}
      printf '%s' "$(get monmap)" | base64 -d > ${file("monmap")}
    `;
    const r = spawnSync("unshare", ["-m", "-n", "--propagation", "private", "bash", "-c", driver], { encoding: "utf8", timeout: 120_000 });
    result = { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }, 130_000);

  afterAll(() => { if (!process.env.H4A_KEEP) fs.rmSync(dir, { recursive: true, force: true }); });

  const read = (n: string) => fs.readFileSync(file(n), "utf8");

  it("runs every script to the end", () => {
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: "" });
  });

  it("prints a parseable identity, the same on a second run", () => {
    const first = parseCephBootstrap(read("boot1.txt"));
    expect(parseCephBootstrap(read("boot2.txt"))).toEqual(first);
    expect(read("conf-fsid.txt").trim()).toBe(first.fsid);
  });

  it("makes a monmap holding every monitor with v2 and v1 addresses", () => {
    const r = spawnSync("monmaptool", ["--print", file("monmap")], { encoding: "utf8" });
    const fsid = parseCephBootstrap(read("boot1.txt")).fsid;
    expect(r.stdout).toContain(`fsid ${fsid}`);
    for (const [i, m] of MONS.entries()) {
      expect(r.stdout).toContain(`${i}: [v2:${m.address}:3300/0,v1:${m.address}:6789/0] mon.${m.name}`);
    }
  });

  it("writes the admin keyring 0600 with the bootstrap key, the bootstrap-osd keyring for ceph", () => {
    const admin = parseCephBootstrap(read("boot1.txt")).adminKey;
    expect(read("admin-keyring.txt")).toContain(`key = ${admin}`);
    expect(read("modes.txt").trim().split("\n")).toEqual(["600 root", "600 ceph"]);
  });

  it("creates the monitor once with ceph-mon --mkfs, leaves no keyring behind and enables it", () => {
    expect(read("mon-dir.txt").split("\n")).toEqual(expect.arrayContaining(["done", "keyring", "store.db", "kv_backend"]));
    expect(read("tmp-dir.txt")).toBe("");
    expect(read("mon1.txt")).toContain("kvm-cloud: created mon.b");
    expect(read("mon2.txt")).toBe("");
    expect(read("systemctl.log")).toContain("enable --now ceph-mon@b.service");
  });
});

(isRoot ? describe : describe.skip)("a one-monitor cluster from the scripts, with its manager and an OSD on a file (root: private namespaces)", () => {
  let dir: string;
  let out = "";
  const file = (n: string) => path.join(dir, n);
  const read = (n: string) => fs.readFileSync(file(n), "utf8");

  beforeAll(() => {
    dir = scratchDir("h4a-ceph-one-");
    const mon = [{ name: "a", address: "10.77.0.11" }];
    fs.writeFileSync(file("bootstrap.sh"), renderCephBootstrapScript({ monitors: mon }));
    fs.writeFileSync(file("mon.sh"), renderCephMonScript({ id: "a" }));
    fs.writeFileSync(file("mgr.sh"), renderCephMgrScript({ id: "a" }));
    // On the test's own disk, not the tmpfs: BlueStore opens its block with O_DIRECT, which tmpfs refuses.
    // The OSD runs as ceph, which must pass through the scratch directory to its file.
    fs.chmodSync(dir, 0o711);
    fs.writeFileSync(file("osd.sh"), renderCephFileOsdScript({ file: file("osd-files/0.img"), sizeGiB: 1 }));
    fs.writeFileSync(file("config.tmpl"), renderCephHostConfigScript({ fsid: "00000000-0000-4000-8000-000000000000", monitors: mon, publicNetwork: "10.77.0.0/16" }));
    // Daemons are stopped by pid before the namespace goes: nothing outlives the test.
    const driver = `
      set -euo pipefail${scratchHost(dir, "10.77.0.11")}
      ip link set lo up
      chown ceph:ceph /run/ceph /var/log/ceph
      bash ${file("bootstrap.sh")} > ${file("boot.txt")}
      get() { sed -n "s/^$1=//p" ${file("boot.txt")}; }
      sed "s/00000000-0000-4000-8000-000000000000/$(get fsid)/" ${file("config.tmpl")} > ${file("config.sh")}
      printf '%s\\n%s\\n' "$(get admin_key)" "$(get bootstrap_osd_key)" | bash ${file("config.sh")}
      printf '%s\\n%s\\n%s\\n%s\\n' "$(get mon_key)" "$(get admin_key)" "$(get bootstrap_osd_key)" "$(get monmap)" | bash ${file("mon.sh")}
      # Foreground daemons as this shell's children: their pids are known and
      # the trap ends them whatever happens (no pid files, no leftovers).
      pids=()
      stop() { rc=$?; for p in "\${pids[@]}"; do kill "$p" 2>/dev/null; done; wait; exit "$rc"; }
      trap stop EXIT INT TERM
      ceph-mon -f -i a --setuser ceph --setgroup ceph & pids+=($!)
      echo "$!" > ${file("pids")}
      timeout 120 bash ${file("mgr.sh")} > ${file("mgr1.txt")} 2>&1
      timeout 60 bash ${file("mgr.sh")} > ${file("mgr2.txt")} 2>&1
      ceph-mgr -f -i a --setuser ceph --setgroup ceph & pids+=($!)
      echo "$!" >> ${file("pids")}
      timeout 180 bash ${file("osd.sh")} > ${file("osd1.txt")} 2>&1
      timeout 60 bash ${file("osd.sh")} > ${file("osd2.txt")} 2>&1
      ceph-osd -f -i 0 --setuser ceph --setgroup ceph & pids+=($!)
      echo "$!" >> ${file("pids")}
      for _ in $(seq 90); do ceph --connect-timeout 10 osd stat -f json > ${file("osd-stat.json")}; grep -q '"num_up_osds":1' ${file("osd-stat.json")} && break; sleep 1; done
      ls /var/lib/ceph/osd/ceph-0 > ${file("osd-dir.txt")}
      stat -c '%a %U' /var/lib/ceph/osd/ceph-0/keyring ${file("osd-files/0.img")} > ${file("osd-modes.txt")}
      ceph --connect-timeout 10 auth get osd.0 -f json > ${file("osd-auth.json")}
      ceph --connect-timeout 10 auth get mgr.a -f json > ${file("mgr-auth.json")}
      ceph --connect-timeout 10 auth ls -f json > ${file("auth.json")}
      ceph --connect-timeout 10 mon dump -f json > ${file("mon-dump.json")}
      stat -c '%a %U' /var/lib/ceph/mgr/ceph-a/keyring > ${file("mgr-keyring-mode.txt")}
      echo done
    `;
    const r = spawnSync("unshare", ["-m", "-n", "--propagation", "private", "bash", "-c", driver], { encoding: "utf8", timeout: 240_000 });
    out = `exit ${r.status}\n${r.stdout}${r.stderr}`;
  }, 250_000);

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("gets through every step", () => {
    expect(out).toMatch(/^exit 0\n[\s\S]*done/);
  });

  it("forms a monitor with the bootstrap fsid that knows admin and bootstrap-osd with their caps", () => {
    const boot = parseCephBootstrap(read("boot.txt"));
    const dump = JSON.parse(read("mon-dump.json")) as { fsid: string; mons: Array<{ name: string }> };
    expect(dump.fsid).toBe(boot.fsid);
    expect(dump.mons.map((m) => m.name)).toEqual(["a"]);
    const auth = JSON.parse(read("auth.json")) as { auth_dump: Array<{ entity: string; key: string; caps: Record<string, string> }> };
    const admin = auth.auth_dump.find((e) => e.entity === "client.admin")!;
    expect(admin.key).toBe(boot.adminKey);
    expect(admin.caps).toEqual({ mds: "allow *", mgr: "allow *", mon: "allow *", osd: "allow *" });
    expect(auth.auth_dump.find((e) => e.entity === "client.bootstrap-osd")?.caps).toEqual({ mgr: "allow r", mon: "profile bootstrap-osd" });
  });

  it("gives the manager a key of its own, once, in a keyring only ceph reads", () => {
    const [mgr] = JSON.parse(read("mgr-auth.json")) as Array<{ caps: Record<string, string> }>;
    expect(mgr.caps).toEqual({ mds: "allow *", mon: "allow profile mgr", osd: "allow *" });
    expect(read("mgr-keyring-mode.txt").trim()).toBe("600 ceph");
    expect(read("mgr1.txt")).toBe("kvm-cloud: created the key of mgr.a\n");
    expect(read("mgr2.txt")).toBe("");
    expect(read("systemctl.log")).toContain("enable --now ceph-mgr@a.service");
  });

  it("makes a BlueStore OSD on a sparse file once, with its own key, and it comes up", () => {
    expect(read("osd1.txt")).toMatch(/^kvm-cloud: created osd\.0 on .*osd-files\/0\.img\n$/);
    expect(read("osd2.txt")).toBe("");
    expect(JSON.parse(read("osd-stat.json"))).toMatchObject({ num_osds: 1, num_up_osds: 1, num_in_osds: 1 });
    expect(read("osd-dir.txt").split("\n")).toEqual(expect.arrayContaining(["block", "keyring", "mkfs_done", "kvmcloud-osd-file"]));
    expect(read("osd-modes.txt").trim().split("\n")).toEqual(["600 ceph", "600 ceph"]);
    expect(fs.statSync(file("osd-files/0.img")).size).toBe(1024 ** 3);
    const [osd] = JSON.parse(read("osd-auth.json")) as Array<{ caps: Record<string, string> }>;
    expect(osd.caps).toEqual({ mgr: "allow profile osd", mon: "allow profile osd", osd: "allow *" });
    expect(read("systemctl.log")).toContain("enable --now ceph-osd@0");
  });

  it("leaves no daemon running", () => {
    const pids = read("pids").trim().split("\n").map(Number);
    expect(pids).toHaveLength(3);
    const alive = pids.filter((pid) => {
      try {
        return !fs.readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ");
      } catch {
        return false;
      }
    });
    expect(alive).toEqual([]);
  });
});
