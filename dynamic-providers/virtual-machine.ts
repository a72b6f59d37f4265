import * as pulumi from "@pulumi/pulumi";
import type { CloudSpec } from "../lib/vm/cloud-spec";
import { loadingShim } from "./loading-shim";

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
  /**
   * Let Pacemaker own the VM: when its node is lost, the VM runs again on
   * another node once that node is fenced, at the same address. Needs the
   * cloud's HA cluster (`ha` in the cloud config). Changing it replaces the
   * VM. Default false.
   */
  readonly ha?: pulumi.Input<boolean>;
}

const provider = loadingShim("virtual-machine-provider", "virtualMachineProvider");

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

