import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LabDescription } from "../../lab/description";
import { run, waitFor } from "../../lab/exec";
import { buildSeedImage } from "../../lab/guest-image";
import { leaseForMac, parseDnsmasqLeases } from "../../lib/dnsmasq/leases";
import { renderMetaData, renderUserData } from "../../lib/vm/cloud-init";
import { renderDomainXml } from "../../lib/vm/domain-xml";
import { rbdOnNode, ssh, virsh } from "./lab-client";

/**
 * A tiny guest made by hand (clone, seed, domain XML, virsh), as
 * test/lab-client/guest.test.ts does, for the monitoring tests and for
 * capturing fixtures. Runs inside the lab's manager namespace.
 */
export interface HandGuest {
  readonly name: string;
  readonly node: string;
  readonly mac: string;
  ip: string;
}

export function newHandGuest(prefix: string, node: string): HandGuest {
  return {
    name: `${prefix}${crypto.randomBytes(3).toString("hex")}`,
    node,
    mac: `52:54:00:${crypto.randomBytes(3).toString("hex").match(/../g)!.join(":")}`,
    ip: "",
  };
}

function uriOf(d: LabDescription, node: string): string {
  const n = d.nodes.find((x) => x.name === node);
  if (!n) throw new Error(`no node ${node} in the lab description`);
  return n.clientUri;
}

/** Clones, seeds, defines and starts the guest, then waits (bounded) for its lease. */
export async function startHandGuest(d: LabDescription, g: HandGuest): Promise<void> {
  const pool = d.ceph.pool;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kvmcloud-h5-"));
  try {
    await rbdOnNode(d, g.node, ["clone", d.baseImage.spec, `${pool}/${g.name}-root`]);
    const seed = path.join(tmp, "seed.iso");
    await buildSeedImage(seed, {
      metaData: renderMetaData({ instanceId: g.name, hostname: g.name }),
      userData: renderUserData({ hostname: g.name, sshAuthorizedKeys: [d.ssh.publicKey] }),
    });
    await rbdOnNode(d, g.node, ["import", "--no-progress", "-", `${pool}/${g.name}-seed`], { input: fs.readFileSync(seed) });
    const xml = path.join(tmp, "domain.xml");
    fs.writeFileSync(
      xml,
      renderDomainXml({
        name: g.name, domainType: "qemu", vcpus: 1, memoryMiB: 192, mac: g.mac, bridge: "br0",
        rbd: { pool, monitors: d.ceph.monitors, clientName: d.ceph.clientName, secretUuid: d.ceph.secretUuid },
        diskImage: `${g.name}-root`, seedImage: `${g.name}-seed`,
      }),
    );
    const uri = uriOf(d, g.node);
    await run(virsh(uri, "define", xml));
    await run(virsh(uri, "start", g.name));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const lease = await waitFor(
    `a DHCP lease for ${g.mac}`,
    async () => leaseForMac(parseDnsmasqLeases((await ssh(d, d.dhcp.host, ["cat", d.dhcp.leaseFile])).stdout), g.mac, Date.now() / 1000),
    180_000,
    500,
  );
  g.ip = lease.ip;
}

/** Removes the guest's domain (on any node) and its RBD images; never throws. */
export async function removeHandGuest(d: LabDescription, g: HandGuest): Promise<void> {
  for (const n of d.nodes) {
    await run(virsh(n.clientUri, "destroy", g.name), { allowFail: true });
    await run(virsh(n.clientUri, "undefine", g.name), { allowFail: true });
  }
  for (const img of ["root", "seed"]) {
    await rbdOnNode(d, g.node, ["rm", "--no-progress", `${d.ceph.pool}/${g.name}-${img}`], { allowFail: true });
  }
}
