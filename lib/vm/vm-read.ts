import { ResolvedCloudSpec } from "../cloud/cloud-spec";
import { DomainFacts } from "../parse/libvirt";
import { CloudAccess } from "./cloud-access";
import { cacheKey, deleteVmRow, getVm, logOperation, recordVm } from "./inventory";
import { domainFacts, domainState } from "./node-ops";
import { rbdClientOf, rbdSize } from "./rbd-ops";
import { rootImageName, VmRecord, vmStateOf } from "./vm-record";

const GiB = 2 ** 30;

interface Found {
  readonly node: string;
  readonly facts: DomainFacts;
  readonly state: string;
  readonly diskBytes?: number;
}

/** Looks for the domain on `node`; undefined when it is not there. */
async function lookOn(cloud: ResolvedCloudSpec, access: CloudAccess, node: string, name: string): Promise<Found | undefined> {
  return access.onNode(node, async (r) => {
    const facts = await domainFacts(r, name);
    if (!facts) return undefined;
    const state = (await domainState(r, name)) ?? "";
    const diskBytes = await rbdSize(r, rbdClientOf(cloud), `${cloud.ceph.pool}/${rootImageName(name)}`);
    return { node, facts, state, diskBytes };
  });
}

/**
 * Refresh: where the VM really is and what it really is. The Redis cache
 * names the node to try first, then the recorded node, then every other
 * node. A VM found nowhere is gone (undefined) and leaves the inventory; its
 * RBD images are data and are left for the operator. A node that cannot be
 * asked makes the read fail rather than wrongly dropping the VM.
 */
export async function readVm(cloud: ResolvedCloudSpec, access: CloudAccess, vm: VmRecord): Promise<VmRecord | undefined> {
  const started = new Date();
  const cached = await access.withInventory((inv) => inv.cache.get(cacheKey(vm.name)));
  const names = cloud.nodes.map((n) => n.name);
  const order = [...new Set([cached, vm.node, ...names].filter((n): n is string => n !== null && names.includes(n as string)))];
  const unreachable: string[] = [];
  let found: Found | undefined;
  for (const node of order) {
    try {
      found = await lookOn(cloud, access, node, vm.name);
    } catch (e) {
      unreachable.push(`${node}: ${(e as Error).message}`);
      continue;
    }
    if (found) break;
  }

  if (!found) {
    if (unreachable.length > 0) {
      throw new Error(`refreshing VM ${vm.name}: not found on the reachable nodes, and cannot ask ${unreachable.join("; ")}`);
    }
    await access.withInventory(async (inv) => {
      await deleteVmRow(inv.sql, vm.name);
      await inv.cache.del(cacheKey(vm.name));
    });
    return undefined;
  }

  const f = found;
  const refreshed: VmRecord = {
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
  await access.withInventory(async (inv) => {
    if (await getVm(inv.sql, vm.name)) {
      await recordVm(inv.sql, { ...refreshed, ip: refreshed.ip || null, state: refreshed.state ?? "running", domainUuid: refreshed.domainUuid });
    }
    if (cached !== f.node) await inv.cache.set(cacheKey(vm.name), f.node);
    await logOperation(inv.sql, { vm: vm.name, operation: "read", outcome: "ok", startedAt: started, durationMs: Date.now() - started.getTime() });
  });
  return refreshed;
}
