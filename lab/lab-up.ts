import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { ensureBareHost } from "./bare-host";
import { ensureBaseImage } from "./base-image";
import { cephArgv, CephLab, cephTarget, ensureCephClient } from "./ceph";
import { LabDescription, writeLabDescription } from "./description";
import { buildGuestImage } from "./guest-image";
import { ensureServices } from "./services";
import { ensureKvmNode, nodeCapacity } from "./kvm-node";
import { ensureMonitoring, MONITORING, monitoringUrls } from "./monitoring";
import { ensureHostNetwork, ensureSwitch, LAB_CIDR } from "./netns";
import { ensurePackages } from "./packages";
import { LabPaths, labPaths } from "./paths";
import { ensureKnownHosts, ensureLabKey, ensureSshd } from "./sshd";
import { BARE_HOSTS, CEPH, DHCP, HOSTS, hostByName, LabHost, NODES, SWITCH_NS } from "./topology";

export type Log = (line: string) => void;

function secretUuid(p: LabPaths): string {
  const file = path.join(p.secrets, "libvirt-secret-uuid");
  fs.mkdirSync(p.secrets, { recursive: true, mode: 0o700 });
  if (!fs.existsSync(file)) {
    fs.writeFileSync(file, crypto.randomUUID(), { mode: 0o600 });
  }
  return fs.readFileSync(file, "utf8").trim();
}

/** A KVM node made, or mended after its processes died: libvirtd with the cephx secret and pool, and its sshd. */
export async function ensureNode(p: LabPaths, n: LabHost, ceph: CephLab & { readonly monitors: readonly string[] }, publicKey: string): Promise<void> {
  await ensureKvmNode(p, n, {
    cephConf: ceph.clientConfigPath,
    clientName: CEPH.client,
    clientKeyring: ceph.clientKeyringPath,
    clientKey: ceph.clientKey,
    secretUuid: secretUuid(p),
    pool: CEPH.pool,
    monitors: [...ceph.monitors],
  });
  await ensureSshd(p, n, publicKey);
}

async function step<T>(log: Log, name: string, f: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    const v = await f();
    log(`${name}: ok (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    return v;
  } catch (e) {
    throw new Error(`lab:up failed at "${name}": ${(e as Error).message}`);
  }
}

/** Builds (or mends) the whole lab and writes its description. Idempotent. */
export async function labUp(log: Log = console.log, p: LabPaths = labPaths()): Promise<LabDescription> {
  const t0 = Date.now();
  fs.mkdirSync(p.state, { recursive: true, mode: 0o755 });
  await step(log, "packages", () => ensurePackages(log));
  await step(log, "network", async () => {
    await ensureSwitch();
    for (const h of HOSTS) await ensureHostNetwork(h);
  });
  const publicKey = await ensureLabKey(p);
  const dns = hostByName("dns");
  const db = hostByName("db");
  for (const h of BARE_HOSTS) await step(log, `bare host ${h.name}`, () => ensureBareHost(p, h, publicKey));
  // The product builds dnsmasq, the inventory and Ceph on the bare hosts; the guest image is made meanwhile.
  const knownHostsPath = await ensureKnownHosts(p, BARE_HOSTS);
  const [built, image] = await Promise.all([
    step(log, "services", () => ensureServices(p, knownHostsPath, log)),
    step(log, "guest image", () => buildGuestImage(p.images)),
  ]);
  const ssh = { user: "root", privateKeyPath: p.sshKey, port: 22, knownHostsPath };
  const ceph = { ...(await step(log, "ceph client", () => ensureCephClient(p, ssh, built.ceph, log))), monitors: built.ceph.monitors };
  const rbd = (...args: string[]) => cephArgv(cephTarget(p), "rbd", ...args);
  await step(log, "base image", () =>
    ensureBaseImage(rbd, { pool: CEPH.pool, image: CEPH.baseImage, snapshot: CEPH.baseSnapshot, diskPath: image.diskPath, hash: image.hash }),
  );
  const uuid = secretUuid(p);
  const monitors = [...built.ceph.monitors];
  const capacities: Record<string, { vcpus: number; memoryMiB: number }> = {};
  for (const n of NODES) {
    await step(log, `kvm ${n.name}`, async () => {
      await ensureNode(p, n, ceph, publicKey);
      capacities[n.name] = await nodeCapacity(n);
    });
  }
  const allKnownHosts = await ensureKnownHosts(p, HOSTS.filter((h) => h.sshd || h.bare));
  const description: LabDescription = {
    version: 1,
    stateDir: p.state,
    network: { cidr: LAB_CIDR, gateway: dns.address, switchNamespace: SWITCH_NS },
    managerNamespace: hostByName("mgr").ns,
    hosts: Object.fromEntries(HOSTS.map((h) => [h.name, { namespace: h.ns, address: h.address }])),
    ssh: { ...ssh, publicKey, knownHostsPath: allKnownHosts },
    dhcp: {
      host: dns.address,
      namespace: dns.ns,
      rangeStart: DHCP.rangeStart,
      rangeEnd: DHCP.rangeEnd,
      domain: DHCP.domain,
      leaseFile: built.dhcp.leaseFile,
      bridge: "br0",
    },
    ceph: {
      // The lab's ceph and rbd run there, with the files below.
      namespace: cephTarget(p).ns,
      fsid: ceph.fsid,
      monitors,
      pool: CEPH.pool,
      clientName: CEPH.client,
      secretUuid: uuid,
      configPath: ceph.configPath,
      adminKeyringPath: ceph.adminKeyringPath,
      clientKeyringPath: ceph.clientKeyringPath,
    },
    nodes: NODES.map((n) => ({
      name: n.name,
      namespace: n.ns,
      address: n.address,
      libvirtUri: `qemu+tcp://${n.address}/system`,
      sshHost: n.address,
      bridge: "br0",
      ...capacities[n.name],
    })),
    inventory: { host: db.address, namespace: db.ns, postgresUrl: built.inventory.postgresUrl, redisUrl: built.inventory.redisUrl },
    baseImage: {
      pool: CEPH.pool,
      image: CEPH.baseImage,
      snapshot: CEPH.baseSnapshot,
      spec: `${CEPH.pool}/${CEPH.baseImage}@${CEPH.baseSnapshot}`,
      sizeBytes: image.sizeBytes,
    },
    monitoring: { ...monitoringUrls(), nodeExporterPort: MONITORING.nodeExporterPort },
  };
  writeLabDescription(description, p.description);
  // Last: the exporter reaches the lab through the description just written.
  await step(log, "monitoring", () => ensureMonitoring(p, description, log));
  log(`lab is up in ${((Date.now() - t0) / 1000).toFixed(1)} s; description: ${p.description}`);
  return description;
}
