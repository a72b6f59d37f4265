import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { BridgeSetup, renderBridgeConfig } from "../../lib/kvm-node/bridge-config";
import { uuidFromSeed } from "../../lib/core/derived-uuid";
import { renderBridgeSetupScript } from "../../lib/kvm-node/bridge-script";
import { renderCephOsdScript } from "../../lib/ceph/daemons-script";
import { renderCephPoolScript } from "../../lib/ceph/pool-script";
import {
  parseHostFacts,
  renderHostFactsScript,
  renderKvmPackagesScript,
  renderLibvirtCephScript,
  renderLibvirtQemuConfScript,
  renderNodeCephClientScript,
} from "../../lib/kvm-node/node-script";
import { migrationUri, parseMigrationKeys, renderMigrationAccessScript, renderMigrationKeyScript } from "../../lib/kvm-node/migration-script";
import { remoteInvocation } from "../../lib/core/script";
import { shellcheck } from "../helpers/shellcheck";

const BRIDGE: BridgeSetup = { backend: "ifupdown", bridge: "br0", nic: "eno1", address: "192.0.2.21", prefixLength: 24, gateway: "192.0.2.1", dnsServers: ["192.0.2.1"], nicMac: "52:54:00:12:34:56" };
const FSID = "8f14e45f-ceea-467f-a0e6-0a2f1c3b4d5e";
const PUB = (c: string) => `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${c.padEnd(43, "A")}`;
const PEERS = [
  { name: "node2", address: "192.0.2.22", migrationKey: PUB("m2"), hostKey: PUB("h2") },
  { name: "node3", address: "192.0.2.23", migrationKey: PUB("m3"), hostKey: PUB("h3") },
];

describe("KVM node scripts", () => {
  const scripts: Array<[string, string]> = [
    ["packages", renderKvmPackagesScript()],
    ["qemu.conf", renderLibvirtQemuConfScript({ securityDriver: "apparmor" })],
    ["ceph client", renderNodeCephClientScript({ fsid: FSID, monitors: [{ name: "m0", address: "192.0.2.11" }], clientName: "libvirt" })],
    ["libvirt ceph", renderLibvirtCephScript({ secretUuid: uuidFromSeed("x"), clientName: "libvirt", pool: "libvirt-pool", monitors: ["192.0.2.11"] })],
    ["facts", renderHostFactsScript("eno1")],
    ["bridge ifupdown", renderBridgeSetupScript(BRIDGE)],
    ["bridge networkd, no gateway", renderBridgeSetupScript({ ...BRIDGE, backend: "networkd", gateway: undefined })],
    ["bridge netplan", renderBridgeSetupScript({ ...BRIDGE, backend: "netplan" })],
    ["migration key", renderMigrationKeyScript()],
    ["migration access", renderMigrationAccessScript({ peers: PEERS })],
  ];

  it.each(scripts)("%s is strict and shellcheck-clean", (_what, text) => {
    expect(text).toContain("\nset -euo pipefail\n");
    expect(shellcheck(text)).toBe("");
  });

  it.each(scripts)("%s fits in one SSH command line", (_what, text) => {
    expect(shellcheck(remoteInvocation(text) + "\n", "sh").split("\n").filter((l) => l && !l.includes("SC2016"))).toEqual([]);
  });

  it("installs libvirt, QEMU with RBD and genisoimage, and leaves the node exporter to Monitoring", () => {
    const text = renderKvmPackagesScript();
    for (const p of ["qemu-system-x86", "libvirt-daemon-system", "libvirt-daemon-driver-storage-rbd", "genisoimage", "ceph-common"]) {
      expect(text).toContain(p);
    }
    expect(text).not.toContain("prometheus-node-exporter");
  });

  it("moves the address in one ip batch and reverses it when the gateway is gone", () => {
    const text = renderBridgeSetupScript(BRIDGE);
    expect(text).toContain("printf '%s\\n' 'link set dev eno1 master br0' 'address del 192.0.2.21/24 dev eno1' 'address add 192.0.2.21/24 dev br0' 'route replace default via 192.0.2.1 dev br0' | ip -batch -");
    expect(text).toContain("'link set dev eno1 nomaster' 'route replace default via 192.0.2.1 dev eno1' | ip -force -batch -");
    expect(text).not.toMatch(/(^|\s)(ifup|ifdown|ifreload|netplan apply|networkctl reload|systemctl restart networking)(\s|$)/m);
  });
});

describe("renderBridgeConfig", () => {
  it("ifupdown: NIC manual, bridge static with the address and gateway", () => {
    const [f] = renderBridgeConfig(BRIDGE);
    expect(f.path).toBe("/etc/network/interfaces.d/kvmcloud-br0");
    expect(f.content.split("\n")).toEqual(expect.arrayContaining(["iface eno1 inet manual", "auto br0", "iface br0 inet static", "    address 192.0.2.21/24", "    hwaddress 52:54:00:12:34:56", "    gateway 192.0.2.1", "    bridge_ports eno1"]));
  });

  it("networkd: netdev, port and bridge networks", () => {
    const files = renderBridgeConfig({ ...BRIDGE, backend: "networkd" });
    expect(files.map((f) => path.basename(f.path))).toEqual(["10-kvmcloud-br0.netdev", "10-kvmcloud-br0-port.network", "10-kvmcloud-br0.network"]);
    expect(files[0].content).toContain("[NetDev]\nName=br0\nKind=bridge\nMACAddress=52:54:00:12:34:56\n");
    expect(files[1].content).toContain("[Match]\nName=eno1\n\n[Network]\nBridge=br0\n");
    expect(files[2].content).toContain("Address=192.0.2.21/24\nGateway=192.0.2.1\nDNS=192.0.2.1\n");
  });

  it("netplan: YAML that parses to the bridge, 0600", () => {
    const [f] = renderBridgeConfig({ ...BRIDGE, backend: "netplan" });
    expect(f.mode).toBe("0600");
    expect(parse(f.content)).toEqual({
      network: {
        version: 2,
        ethernets: { eno1: { dhcp4: false, dhcp6: false } },
        bridges: {
          br0: { interfaces: ["eno1"], macaddress: "52:54:00:12:34:56", addresses: ["192.0.2.21/24"], parameters: { stp: false, "forward-delay": 0 }, routes: [{ to: "default", via: "192.0.2.1" }], nameservers: { addresses: ["192.0.2.1"] } },
        },
      },
    });
  });

  it.each<[Partial<BridgeSetup>, RegExp]>([
    [{ backend: "nm" as never }, /networkBackend: "nm" .*"ifupdown", "networkd", "netplan"/],
    [{ nic: "eth0; reboot" }, /nic: "eth0; reboot"/],
    [{ nic: undefined as never }, /^nic: undefined is not allowed/],
    [{ gateway: "192.0.2.21" }, /gateway: "192.0.2.21" .*other than the host's own/],
    [{ dnsServers: ["dns.example"] }, /dnsServers\[0\]: "dns.example"/],
    [{ nicMac: "52:54:00:AB:CD:EF" }, /^nicMac: "52:54:00:AB:CD:EF" is not allowed; expected a lower-case MAC address/],
  ])("rejects %j naming the field", (patch, message) => {
    expect(() => renderBridgeConfig({ ...BRIDGE, ...patch })).toThrow(message);
  });
});

describe("node facts, keys and URIs", () => {
  it("the facts script, run here, reports this machine", () => {
    const [nic, addrs] = Object.entries(os.networkInterfaces()).find(([, a]) => a?.some((x) => !x.internal)) ?? ["lo", [{ mac: "00:00:00:00:00:00" }]];
    const r = spawnSync("bash", ["-c", renderHostFactsScript(nic)], { encoding: "utf8" });
    const facts = parseHostFacts(r.stdout);
    expect(facts.vcpus).toBe(Number(spawnSync("nproc", { encoding: "utf8" }).stdout.trim()));
    expect(Math.abs(facts.memoryMiB - os.totalmem() / 2 ** 20)).toBeLessThan(2);
    expect(facts.nicMac).toBe(addrs![0].mac);
  });

  it("rejects facts it cannot read, and a NIC name that is not one", () => {
    expect(() => parseHostFacts("vcpus=two\n")).toThrow(/vcpus=N, memory_kib=N and nic_mac=MAC/);
    expect(() => parseHostFacts("vcpus=2\nmemory_kib=1024\nnic_mac=\n")).toThrow(/nic_mac=MAC, got/);
    expect(() => renderHostFactsScript("eth0 x")).toThrow(/^nic: "eth0 x" is not allowed; expected a Linux interface name/);
  });

  it("parses keys and refuses anything but an ed25519 public key", () => {
    expect(parseMigrationKeys(`migration_key=${PUB("a")}\nhost_key=${PUB("b")}\n`)).toEqual({ migrationKey: PUB("a"), hostKey: PUB("b") });
    expect(() => parseMigrationKeys(`migration_key=-----BEGIN OPENSSH PRIVATE KEY-----\nhost_key=${PUB("b")}\n`)).toThrow(/migration_key/);
  });

  it("gives an SSH URI, never plain TCP", () => {
    expect(migrationUri("192.0.2.21")).toBe("qemu+ssh://root@192.0.2.21/system?keyfile=/root/.ssh/kvmcloud_migration");
    expect(() => migrationUri("node1; x")).toThrow(/address/);
  });

  it("derives a stable RFC 4122 UUID from a seed", () => {
    expect(uuidFromSeed("a")).toBe(uuidFromSeed("a"));
    expect(uuidFromSeed("a")).not.toBe(uuidFromSeed("b"));
    expect(uuidFromSeed("a")).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

const isRoot = process.getuid?.() === 0;

/** Runs a driver in a private mount namespace (tmpfs over the given dirs) with a stub systemctl. */
function inScratchHost(tmpfs: readonly string[], driver: string): { status: number | null; out: string; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "h4a-node-"));
  fs.mkdirSync(path.join(dir, "bin"));
  fs.writeFileSync(path.join(dir, "bin/systemctl"), `#!/bin/sh\necho "$*" >> ${dir}/systemctl.log\n`, { mode: 0o755 });
  const mounts = tmpfs.map((d) => `mkdir -p ${d} && mount -t tmpfs h4a ${d}`).join("\n");
  const r = spawnSync("unshare", ["-m", "--propagation", "private", "bash", "-c", `set -euo pipefail\n${mounts}\nexport PATH=${dir}/bin:$PATH D=${dir}\n${driver}`], {
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: r.status, out: r.stdout + r.stderr, dir };
}

(isRoot ? describe : describe.skip)("KVM node scripts on a scratch host (root: private mount namespace)", () => {
  const dirs: string[] = [];
  // Per run: other sessions may run these tests at the same time.
  const scripts = fs.mkdtempSync(path.join(os.tmpdir(), "h4a-scripts-"));
  afterAll(() => {
    dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
    fs.rmSync(scripts, { recursive: true, force: true });
  });

  it("sets the security driver once and restarts libvirtd only then", () => {
    fs.writeFileSync(path.join(scripts, "qemu.sh"), renderLibvirtQemuConfScript({ securityDriver: "none" }));
    const r = inScratchHost(["/etc/libvirt"], `printf '%s\\n' '#security_driver = "selinux"' 'security_driver = "apparmor"' 'user = "root"' > /etc/libvirt/qemu.conf
      bash ${scripts}/qemu.sh; bash ${scripts}/qemu.sh; cp /etc/libvirt/qemu.conf $D/qemu.conf`);
    dirs.push(r.dir);
    expect(r.status).toBe(0);
    expect(fs.readFileSync(path.join(r.dir, "qemu.conf"), "utf8")).toBe('#security_driver = "selinux"\nuser = "root"\nsecurity_driver = "none"\n');
    const calls = fs.readFileSync(path.join(r.dir, "systemctl.log"), "utf8").trim().split("\n");
    expect(calls.filter((c) => c.startsWith("restart"))).toEqual(["restart libvirtd.service"]);
    // Every run, changed or not, ends by making sure libvirtd runs.
    expect(calls.filter((c) => c.startsWith("is-active"))).toEqual(["is-active --quiet libvirtd.service", "is-active --quiet libvirtd.service"]);
  });

  it("writes a ceph.conf that ceph-conf reads and a 0600 client keyring", () => {
    fs.writeFileSync(path.join(scripts, "cephc.sh"), renderNodeCephClientScript({ fsid: FSID, monitors: [{ name: "m0", address: "192.0.2.11" }], clientName: "libvirt" }));
    const key = "AQCONAJr3X5ENxAAXc0zagPxR0kpI89+/ZonaQ==";
    const r = inScratchHost(["/etc/ceph"], `echo ${key} | bash ${scripts}/cephc.sh
      ceph-conf -n client.libvirt --lookup keyring > $D/keyring-path
      ceph-conf --lookup fsid > $D/fsid
      ceph-authtool -l /etc/ceph/ceph.client.libvirt.keyring > $D/keyring
      stat -c %a /etc/ceph/ceph.client.libvirt.keyring > $D/mode`);
    dirs.push(r.dir);
    const read = (f: string) => fs.readFileSync(path.join(r.dir, f), "utf8").trim();
    expect(r.status).toBe(0);
    expect(read("fsid")).toBe(FSID);
    expect(read("keyring-path")).toBe("/etc/ceph/ceph.client.libvirt.keyring");
    expect(read("keyring")).toContain(`[client.libvirt]\n\tkey = ${key}`);
    expect(read("mode")).toBe("600");
  });

  it("keeps the other authorized keys and replaces only its own block", () => {
    fs.writeFileSync(path.join(scripts, "mig1.sh"), renderMigrationAccessScript({ peers: PEERS }));
    fs.writeFileSync(path.join(scripts, "mig2.sh"), renderMigrationAccessScript({ peers: PEERS.slice(0, 1) }));
    const r = inScratchHost(["/root"], `install -d -m 0700 /root/.ssh; echo 'ssh-ed25519 AAAAadmin admin@laptop' > /root/.ssh/authorized_keys
      bash ${scripts}/mig1.sh; cp /root/.ssh/authorized_keys $D/ak1
      bash ${scripts}/mig1.sh; cp /root/.ssh/authorized_keys $D/ak1b
      bash ${scripts}/mig2.sh; cp /root/.ssh/authorized_keys $D/ak2; cp /root/.ssh/known_hosts $D/kh2; cp /root/.ssh/config $D/cfg2
      ssh -G node2 > $D/resolved
      stat -c %a /root/.ssh/authorized_keys > $D/mode`);
    dirs.push(r.dir);
    const read = (f: string) => fs.readFileSync(path.join(r.dir, f), "utf8");
    expect(r.status).toBe(0);
    expect(read("ak1").split("\n")).toEqual([
      "ssh-ed25519 AAAAadmin admin@laptop",
      "# kvm-cloud migration peers: begin",
      `restrict ${PUB("m2")} kvmcloud-migration@node2`,
      `restrict ${PUB("m3")} kvmcloud-migration@node3`,
      "# kvm-cloud migration peers: end",
      "",
    ]);
    expect(read("ak1b")).toBe(read("ak1"));
    expect(read("ak2")).not.toContain(PUB("m3"));
    expect(read("ak2")).toContain("ssh-ed25519 AAAAadmin admin@laptop");
    expect(read("kh2")).toContain(`192.0.2.22 ${PUB("h2")}`);
    // Names of the peers left (node3 went with mig2) map to their addresses, as Pacemaker's migrations need.
    expect(read("cfg2")).not.toContain("node3");
    expect(read("resolved")).toMatch(/^hostname 192\.0\.2\.22$/m);
    expect(read("mode").trim()).toBe("600");
  });
});

describe("pipelines under pipefail", () => {
  it("no rendered script ends a pipeline in grep -q (SIGPIPE would fail it on a match)", () => {
    const texts = [
      renderKvmPackagesScript(),
      renderLibvirtCephScript({ secretUuid: uuidFromSeed("x"), clientName: "libvirt", pool: "p", monitors: ["192.0.2.11"] }),
      renderBridgeSetupScript(BRIDGE),
      renderCephPoolScript({ pool: "p", pgCount: 8, replicaSize: 3, clientName: "libvirt" }),
      renderCephOsdScript({ device: "/dev/sdb" }),
    ];
    for (const t of texts) {
      expect(t).not.toMatch(/\|\s*grep -[a-zA-Z]*q/);
    }
  });
});
