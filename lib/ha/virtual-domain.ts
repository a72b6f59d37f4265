import { buildXml } from "../core/xml";
import { checkDnsLabel } from "../core/network";

/**
 * Pure: what Pacemaker is given for a VM it owns (an `ha` VM), and how its
 * answers are read. The VM is a `VirtualDomain` resource (resource-agents):
 * the agent starts the domain from an XML file that every node holds
 * (`virsh create`, so the domain is transient and no node keeps a definition
 * that could start a second copy), live-migrates it when its place changes
 * (`allow-migrate`), and Pacemaker starts it elsewhere once a lost node is
 * fenced.
 */

/** Where every node keeps the domain XML the agent starts the VM from. */
export const HA_DOMAIN_DIR = "/etc/kvmcloud/ha-domains";

export const vmResourceId = (vm: string): string => `vm-${vm}`;
export const vmLocationId = (vm: string): string => `vm-${vm}-on-node`;
export const haDomainConfigPath = (vm: string): string => `${HA_DOMAIN_DIR}/${vm}.xml`;

/**
 * How strongly the VM prefers its declared node. Finite, so a lost node's
 * VMs run elsewhere; no stickiness, so the VM goes back (live) to its
 * declared node once that node is a member again, as Proxmox HA's failback
 * does.
 */
const PREFERENCE_SCORE = "100";

/**
 * The node's libvirt as the agent reaches it during a migration: `%n` is the
 * target node's name, which each node's SSH config maps to its address
 * (MigrationMesh), with the nodes' migration key, as kvm-cloud's own
 * migrations do.
 */
export const HA_REMOTE_URI = "qemu+ssh://root@%n/system?keyfile=/root/.ssh/kvmcloud_migration";

export interface VmResourceTimeouts {
  /** A start under TCG on a loaded node, with the nwfilter set up: minutes, not seconds. */
  readonly startSeconds: number;
  readonly stopSeconds: number;
  readonly migrateSeconds: number;
}

export const DEFAULT_VM_RESOURCE_TIMEOUTS: VmResourceTimeouts = { startSeconds: 300, stopSeconds: 180, migrateSeconds: 1800 };

/** The CIB primitive of a VM; `target-role` Started or Stopped is the VM's power state. */
export function renderVmResource(vm: string, running: boolean, t: VmResourceTimeouts = DEFAULT_VM_RESOURCE_TIMEOUTS): string {
  checkDnsLabel("name", vm);
  const id = vmResourceId(vm);
  const nv = (scope: string, name: string, value: string) => ({ "@_id": `${id}-${scope}-${name}`, "@_name": name, "@_value": value });
  const op = (name: string, seconds: number, interval = "0s") => ({ "@_id": `${id}-${name}-${interval}`, "@_name": name, "@_interval": interval, "@_timeout": `${seconds}s` });
  return buildXml({
    primitive: {
      "@_id": id,
      "@_class": "ocf",
      "@_provider": "heartbeat",
      "@_type": "VirtualDomain",
      instance_attributes: {
        "@_id": `${id}-params`,
        nvpair: [
          nv("params", "config", haDomainConfigPath(vm)),
          nv("params", "hypervisor", "qemu:///system"),
          nv("params", "remoteuri", HA_REMOTE_URI),
          // Peer-to-peer and tunnelled: guest memory inside libvirt's SSH connection, never a plain QEMU stream.
          nv("params", "migrate_options", "--p2p --tunnelled"),
        ],
      },
      meta_attributes: {
        "@_id": `${id}-meta`,
        nvpair: [nv("meta", "allow-migrate", "true"), nv("meta", "target-role", running ? "Started" : "Stopped")],
      },
      operations: {
        op: [
          op("monitor", 30, "10s"),
          op("start", t.startSeconds),
          op("stop", t.stopSeconds),
          op("migrate_to", t.migrateSeconds),
          op("migrate_from", t.stopSeconds),
        ],
      },
    },
  });
}

/** The location constraint: the VM prefers its declared node. */
export function renderVmLocation(vm: string, node: string): string {
  checkDnsLabel("name", vm);
  checkDnsLabel("node", node);
  return buildXml({ rsc_location: { "@_id": vmLocationId(vm), "@_rsc": vmResourceId(vm), "@_node": node, "@_score": PREFERENCE_SCORE } });
}
