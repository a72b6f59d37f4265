import * as fs from "fs";
import { ResolvedCloudSpec, validateCloudSpec } from "../lib/vm/cloud-spec";
import { LabDescription, readLabDescription } from "./description";

/**
 * The lab as a kvm-cloud: the `cloud` value a VirtualMachine takes, read from
 * the lab's description in one call. Secrets (the SSH key, database URLs)
 * come from the lab's 0600 files.
 */
export function cloudSpecFromLab(d: LabDescription = readLabDescription()): ResolvedCloudSpec {
  const privateKey = fs.readFileSync(d.ssh.privateKeyPath, "utf8");
  const ssh = (host: string) => ({ host, port: d.ssh.port, user: d.ssh.user, privateKey });
  return validateCloudSpec({
    nodes: d.nodes.map((n) => ({
      name: n.name,
      ssh: ssh(n.sshHost),
      libvirtUri: n.libvirtUri,
      bridge: n.bridge,
    })),
    ceph: { pool: d.ceph.pool, monitors: d.ceph.monitors, clientName: d.ceph.clientName, secretUuid: d.ceph.secretUuid },
    dhcp: { ssh: ssh(d.dhcp.host), leaseFile: d.dhcp.leaseFile, domain: d.dhcp.domain, range: { start: d.dhcp.rangeStart, end: d.dhcp.rangeEnd }, hostsDir: d.dhcp.hostsDir },
    inventory: { postgresUrl: d.inventory.postgresUrl, redisUrl: d.inventory.redisUrl },
    // No working nested KVM here: guests run under TCG.
    domainType: "qemu",
    knownHosts: fs.readFileSync(d.ssh.knownHostsPath, "utf8"),
    leaseTimeoutSeconds: 300,
  });
}
