/**
 * The VM's model: what a user declares (VmArgs), what the provider receives
 * (VmInputs), what a made VM is (VmRecord) and what a diff compares against
 * (VmCurrent), with the rules derived from them (image names, growth limits,
 * states). The inventory's row (lib/inventory/vm-rows.ts VmRow) and the stack
 * config's VM (lib/cloud/stack-config.ts StackVm, a Pick of VmArgs) are views
 * of the same VM kept where their own parts live.
 */

/** Power states a VM can be asked to be in. */
export const VM_STATES = ["running", "stopped", "suspended"] as const;
export type VmState = (typeof VM_STATES)[number];

/** Inputs of a VirtualMachine, as the dynamic provider receives them. */
export interface VmArgs {
  /** DNS label; the provider fills in the resource name when the user gives none. */
  readonly name: string;
  readonly vcpus: number;
  readonly memoryMiB: number;
  readonly diskGiB: number;
  /** RBD snapshot to clone the root disk from: `pool/image@snap`. */
  readonly image: string;
  /** Node to pin the VM to; omitted, placement picks one. */
  readonly node?: string;
  readonly sshAuthorizedKeys?: string[];
  /** Extra cloud-config merged into the seed. */
  readonly userData?: Record<string, unknown>;
  readonly state?: VmState;
  /**
   * Pacemaker owns the VM (a VirtualDomain resource): it runs again on
   * another node when its node is lost, once that node is fenced. Needs the
   * cloud's HA cluster. Default false.
   */
  readonly ha?: boolean;
}

export interface ImageSpec {
  readonly pool: string;
  readonly image: string;
  readonly snapshot: string;
}

/** The recorded VM: where it was placed and how far it may grow live (its domain's maximums). */
export type VmCurrent = VmArgs & {
  readonly node: string;
  /** Default: the current vcpus, i.e. no live growth. */
  readonly maxVcpus?: number;
  /** Default: the current memoryMiB, i.e. no live growth. */
  readonly maxMemoryMiB?: number;
};

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
