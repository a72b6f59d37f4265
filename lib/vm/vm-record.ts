import { VmArgs, VmState } from "./vm-args";

/** What a VirtualMachine is once made: its inputs plus where and how it runs (the resource's outputs). */
export type VmRecord = VmArgs & {
  /** Pulumi stack that declared the VM, recorded in the inventory. */
  readonly stack: string;
  readonly node: string;
  readonly ip: string;
  readonly mac: string;
  readonly domainUuid: string;
  /** RBD root disk as pool/image. */
  readonly disk: string;
  /** RBD image of the NoCloud seed CD-ROM as pool/image. */
  readonly seed: string;
  readonly fqdn: string;
  readonly createdAt: string;
  /** How far vCPUs and memory can grow without a restart (the domain's maximums). */
  readonly maxVcpus: number;
  readonly maxMemoryMiB: number;
};

/** Inputs the provider receives: the user's VM arguments plus the stack name the resource adds. */
export type VmInputs = VmArgs & { readonly stack: string };

export const rootImageName = (vm: string) => `${vm}-root`;
export const seedImageName = (vm: string) => `${vm}-seed`;

/**
 * Maximums a new domain gets, so vCPUs and memory can later grow live (CPU
 * hotplug, balloon) up to twice their size; beyond that a change restarts
 * the guest with new maximums.
 */
export function growthLimits(vcpus: number, memoryMiB: number): { maxVcpus: number; maxMemoryMiB: number } {
  return { maxVcpus: Math.min(64, vcpus * 2), maxMemoryMiB: Math.min(1048576, memoryMiB * 2) };
}

/** virsh state words to the VM states kvm-cloud speaks of; undefined for transient ones. */
export function vmStateOf(virshState: string): VmState | undefined {
  if (virshState === "running") return "running";
  if (virshState === "paused") return "suspended";
  if (virshState === "shut off" || virshState === "crashed") return "stopped";
  return undefined;
}
