import { CloudSpec, drainedNodes, validateCloudSpec } from "./cloud-spec";
import { diffVm, VmAction } from "./vm-diff";
import { growthLimits, VmCurrent } from "./vm-model";
import { CheckFailure, containsUnknown } from "../engine/unknown";
import { ValidationError } from "../core/errors";
import { canonicalJson } from "../core/canonical-json";
import { validateVmArgs } from "./vm-args";

/**
 * The pure half of the provider's check() and diff(): what Pulumi's engine
 * shows in a preview and decides before any host is touched.
 */

type Props = Record<string, unknown>;

/** check() sees old inputs only: an unpinned VM's node is known to diff(), not here. */
const PLACED = "(placed)";

const VM_FIELDS = ["name", "vcpus", "memoryMiB", "diskGiB", "image", "node", "sshAuthorizedKeys", "userData", "state", "ha"] as const;

function describe(a: VmAction): string {
  switch (a.kind) {
    case "resize-disk":
      return `diskGiB ${a.fromGiB} -> ${a.toGiB}: grown live`;
    case "set-vcpus":
      return `vcpus ${a.from} -> ${a.to}: ${a.live ? "live" : "needs a guest restart"}`;
    case "set-memory":
      return `memoryMiB ${a.from} -> ${a.to}: ${a.live ? "live" : "needs a guest restart"}`;
    case "migrate":
      return a.from === PLACED ? `node -> ${a.to}: live migration if placement put the VM elsewhere` : `node ${a.from} -> ${a.to}: live migration`;
    case "set-state":
      return `state ${a.from} -> ${a.to}`;
    case "cloud-init-changed":
      return "cloud-init seed changed: the VM is replaced";
  }
}

/**
 * check(): validates what is known (unknown values wait for the real run),
 * fills defaults, and — for an update — carries the domain's live-growth
 * maximums and writes `updatePlan`, so the preview says which changes are
 * live and which restart the guest.
 */
export function checkVmInputs(olds: Props, news: Props): { inputs: Props; failures: CheckFailure[] } {
  const failures: CheckFailure[] = [];
  const inputs: Props = { ...news, state: news.state ?? "running", sshAuthorizedKeys: news.sshAuthorizedKeys ?? [] };
  delete inputs.updatePlan;
  const vmKnown = VM_FIELDS.every((f) => !containsUnknown(inputs[f]));
  const cloudKnown = inputs.cloud !== undefined && !containsUnknown(inputs.cloud);
  const nodes = cloudKnown && Array.isArray((inputs.cloud as CloudSpec).nodes) ? (inputs.cloud as CloudSpec).nodes.map((n) => n.name) : undefined;
  try {
    if (vmKnown) Object.assign(inputs, validateVmArgs(inputs, { knownNodes: nodes }));
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    failures.push({ property: e.field.split(/[.[]/)[0], reason: e.message });
  }
  if (cloudKnown) {
    try {
      validateCloudSpec(inputs.cloud as CloudSpec);
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      failures.push({ property: "cloud", reason: e.message });
    }
  } else if (inputs.cloud === undefined) {
    failures.push({ property: "cloud", reason: "cloud: undefined is not allowed; expected how to reach the cloud (a Cloud component's `cloud` output, or cloudSpecFromLab())" });
  }
  if (failures.length > 0 || !vmKnown) return { inputs, failures };

  const vcpus = inputs.vcpus as number;
  const memoryMiB = inputs.memoryMiB as number;
  const fresh = growthLimits(vcpus, memoryMiB);
  const oldMaxV = typeof olds.maxVcpus === "number" ? olds.maxVcpus : undefined;
  const oldMaxM = typeof olds.maxMemoryMiB === "number" ? olds.maxMemoryMiB : undefined;
  inputs.maxVcpus = oldMaxV !== undefined && vcpus <= oldMaxV ? oldMaxV : fresh.maxVcpus;
  inputs.maxMemoryMiB = oldMaxM !== undefined && memoryMiB <= oldMaxM ? oldMaxM : fresh.maxMemoryMiB;

  if (typeof olds.vcpus === "number" && VM_FIELDS.every((f) => !containsUnknown(olds[f]))) {
    const before = { ...olds, node: olds.node ?? PLACED, maxVcpus: oldMaxV, maxMemoryMiB: oldMaxM } as unknown as VmCurrent;
    try {
      const plan = diffVm(before, inputs as unknown as VmCurrent);
      if (plan.replaces.length === 0 && plan.actions.length > 0) inputs.updatePlan = plan.actions.map(describe);
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      failures.push({ property: e.field, reason: e.message });
    }
  }
  return { inputs, failures };
}

export interface PlannedDiff {
  readonly changes: boolean;
  readonly replaces: string[];
  /** Fields changed in place (the VM's own, plus `cloud`/`stack` which only change the record). */
  readonly updates: string[];
  readonly deleteBeforeReplace: boolean;
}

/** diff(): olds are the recorded outputs, news the checked inputs. */
export function planVmDiff(olds: Props, news: Props): PlannedDiff {
  if (VM_FIELDS.some((f) => containsUnknown(news[f]))) {
    const unknown = VM_FIELDS.filter((f) => containsUnknown(news[f]));
    const replaces: string[] = unknown.filter((f) => f === "name" || f === "image" || f === "sshAuthorizedKeys" || f === "userData" || f === "ha");
    return { changes: true, replaces, updates: unknown.filter((f) => !replaces.includes(f)), deleteBeforeReplace: replaces.length > 0 && !unknown.includes("name") };
  }
  const d = diffVm(olds as unknown as VmCurrent, news as unknown as VmCurrent, drainedNodes(news.cloud as CloudSpec | undefined));
  const updates = [...d.updates];
  for (const f of ["cloud", "stack"]) {
    if (canonicalJson(olds[f]) !== canonicalJson(news[f])) updates.push(f);
  }
  // The same name cannot exist twice in the cloud, so a replacement that keeps it must delete first.
  const deleteBeforeReplace = d.replaces.length > 0 && !d.replaces.includes("name");
  return { changes: d.replaces.length + updates.length > 0, replaces: d.replaces, updates, deleteBeforeReplace };
}
