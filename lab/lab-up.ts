import * as fs from "fs";
import * as path from "path";
import { ensureBareHost, hostConfiguresNetwork } from "./bare-host";
import { guestImageOnNode } from "./base-image";
import { cephTarget, ensureCephClient } from "./ceph";
import { NODE_EXPORTER_PORT } from "../lib/monitoring/node-exporter-script";
import { LabDescription, writeLabDescription } from "./description";
import { buildGuestImage } from "./guest-image";
import { ensureLabCloud } from "./lab-stack";
import { waitTargetsUp } from "./prometheus-status";
import { ensureHostNetwork, ensureSwitch, LAB_CIDR } from "./netns";
import { nodesReachCeph } from "./nodes-reach-ceph";
import { haSettled } from "./ha-settled";
import { ensurePackages } from "./packages";
import { LabPaths, labPaths } from "./paths";
import { labLibvirtClientUri, renderLabSshWrapper } from "./ssh-client";
import { writeIfChanged } from "./write-if-changed";
import { ensureKnownHosts, ensureLabKey } from "./ssh-keys";
import { BARE_HOSTS, CEPH, DHCP, HOSTS, hostByName, SWITCH_NS } from "./topology";
import { DEFAULT_BRIDGE } from "../lib/kvm-node/bridge-config";

export type Log = (line: string) => void;

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
    for (const h of HOSTS) await ensureHostNetwork(h, h.bare && hostConfiguresNetwork(p, h));
  });
  const publicKey = await ensureLabKey(p);
  const dns = hostByName("dns");
  const db = hostByName("db");
  // Before the hosts boot: they bind-mount its directory (lab/bare-host.ts).
  const image = await step(log, "guest image", () => buildGuestImage(p.images));
  for (const h of BARE_HOSTS) await step(log, `bare host ${h.name}`, () => ensureBareHost(p, h, publicKey));
  const knownHostsPath = await ensureKnownHosts(p, BARE_HOSTS);
  const ssh = { user: "root", privateKeyPath: p.sshKey, port: 22, knownHostsPath };
  const guest = { diskPath: image.diskPath, sha256: await step(log, "guest image seen by node1", () => guestImageOnNode(ssh, image.diskPath)) };
  // The product's whole stack builds the cloud on the bare hosts.
  const built = await step(log, "cloud", () => ensureLabCloud(p, knownHostsPath, guest, log));
  const sshWrapper = path.join(path.dirname(p.sshKey), "lab-ssh");
  writeIfChanged(sshWrapper, renderLabSshWrapper(ssh), 0o755);
  const ceph = { ...(await step(log, "ceph client", () => ensureCephClient(p, ssh, built.ceph, log))), monitors: built.ceph.monitors };
  await step(log, "nodes reach Ceph", () => nodesReachCeph(ssh));
  await step(log, "HA cluster settled", () => haSettled(ssh));
  const description: LabDescription = {
    version: 1,
    stateDir: p.state,
    network: { cidr: LAB_CIDR, gateway: dns.address, switchNamespace: SWITCH_NS },
    managerNamespace: hostByName("mgr").ns,
    hosts: Object.fromEntries(HOSTS.map((h) => [h.name, { namespace: h.ns, address: h.address }])),
    ssh: { ...ssh, publicKey },
    dhcp: {
      host: dns.address,
      namespace: dns.ns,
      rangeStart: DHCP.rangeStart,
      rangeEnd: DHCP.rangeEnd,
      domain: DHCP.domain,
      leaseFile: built.dhcp.leaseFile,
      hostsDir: built.dhcp.hostsDir,
      bridge: DEFAULT_BRIDGE,
    },
    ceph: {
      // The lab's ceph and rbd run there, with the files below.
      namespace: cephTarget(p).ns,
      fsid: ceph.fsid,
      monitors: [...built.ceph.monitors],
      pool: CEPH.pool,
      clientName: CEPH.client,
      secretUuid: built.nodes[0].secretUuid,
      configPath: ceph.configPath,
      adminKeyringPath: ceph.adminKeyringPath,
      clientKeyringPath: ceph.clientKeyringPath,
    },
    nodes: built.nodes.map((n) => ({
      name: n.name,
      namespace: hostByName(n.name).ns,
      address: n.address,
      libvirtUri: n.libvirtUri,
      clientUri: labLibvirtClientUri(sshWrapper, ssh.user, n.address, ssh.port),
      sshHost: n.address,
      bridge: n.bridge,
      vcpus: n.vcpus,
      memoryMiB: n.memoryMiB,
    })),
    inventory: { host: db.address, namespace: db.ns, postgresUrl: built.inventory.postgresUrl, redisUrl: built.inventory.redisUrl },
    baseImage: { pool: CEPH.pool, image: CEPH.baseImage, snapshot: CEPH.baseSnapshot, spec: built.baseImage, sizeBytes: built.baseImageSizeBytes },
    monitoring: { prometheusUrl: built.monitoringUrls.prometheus, nodeExporterPort: NODE_EXPORTER_PORT },
  };
  writeLabDescription(description, p.description);
  await step(log, "monitoring", () => waitTargetsUp(description, built.monitoringUrls.prometheus, log));
  log(`lab is up in ${((Date.now() - t0) / 1000).toFixed(1)} s; description: ${p.description}`);
  return description;
}
