import { check, ValidationError } from "../core/errors";

/** What placement knows of a node: capacity as libvirt reports it, plus what kvm-cloud VMs already hold. */
export interface NodeCapacity {
  readonly name: string;
  readonly vcpus: number;
  readonly memoryMiB: number;
  readonly allocatedMemoryMiB: number;
  readonly allocatedVcpus: number;
  readonly reachable: boolean;
  readonly unreachableReason?: string;
  /** In standby (drained): takes no new VM. */
  readonly drained?: boolean;
}

export interface PlacementRequest {
  readonly memoryMiB: number;
  readonly vcpus: number;
  /** Pin to this node instead of choosing. */
  readonly node?: string;
  /** Only used in error messages. */
  readonly name?: string;
}

/** The cluster cannot hold the VM right now (as opposed to bad input). */
export class PlacementError extends Error {
  constructor(message: string) {
    super(message);
    this.message = message; // see ValidationError
    this.name = "PlacementError";
  }
}

const free = (n: NodeCapacity) => n.memoryMiB - n.allocatedMemoryMiB;

/**
 * Why `n` cannot take the VM, or undefined when it can. Only memory is a hard
 * limit: KVM time-shares vCPUs (overcommit is normal) but cannot safely
 * overcommit RAM. A single guest wider than the host's CPUs is still refused.
 */
function whyNot(n: NodeCapacity, want: PlacementRequest): string | undefined {
  if (!n.reachable) return `unreachable${n.unreachableReason ? ` (${n.unreachableReason})` : ""}`;
  if (n.drained) return "in standby (drained)";
  if (free(n) < want.memoryMiB) return `${free(n)} MiB free, ${want.memoryMiB} MiB needed`;
  if (want.vcpus > n.vcpus) return `${n.vcpus} host CPUs, ${want.vcpus} vCPUs needed`;
  return undefined;
}

function describe(want: PlacementRequest): string {
  return `${want.name ? `VM ${want.name} ` : "a VM "}(${want.memoryMiB} MiB, ${want.vcpus} vCPUs)`;
}

/**
 * The node for one VM: the pinned one if given (it must exist, be reachable and
 * fit), else the reachable node with the most free memory that fits it. Ties go
 * to the lowest name so the same inputs always give the same answer.
 */
export function placeVm(nodes: readonly NodeCapacity[], want: PlacementRequest): string {
  check(Number.isInteger(want.memoryMiB) && want.memoryMiB >= 1, "memoryMiB", want.memoryMiB, "a positive integer");
  check(Number.isInteger(want.vcpus) && want.vcpus >= 1, "vcpus", want.vcpus, "a positive integer");

  if (want.node !== undefined) {
    const n = nodes.find((x) => x.name === want.node);
    if (!n) {
      const known = nodes.map((x) => x.name).sort().join(", ") || "(no nodes known)";
      throw new ValidationError("node", want.node, `one of the known nodes: ${known}`);
    }
    const why = whyNot(n, want);
    if (why) throw new PlacementError(`cannot place ${describe(want)} on pinned node ${n.name}: ${why}`);
    return n.name;
  }

  const fitting = nodes
    .filter((n) => whyNot(n, want) === undefined)
    .sort((a, b) => free(b) - free(a) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (fitting.length > 0) return fitting[0].name;

  const detail = [...nodes]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((n) => `${n.name}: ${whyNot(n, want)}`)
    .join("; ");
  throw new PlacementError(`no node can hold ${describe(want)}: ${detail || "no nodes known"}`);
}

/**
 * Places VMs one after another, charging each placement to its node before the
 * next, so a batch cannot overfill a node that had room for any single one.
 * Returns node names in the order of `wants`; inputs are not modified.
 */
export function placeMany(nodes: readonly NodeCapacity[], wants: readonly PlacementRequest[]): string[] {
  const working: Array<{ -readonly [K in keyof NodeCapacity]: NodeCapacity[K] }> = nodes.map((n) => ({ ...n }));
  return wants.map((want, i) => {
    let chosen: string;
    try {
      chosen = placeVm(working, want);
    } catch (e) {
      if (e instanceof PlacementError) {
        throw new PlacementError(`VM #${i + 1} of ${wants.length}: ${e.message} (after placing the ${i} before it)`);
      }
      throw e;
    }
    const n = working.find((x) => x.name === chosen)!;
    n.allocatedMemoryMiB += want.memoryMiB;
    n.allocatedVcpus += want.vcpus;
    return chosen;
  });
}
