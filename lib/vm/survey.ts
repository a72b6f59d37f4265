import { ResolvedCloudSpec } from "./cloud-spec";
import { NodeCapacity } from "./placement";
import { CloudAccess } from "./cloud-access";
import { VmRow } from "../inventory/vm-rows";
import { inspectNode, NodeInspection } from "./node-ops";

/** Every node looked at in parallel; an unreachable one carries the reason instead of a view. */
export interface NodeSurvey {
  readonly name: string;
  readonly view?: NodeInspection;
  readonly error?: string;
}

export async function surveyNodes(cloud: ResolvedCloudSpec, access: CloudAccess): Promise<NodeSurvey[]> {
  return Promise.all(
    cloud.nodes.map(async (n) => {
      try {
        return { name: n.name, view: await access.onNode(n.name, inspectNode) };
      } catch (e) {
        return { name: n.name, error: (e as Error).message };
      }
    }),
  );
}

/** Every MAC in use: on any domain of any reachable node, and in the inventory. */
export function takenMacs(survey: readonly NodeSurvey[], rows: readonly VmRow[]): string[] {
  const fromDomains = survey.flatMap((s) => (s.view?.domains ?? []).flatMap((d) => d.facts.macs));
  return [...fromDomains, ...rows.map((r) => r.mac)];
}

/**
 * What placement needs per node. A node's allocation is the memory of the
 * inventory's VMs on it (including ones still being created) plus any other
 * domain defined there, so VMs made outside kvm-cloud are respected too.
 */
export function capacities(survey: readonly NodeSurvey[], rows: readonly VmRow[], drained: readonly string[] = []): NodeCapacity[] {
  return survey.map((s) => {
    if (!s.view) return { name: s.name, vcpus: 0, memoryMiB: 0, allocatedMemoryMiB: 0, allocatedVcpus: 0, reachable: false, unreachableReason: s.error };
    if (drained.includes(s.name)) return { name: s.name, vcpus: 0, memoryMiB: 0, allocatedMemoryMiB: 0, allocatedVcpus: 0, reachable: true, drained: true };
    const mine = rows.filter((r) => r.node === s.name);
    const inventoried = new Set(rows.map((r) => r.name));
    const others = s.view.domains.filter((d) => !inventoried.has(d.name));
    return {
      name: s.name,
      vcpus: s.view.info.cpus,
      memoryMiB: s.view.info.memoryMiB,
      allocatedMemoryMiB: mine.reduce((a, r) => a + r.memoryMiB, 0) + others.reduce((a, d) => a + d.facts.memoryMiB, 0),
      allocatedVcpus: mine.reduce((a, r) => a + r.vcpus, 0) + others.reduce((a, d) => a + d.facts.vcpus, 0),
      reachable: true,
    };
  });
}

/** The node a domain of that name is defined on, if any reachable node has it. */
export function nodeHolding(survey: readonly NodeSurvey[], name: string): string | undefined {
  return survey.find((s) => s.view?.domains.some((d) => d.name === name))?.name;
}
