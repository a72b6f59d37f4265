import { ResolvedCloudSpec } from "./cloud-spec";
import { CloudAccess } from "./cloud-access";
import { cacheKey, deleteVmRow } from "../inventory/vm-rows";
import { logOperation } from "../inventory/operations-log";
import { removeHostEntry } from "./dhcp-host-ops";
import { domainState, removeDomain } from "./node-ops";
import { rbdClientOf, removeImage } from "./rbd-ops";
import { rootImageName, seedImageName, VmRecord } from "./vm-model";
import { onCluster, onEveryNode, removeFromPacemaker, removeHaDomainXml } from "./ha-vm-ops";

/**
 * Deletes a VM wherever it is: the domain (on its recorded node, or on any
 * node if it moved), both RBD images, its DHCP entry (the address is free
 * again once its lease ends), the inventory row and the cache key.
 * Anything already gone counts as done; a node that cannot be asked is an
 * error, because the domain may still be running there.
 */
export async function deleteVm(cloud: ResolvedCloudSpec, access: CloudAccess, vm: Pick<VmRecord, "name" | "node" | "ha">): Promise<void> {
  const started = new Date();
  if (vm.ha) {
    // Pacemaker first: it would start the VM again (elsewhere) after any stop of ours.
    await onCluster(cloud, access, vm.node, vm.name, (r) => removeFromPacemaker(r, vm.name));
    await onEveryNode(cloud, access, (r) => removeHaDomainXml(r, vm.name)).catch((e: Error) => {
      throw new Error(`deleting VM ${vm.name}: removing its domain XML: ${e.message}`);
    });
  }
  const rbdClient = rbdClientOf(cloud);
  const order = [vm.node, ...cloud.nodes.map((n) => n.name).filter((n) => n !== vm.node)].filter((n) => cloud.nodes.some((c) => c.name === n));
  const unreachable: string[] = [];
  let storageNode: string | undefined;
  for (const node of order) {
    try {
      await access.onNode(node, async (r) => {
        if ((await domainState(r, vm.name)) !== undefined) await removeDomain(r, vm.name);
      });
      storageNode ??= node;
    } catch (e) {
      unreachable.push(`${node}: ${(e as Error).message}`);
    }
  }
  if (unreachable.length > 0) {
    throw new Error(`deleting VM ${vm.name}: cannot make sure its domain is gone: ${unreachable.join("; ")}`);
  }
  // The images are only removed once no domain can still be using them.
  await access.onNode(storageNode!, async (r) => {
    await removeImage(r, rbdClient, rootImageName(vm.name));
    await removeImage(r, rbdClient, seedImageName(vm.name));
  });
  await access.onDhcp((r) => removeHostEntry(r, cloud.dhcp.hostsDir, vm.name));
  await access.withInventory(async (inv) => {
    await deleteVmRow(inv.sql, vm.name);
    await inv.cache.del(cacheKey(vm.name));
    await logOperation(inv.sql, { vm: vm.name, operation: "delete", outcome: "ok", startedAt: started, durationMs: Date.now() - started.getTime() });
  });
}
