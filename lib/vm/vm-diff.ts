import { ValidationError } from "../core/errors";
import { canonicalJson } from "../core/canonical-json";
import { VmArgs, VmCurrent, VmState } from "./vm-model";

/** What the provider has to do to turn the old VM into the new one. */
export type VmAction =
  | { readonly kind: "resize-disk"; readonly fromGiB: number; readonly toGiB: number }
  /** `live: false` means the guest must be restarted for the change to apply. */
  | { readonly kind: "set-vcpus"; readonly from: number; readonly to: number; readonly live: boolean }
  | { readonly kind: "set-memory"; readonly from: number; readonly to: number; readonly live: boolean }
  | { readonly kind: "migrate"; readonly from: string; readonly to: string }
  | { readonly kind: "set-state"; readonly from: VmState; readonly to: VmState }
  | { readonly kind: "cloud-init-changed" };

export interface VmDiff {
  /** Fields whose change recreates the VM; when non-empty, nothing is done in place. */
  readonly replaces: string[];
  /** Fields changed in place. */
  readonly updates: string[];
  readonly restartNeeded: boolean;
  /** In the order to run them. */
  readonly actions: VmAction[];
}

const stateOf = (a: VmArgs): VmState => a.state ?? "running";

// authorized_keys is a set: reordering the same keys must not recreate the VM.
const keySet = (a: VmArgs) => canonicalJson([...new Set(a.sshAuthorizedKeys ?? [])].sort());

/**
 * vCPUs and memory change without a restart when growing within the domain's
 * maximum (hotplug / balloon), or when the guest is off anyway: stopped before,
 * or being stopped by this update (a suspended guest still holds its state, so
 * it counts as on).
 */
function liveChange(from: number, to: number, max: number, off: boolean): boolean {
  return off || (to > from && to <= max);
}

/**
 * Pure diff of a VirtualMachine. Assumes both sides passed validateVmArgs.
 * Throws a ValidationError for a disk shrink, which cannot be done in place.
 * `drained` names nodes in standby: an ha VM declared on one stays where
 * Pacemaker moved it, and goes back by itself when the node returns.
 */
export function diffVm(olds: VmCurrent, news: VmArgs, drained: readonly string[] = []): VmDiff {
  const replaces: string[] = [];
  if (olds.name !== news.name) replaces.push("name");
  if (olds.image !== news.image) replaces.push("image");
  // Who owns the domain (libvirt's definition or Pacemaker's resource) is decided once, at create.
  if ((olds.ha ?? false) !== (news.ha ?? false)) replaces.push("ha");
  // The NoCloud seed is read by cloud-init on first boot only; changing it on a
  // running VM would do nothing, so a new seed means a new VM.
  const seedChanged: string[] = [];
  if (keySet(olds) !== keySet(news)) seedChanged.push("sshAuthorizedKeys");
  if (canonicalJson(olds.userData ?? {}) !== canonicalJson(news.userData ?? {})) seedChanged.push("userData");
  replaces.push(...seedChanged);
  const seedAction: VmAction[] = seedChanged.length > 0 ? [{ kind: "cloud-init-changed" }] : [];

  // A replacement clones a fresh disk at the new size, so even a smaller diskGiB is fine then.
  if (replaces.length > 0) {
    return { replaces, updates: [], restartNeeded: false, actions: seedAction };
  }

  const updates: string[] = [];
  const config: VmAction[] = [];
  const fromState = stateOf(olds);
  const toState = stateOf(news);
  const off = fromState === "stopped" || toState === "stopped";

  if (news.diskGiB < olds.diskGiB) {
    throw new ValidationError("diskGiB", news.diskGiB, `at least the current ${olds.diskGiB} GiB: disks only grow in place`);
  }
  if (news.diskGiB > olds.diskGiB) {
    updates.push("diskGiB");
    config.push({ kind: "resize-disk", fromGiB: olds.diskGiB, toGiB: news.diskGiB });
  }
  if (olds.ha) {
    // The agent starts the domain from its XML file: a live change would be lost at the next failover.
    for (const f of ["vcpus", "memoryMiB"] as const) {
      if (news[f] !== olds[f]) throw new ValidationError(f, news[f], `the current ${olds[f]} for an ha VM: resizing a VM that Pacemaker runs is not built yet (replace it to resize)`);
    }
  }
  if (news.vcpus !== olds.vcpus) {
    updates.push("vcpus");
    const live = liveChange(olds.vcpus, news.vcpus, olds.maxVcpus ?? olds.vcpus, off);
    config.push({ kind: "set-vcpus", from: olds.vcpus, to: news.vcpus, live });
  }
  if (news.memoryMiB !== olds.memoryMiB) {
    updates.push("memoryMiB");
    const live = liveChange(olds.memoryMiB, news.memoryMiB, olds.maxMemoryMiB ?? olds.memoryMiB, off);
    config.push({ kind: "set-memory", from: olds.memoryMiB, to: news.memoryMiB, live });
  }
  // An omitted node means "wherever it is now", not "re-run placement".
  if (news.node !== undefined && news.node !== olds.node && !(olds.ha && drained.includes(news.node))) {
    updates.push("node");
    config.push({ kind: "migrate", from: olds.node, to: news.node });
  }

  const restartNeeded = config.some((a) => (a.kind === "set-vcpus" || a.kind === "set-memory") && !a.live);
  let actions = config;
  if (toState !== fromState) {
    updates.push("state");
    const setState: VmAction = { kind: "set-state", from: fromState, to: toState };
    // Stop first so the config changes apply to a guest that is off; otherwise
    // change the config first so a start or resume picks it up.
    actions = toState === "stopped" ? [setState, ...config] : [...config, setState];
  }
  return { replaces, updates, restartNeeded, actions };
}
