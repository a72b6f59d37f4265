import * as pulumi from "@pulumi/pulumi";
import { CloudSpec, ResolvedCloudSpec, validateCloudSpec } from "../lib/cloud/cloud-spec";
import { cloudAccess } from "../lib/vm/cloud-access";
import { createVm } from "../lib/vm/vm-create";
import { deleteVm } from "../lib/vm/vm-delete";
import { checkVmInputs, planVmDiff } from "../lib/vm/vm-plan";
import { readVm } from "../lib/vm/vm-read";
import type { VmInputs, VmRecord } from "../lib/vm/vm-record";
import { updateVm } from "../lib/vm/vm-update";

export interface VirtualMachineArgs {
  /** How to reach the cloud: a Cloud component's `cloud` output, or `cloudSpecFromLab()` in the lab. */
  readonly cloud: pulumi.Input<CloudSpec>;
  /** DNS label, unique in the cloud. Default: the resource name. Changing it replaces the VM. */
  readonly name?: pulumi.Input<string>;
  /** 1-64. Grows live up to twice the size the VM was created with; otherwise the guest restarts. */
  readonly vcpus: pulumi.Input<number>;
  /** 64-1048576. Grows live (balloon) up to twice the created size; otherwise the guest restarts. */
  readonly memoryMiB: pulumi.Input<number>;
  /** 1-65536, at least the image's size. Grows live; shrinking is an error. */
  readonly diskGiB: pulumi.Input<number>;
  /** RBD snapshot `pool/image@snap` to clone (a BaseImage's `spec`). Changing it replaces the VM. */
  readonly image: pulumi.Input<string>;
  /** Pin to this node; changing it live-migrates the VM. Default: the node with the most free memory that fits. */
  readonly node?: pulumi.Input<string>;
  /** authorized_keys lines for the guest. Default none. Changing them replaces the VM (cloud-init runs once). */
  readonly sshAuthorizedKeys?: pulumi.Input<pulumi.Input<string>[]>;
  /** Extra top-level cloud-config keys. Default none. Changing them replaces the VM. */
  readonly userData?: pulumi.Input<Record<string, unknown>>;
  /** running | stopped | suspended. Default running. */
  readonly state?: pulumi.Input<"running" | "stopped" | "suspended">;
}

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
 * The provider the engine runs (serialized into state by Pulumi). Each
 * method opens its own connections through cloudAccess and closes them; the
 * logic lives in lib/vm/, so nothing here holds a client, socket or secret.
 */
const provider: pulumi.dynamic.ResourceProvider = {
  async check(olds: Props, news: Props) {
    return checkVmInputs(olds, news);
  },

  async diff(_id: string, olds: Props, news: Props) {
    const d = planVmDiff(olds, news);
    return { changes: d.changes, replaces: d.replaces, deleteBeforeReplace: d.deleteBeforeReplace };
  },

  async create(inputs: Props) {
    const { given, cloud, vm } = split(inputs);
    const made = await createVm(cloud, cloudAccess(cloud), vm as VmInputs);
    return { id: made.name, outs: { ...made, cloud: given } };
  },

  async read(id: string, props: Props) {
    const { given, cloud, vm } = split(props);
    const found = await readVm(cloud, cloudAccess(cloud), vm);
    // No id tells the engine the VM is gone, so a refresh drops it from state.
    return found ? { id, props: { ...found, cloud: given } } : {};
  },

  async update(_id: string, olds: Props, news: Props) {
    const before = split(olds);
    const after = split(news);
    const updated = await updateVm(after.cloud, cloudAccess(after.cloud), before.vm, after.vm as VmInputs);
    return { outs: { ...updated, cloud: after.given } };
  },

  async delete(_id: string, props: Props) {
    const { cloud, vm } = split(props);
    await deleteVm(cloud, cloudAccess(cloud), vm);
  },
};

/**
 * A VM on the cloud's KVM nodes: an RBD clone of `image`, a NoCloud seed, a
 * libvirt domain, and the DHCP address it got, recorded in the inventory.
 */
export class VirtualMachine extends pulumi.dynamic.Resource {
  // `declare`: the engine sets these; a class field would overwrite them after super().
  declare public readonly name: pulumi.Output<string>;
  declare public readonly ip: pulumi.Output<string>;
  declare public readonly mac: pulumi.Output<string>;
  declare public readonly node: pulumi.Output<string>;
  declare public readonly domainUuid: pulumi.Output<string>;
  /** RBD root disk as pool/image. */
  declare public readonly disk: pulumi.Output<string>;
  declare public readonly fqdn: pulumi.Output<string>;
  declare public readonly createdAt: pulumi.Output<string>;
  declare public readonly vcpus: pulumi.Output<number>;
  declare public readonly memoryMiB: pulumi.Output<number>;
  declare public readonly diskGiB: pulumi.Output<number>;
  declare public readonly state: pulumi.Output<string>;

  constructor(name: string, args: VirtualMachineArgs, opts?: pulumi.CustomResourceOptions) {
    const props = {
      ...args,
      name: args.name ?? name,
      stack: pulumi.getStack(),
      // Declared so the engine's outputs become properties of this object.
      ip: undefined, mac: undefined, node: args.node, domainUuid: undefined, disk: undefined, fqdn: undefined, createdAt: undefined,
    };
    super(provider, name, props, { ...opts, additionalSecretOutputs: ["cloud", ...(opts?.additionalSecretOutputs ?? [])] }, "kvmcloud", "VirtualMachine");
  }
}

/** For tests that drive the provider through Pulumi's dynamic-provider host. */
export const virtualMachineProvider = provider;
