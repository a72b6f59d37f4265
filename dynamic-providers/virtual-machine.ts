import * as pulumi from "@pulumi/pulumi";
import type { CloudSpec } from "../lib/cloud/cloud-spec";

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
 * The provider Pulumi serializes into each VM's state: a shim that loads the
 * implementation (virtual-machine-provider.ts) by package name in the
 * dynamic-provider host. State then carries a few hundred bytes instead of
 * all of lib/vm, and a fixed bug reaches VMs made before the fix (code frozen
 * into state never would). Everything it uses is inside the function: the
 * serializer would otherwise capture it by value.
 */
function implementation(): pulumi.dynamic.ResourceProvider {
  // The host runs plain Node: TypeScript is compiled on load, as the program is.
  if (!require.extensions[".ts"]) {
    require("ts-node").register({ transpileOnly: true, compilerOptions: { module: "commonjs" } });
  }
  return require("@kvm-cloud/dynamic-providers/virtual-machine-provider").virtualMachineProvider;
}

const provider: pulumi.dynamic.ResourceProvider = {
  check: (olds: Props, news: Props) => implementation().check!(olds, news),
  diff: (id: string, olds: Props, news: Props) => implementation().diff!(id, olds, news),
  create: (inputs: Props) => implementation().create(inputs),
  read: (id: string, props: Props) => implementation().read!(id, props),
  update: (id: string, olds: Props, news: Props) => implementation().update!(id, olds, news),
  delete: (id: string, props: Props) => implementation().delete!(id, props),
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

