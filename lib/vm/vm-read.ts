import { ResolvedCloudSpec } from "./cloud-spec";
import { DomainFacts } from "./virsh-output";
import { CloudAccess } from "./cloud-access";
import { cacheKey } from "../inventory/vm-rows";
import { lookAtDomain } from "./node-ops";
import { rbdClientOf, rbdSize } from "./rbd-ops";
import { rootImageName, VmRecord, vmStateOf } from "./vm-model";
import { onCluster, resourceExists } from "./ha-vm-ops";

const GiB = 2 ** 30;

/** Where a VM's domain is, and what it is there. */
export interface FoundVm {
  readonly node: string;
  readonly facts: DomainFacts;
  /** virsh's word for the state, e.g. "running", "paused", "shut off". */
  readonly state: string;
  readonly diskBytes?: number;
}

/** Looks for the domain on `node`; undefined when it is not there. */
async function lookOn(cloud: ResolvedCloudSpec, access: CloudAccess, node: string, name: string): Promise<FoundVm | undefined> {
  return access.onNode(node, async (r) => {
    const look = await lookAtDomain(r, name);
    if (!look) return undefined;
    // QEMU's figure for a domain it runs; a stopped domain's disk is asked of Ceph (a client's start-up, slower).
    const diskBytes = look.diskBytes ?? (await rbdSize(r, rbdClientOf(cloud), `${cloud.ceph.pool}/${rootImageName(name)}`));
    return { node, facts: look.facts, state: look.state, diskBytes };
  });
}

/**
 * Where a VM really is: the nodes in the order given (hints first, then
 * every other node). `found` is undefined when no node that answered has it;
 * `unreachable` names the nodes that could not be asked, so a caller never
 * takes "not found" for "gone" while a node is silent.
 */
export async function findVm(
  cloud: ResolvedCloudSpec,
  access: CloudAccess,
  name: string,
  hints: readonly (string | null | undefined)[],
  asked: ReadonlyMap<string, Promise<FoundVm | undefined>> = new Map(),
): Promise<{ found?: FoundVm; unreachable: string[] }> {
  const names = cloud.nodes.map((n) => n.name);
  const order = [...new Set([...hints, ...names].filter((n): n is string => typeof n === "string" && names.includes(n)))];
  const unreachable: string[] = [];
  for (const node of order) {
    try {
      // A node already asked (see readVm) is not asked again: a dead one would cost its connect timeout twice.
      const found = await (asked.get(node) ?? lookOn(cloud, access, node, name));
      if (found) return { found, unreachable };
    } catch (e) {
      unreachable.push(`${node}: ${(e as Error).message}`);
    }
  }
  return { unreachable };
}

/** The record as the found domain says it is; what libvirt does not know (IP, MAC, image) is kept. */
export function refreshedRecord(vm: VmRecord, f: FoundVm): VmRecord {
  return {
    ...vm,
    node: f.node,
    state: vmStateOf(f.state) ?? vm.state,
    vcpus: f.facts.vcpus,
    maxVcpus: f.facts.maxVcpus,
    memoryMiB: f.facts.memoryMiB,
    maxMemoryMiB: f.facts.maxMemoryMiB,
    diskGiB: f.diskBytes !== undefined ? Math.ceil(f.diskBytes / GiB) : vm.diskGiB,
    domainUuid: f.facts.uuid,
  };
}

/**
 * Refresh: where the VM really is and what it really is, and nothing else.
 * It only reads: the Redis cache names the node to take first, then the
 * recorded node (asked while the cache is read), then every other node. A VM found nowhere is gone
 * (undefined). A node that cannot be asked makes the read fail rather than
 * wrongly dropping the VM. The inventory is mended by update, by create's
 * take-over, or by reconcile (vm-reconcile.ts), never here.
 */
export async function readVm(cloud: ResolvedCloudSpec, access: CloudAccess, vm: VmRecord): Promise<VmRecord | undefined> {
  // The recorded node is asked while the cache is read: the VM is nearly always there, and the two waits overlap.
  const asked = new Map<string, Promise<FoundVm | undefined>>();
  if (cloud.nodes.some((n) => n.name === vm.node)) {
    const recorded = lookOn(cloud, access, vm.node, vm.name);
    recorded.catch(() => undefined); // awaited in findVm, or not needed when the cache names a node that has it
    asked.set(vm.node, recorded);
  }
  const cached = await access.withInventory((inv) => inv.cache.get(cacheKey(vm.name)));
  const { found, unreachable } = await findVm(cloud, access, vm.name, [cached, vm.node], asked);
  if (found) return refreshedRecord(vm, found);
  if (vm.ha) {
    // A stopped ha VM has no domain anywhere (the agent's domains are transient): its resource says it exists.
    if (await onCluster(cloud, access, vm.node, vm.name, (r) => resourceExists(r, vm.name))) return { ...vm, state: "stopped" };
  }
  if (unreachable.length > 0) {
    throw new Error(`refreshing VM ${vm.name}: not found on the reachable nodes, and cannot ask ${unreachable.join("; ")}`);
  }
  return undefined;
}
