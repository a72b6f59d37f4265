import type * as pulumi from "@pulumi/pulumi";
import { CloudSpec, ResolvedCloudSpec, validateCloudSpec } from "../lib/vm/cloud-spec";
import { CloudAccess, operationAccess } from "../lib/vm/cloud-access";
import { createVm } from "../lib/vm/vm-create";
import { deleteVm } from "../lib/vm/vm-delete";
import { checkVmInputs, planVmDiff } from "../lib/vm/vm-plan";
import { readVm } from "../lib/vm/vm-read";
import type { VmInputs, VmRecord } from "../lib/vm/vm-model";
import { updateVm } from "../lib/vm/vm-update";

/**
 * The VirtualMachine provider's implementation. State holds only the shim in
 * virtual-machine.ts, which loads this module by package name
 * (@kvm-cloud/dynamic-providers) in the provider host at each run: a fix here
 * reaches every VM, including those made before it.
 */

type Props = Record<string, any>;

/**
 * Everything but `cloud` is the VM; `cloud` says where it lives. Operations
 * get it with its defaults filled in (here, where every one passes); outputs
 * keep it as given (`given`), so diff compares it with the next inputs as is.
 */
function split(p: Props): { given: CloudSpec; cloud: ResolvedCloudSpec; vm: VmRecord } {
  const { cloud, __provider, updatePlan, ...vm } = p;
  void __provider;
  void updatePlan;
  return { given: cloud as CloudSpec, cloud: validateCloudSpec(cloud as CloudSpec), vm: vm as VmRecord };
}

/**
 * Each method opens its own connections (one SSH connection per host for the
 * whole operation, operationAccess) and closes them: nothing is held between calls.
 */
async function withAccess<T>(cloud: CloudSpec, fn: (access: CloudAccess) => Promise<T>): Promise<T> {
  const access = operationAccess(cloud);
  try {
    return await fn(access);
  } finally {
    await access.close();
  }
}

export const virtualMachineProvider: pulumi.dynamic.ResourceProvider = {
  async check(olds: Props, news: Props) {
    return checkVmInputs(olds, news);
  },

  async diff(_id: string, olds: Props, news: Props) {
    const d = planVmDiff(olds, news);
    return { changes: d.changes, replaces: d.replaces, deleteBeforeReplace: d.deleteBeforeReplace };
  },

  async create(inputs: Props) {
    const { given, cloud, vm } = split(inputs);
    const made = await withAccess(cloud, (access) => createVm(cloud, access, vm as VmInputs));
    return { id: made.name, outs: { ...made, cloud: given } };
  },

  async read(id: string, props: Props) {
    const { given, cloud, vm } = split(props);
    const found = await withAccess(cloud, (access) => readVm(cloud, access, vm));
    // No id tells the engine the VM is gone, so a refresh drops it from state.
    return found ? { id, props: { ...found, cloud: given } } : {};
  },

  async update(_id: string, olds: Props, news: Props) {
    const before = split(olds);
    const after = split(news);
    const updated = await withAccess(after.cloud, (access) => updateVm(after.cloud, access, before.vm, after.vm as VmInputs));
    return { outs: { ...updated, cloud: after.given } };
  },

  async delete(_id: string, props: Props) {
    const { cloud, vm } = split(props);
    await withAccess(cloud, (access) => deleteVm(cloud, access, vm));
  },
};
