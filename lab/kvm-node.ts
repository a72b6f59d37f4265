import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { renderRbdPoolXml } from "../lib/render/libvirt-pool";
import { renderCephSecretXml } from "../lib/render/libvirt-secret";
import { output, run, succeeds, waitFor } from "./exec";
import { ensureMountNamespace, killStray, livePid, onHost } from "./host-exec";
import { LabPaths, nodeDir } from "./paths";
import { LabHost } from "./topology";

/**
 * A lab KVM node: its own libvirtd and virtlogd inside the node's network and
 * mount namespaces, with private copies of the directories libvirt owns, so
 * two nodes on one machine behave like two machines (distinct host UUIDs,
 * sockets, domains) and can live-migrate guests between each other.
 */

/** Directories bind-mounted privately into the node's mount namespace. */
const PRIVATE_DIRS = ["/etc/libvirt", "/var/lib/libvirt", "/run/libvirt", "/var/log/libvirt", "/var/cache/libvirt", "/etc/ceph"] as const;

export interface NodeCephAccess {
  readonly cephConf: string;
  readonly clientName: string;
  readonly clientKeyring: string;
  readonly clientKey: string;
  readonly secretUuid: string;
  readonly pool: string;
  readonly monitors: readonly string[];
}

function privateDir(p: LabPaths, h: LabHost, dir: string): string {
  return path.join(nodeDir(p, h.name), dir.replace(/^\//, "").replace(/\//g, "-"));
}

/** Pure: libvirtd.conf of a lab node. TCP without auth is for the lab only. */
export function renderLabLibvirtdConf(o: { address: string; hostUuid: string }): string {
  return [
    "listen_tls = 0",
    "listen_tcp = 1",
    `listen_addr = "${o.address}"`,
    'tcp_port = "16509"',
    'auth_tcp = "none"',
    'auth_unix_rw = "none"',
    'unix_sock_group = "root"',
    'unix_sock_rw_perms = "0770"',
    `host_uuid = "${o.hostUuid}"`,
    "log_level = 3",
    'log_outputs = "3:file:/var/log/libvirt/libvirtd.log"',
    "",
  ].join("\n");
}

/** Pure: qemu.conf for guests run by root without systemd, cgroups or a security driver. */
export function renderLabQemuConf(): string {
  return [
    'user = "root"',
    'group = "root"',
    "dynamic_ownership = 0",
    "remember_owner = 0",
    'security_driver = "none"',
    "cgroup_controllers = [ ]",
    "namespaces = [ ]",
    "",
  ].join("\n");
}

function prepareDirs(p: LabPaths, h: LabHost): void {
  for (const dir of PRIVATE_DIRS) {
    const own = privateDir(p, h, dir);
    if (!fs.existsSync(own)) {
      fs.mkdirSync(own, { recursive: true });
      if (dir === "/etc/libvirt" && fs.existsSync(dir)) {
        fs.cpSync(dir, own, { recursive: true });
        // Debian's default NAT network would start a second dnsmasq in the node.
        fs.rmSync(path.join(own, "qemu", "networks", "autostart"), { recursive: true, force: true });
      }
    }
  }
  const etc = privateDir(p, h, "/etc/libvirt");
  const uuidFile = path.join(nodeDir(p, h.name), "host-uuid");
  if (!fs.existsSync(uuidFile)) {
    fs.writeFileSync(uuidFile, crypto.randomUUID());
  }
  const hostUuid = fs.readFileSync(uuidFile, "utf8").trim();
  fs.writeFileSync(path.join(etc, "libvirtd.conf"), renderLabLibvirtdConf({ address: h.address, hostUuid }));
  fs.writeFileSync(path.join(etc, "qemu.conf"), renderLabQemuConf());
}

async function bindPrivateDirs(p: LabPaths, h: LabHost): Promise<void> {
  for (const dir of PRIVATE_DIRS) {
    fs.mkdirSync(dir, { recursive: true });
    if (!(await succeeds(onHost(h, ["mountpoint", "-q", dir])))) {
      await run(onHost(h, ["mount", "--bind", privateDir(p, h, dir), dir]));
    }
  }
}

function virsh(h: LabHost, ...args: string[]): string[] {
  return onHost(h, ["virsh", "-q", "-c", "qemu:///system", ...args]);
}

export function libvirtdPidFile(p: LabPaths, h: LabHost): string {
  return path.join(privateDir(p, h, "/run/libvirt"), "libvirtd.pid");
}

async function startDaemons(p: LabPaths, h: LabHost): Promise<void> {
  const run_ = privateDir(p, h, "/run/libvirt");
  killStray(path.join(run_, "virtlogd.pid"), "virtlogd", h.ns);
  killStray(libvirtdPidFile(p, h), "libvirtd", h.ns);
  if (livePid(path.join(run_, "virtlogd.pid"), "virtlogd", h.ns) === undefined) {
    fs.rmSync(path.join(run_, "virtlogd.pid"), { force: true });
    fs.rmSync(path.join(run_, "virtlogd-sock"), { force: true });
    fs.rmSync(path.join(run_, "virtlogd-admin-sock"), { force: true });
    await run(onHost(h, ["virtlogd", "-d", "-p", "/run/libvirt/virtlogd.pid"]));
  }
  if (livePid(libvirtdPidFile(p, h), "libvirtd", h.ns) === undefined) {
    fs.rmSync(libvirtdPidFile(p, h), { force: true });
    for (const sock of ["libvirt-sock", "libvirt-sock-ro", "libvirt-admin-sock"]) {
      fs.rmSync(path.join(run_, sock), { force: true });
    }
    await run(onHost(h, ["libvirtd", "-d", "--listen", "-p", "/run/libvirt/libvirtd.pid", "-f", "/etc/libvirt/libvirtd.conf"]));
  }
  await waitFor(`libvirtd on ${h.name}`, async () => ((await succeeds(virsh(h, "version"), { timeoutMs: 5000 })) ? true : undefined), 30_000, 300);
}

async function ensureCephClient(p: LabPaths, h: LabHost, c: NodeCephAccess): Promise<void> {
  const etcCeph = privateDir(p, h, "/etc/ceph");
  fs.copyFileSync(c.cephConf, path.join(etcCeph, "ceph.conf"));
  fs.copyFileSync(c.clientKeyring, path.join(etcCeph, `ceph.client.${c.clientName}.keyring`));
  fs.chmodSync(path.join(etcCeph, `ceph.client.${c.clientName}.keyring`), 0o600);
}

async function ensureSecret(p: LabPaths, h: LabHost, c: NodeCephAccess): Promise<void> {
  const list = await output(virsh(h, "secret-list"));
  // A secret for the same client under another UUID (an older lab) blocks ours.
  for (const line of list.split("\n")) {
    const [uuid, ...usage] = line.trim().split(/\s+/);
    if (uuid && uuid !== c.secretUuid && usage.join(" ") === `ceph client.${c.clientName} secret`) {
      await run(virsh(h, "secret-undefine", uuid));
    }
  }
  if (!list.includes(c.secretUuid)) {
    const xml = path.join(nodeDir(p, h.name), "secret.xml");
    fs.writeFileSync(xml, renderCephSecretXml({ uuid: c.secretUuid, clientName: c.clientName }));
    await run(virsh(h, "secret-define", "--file", xml));
  }
  // The key travels in a 0600 file, exactly as `ceph auth get-key` prints it:
  // no newline, and not --plain (qemu then fails with "Invalid argument").
  const keyFile = path.join(nodeDir(p, h.name), "secret.key");
  fs.writeFileSync(keyFile, c.clientKey.trim(), { mode: 0o600 });
  try {
    await run(virsh(h, "secret-set-value", "--secret", c.secretUuid, "--file", keyFile));
  } finally {
    fs.rmSync(keyFile, { force: true });
  }
}

async function ensurePool(p: LabPaths, h: LabHost, c: NodeCephAccess): Promise<void> {
  const name = c.pool;
  const current = await run(virsh(h, "pool-dumpxml", "--inactive", name), { allowFail: true });
  if (current.code === 0 && !current.stdout.includes(c.secretUuid)) {
    // Defined by an older lab with another secret: it can never start.
    await run(virsh(h, "pool-destroy", name), { allowFail: true });
    await run(virsh(h, "pool-undefine", name));
  }
  if (!(await succeeds(virsh(h, "pool-info", name)))) {
    const xml = path.join(nodeDir(p, h.name), "pool.xml");
    fs.writeFileSync(xml, renderRbdPoolXml({ cephPool: c.pool, monitors: c.monitors, clientName: c.clientName, secretUuid: c.secretUuid }));
    await run(virsh(h, "pool-define", xml));
    await run(virsh(h, "pool-autostart", name));
  }
  const info = await output(virsh(h, "pool-info", name));
  if (!/State:\s+running/.test(info)) {
    await run(virsh(h, "pool-start", name), { timeoutMs: 60_000 });
  }
}

export async function ensureKvmNode(p: LabPaths, h: LabHost, ceph: NodeCephAccess): Promise<void> {
  fs.mkdirSync(nodeDir(p, h.name), { recursive: true });
  await ensureMountNamespace(h);
  prepareDirs(p, h);
  await bindPrivateDirs(p, h);
  await ensureCephClient(p, h, ceph);
  await startDaemons(p, h);
  await ensureSecret(p, h, ceph);
  await ensurePool(p, h, ceph);
}

/** Capacity as libvirt reports it: what placement works from. */
export async function nodeCapacity(h: LabHost): Promise<{ vcpus: number; memoryMiB: number }> {
  const text = await output(virsh(h, "nodeinfo"));
  const cpus = /CPU\(s\):\s+(\d+)/.exec(text);
  const mem = /Memory size:\s+(\d+) KiB/.exec(text);
  if (!cpus || !mem) {
    throw new Error(`cannot read capacity of ${h.name} from virsh nodeinfo: ${text}`);
  }
  return { vcpus: Number(cpus[1]), memoryMiB: Math.floor(Number(mem[1]) / 1024) };
}

export async function kvmNodeHealthy(p: LabPaths, h: LabHost, ceph: { secretUuid: string; pool: string }): Promise<string | undefined> {
  if (livePid(libvirtdPidFile(p, h), "libvirtd", h.ns) === undefined) {
    return "libvirtd is not running";
  }
  const secrets = await run(virsh(h, "secret-list"), { allowFail: true, timeoutMs: 10_000 });
  if (secrets.code !== 0) return `virsh does not answer: ${secrets.stderr.trim()}`;
  if (!secrets.stdout.includes(ceph.secretUuid)) return `cephx secret ${ceph.secretUuid} is not defined`;
  const pool = await run(virsh(h, "pool-info", ceph.pool), { allowFail: true, timeoutMs: 10_000 });
  if (!/State:\s+running/.test(pool.stdout)) return `storage pool ${ceph.pool} is not running`;
  return undefined;
}

export { virsh as virshOn };
