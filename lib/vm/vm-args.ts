import { check, ValidationError } from "../core/errors";
import { checkDnsLabel } from "../core/network";
import { ImageSpec, VM_STATES, VmArgs, VmState } from "./vm-model";

export interface VmArgsContext {
  /** Size of the image snapshot; a disk smaller than it cannot hold the clone. */
  readonly imageSizeBytes?: number;
  readonly knownNodes?: readonly string[];
  /** Names of the other VMs (exclude the VM itself when validating an update). */
  readonly existingNames?: readonly string[];
}

const GiB = 2 ** 30;
// Same charset domain-xml.ts accepts for RBD names, so a valid spec always renders.
const RBD_NAME = "[A-Za-z0-9_.-]{1,96}";
const IMAGE_SPEC = new RegExp(`^(${RBD_NAME})/(${RBD_NAME})@(${RBD_NAME})$`);

export function parseImageSpec(spec: unknown): ImageSpec {
  const m = typeof spec === "string" ? IMAGE_SPEC.exec(spec) : null;
  if (!m) {
    throw new ValidationError("image", spec, "an RBD snapshot like pool/image@snap, each part 1-96 characters of [A-Za-z0-9_.-]");
  }
  return { pool: m[1], image: m[2], snapshot: m[3] };
}

/** The inverse of parseImageSpec: "pool/image@snapshot". */
export function formatImageSpec(s: ImageSpec): string {
  return `${s.pool}/${s.image}@${s.snapshot}`;
}

function checkInt(field: string, v: unknown, min: number, max: number): asserts v is number {
  check(typeof v === "number" && Number.isInteger(v) && v >= min && v <= max, field, v, `an integer ${min}-${max}`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Checks VM inputs and returns them normalized (defaults applied), throwing a
 * ValidationError on the first bad field. Unknown keys are ignored: Pulumi adds
 * its own (`__provider`) to dynamic-provider inputs.
 */
export function validateVmArgs(args: unknown, ctx: VmArgsContext = {}): VmArgs {
  check(isPlainObject(args), "args", args, "an object of VirtualMachine inputs");
  const a = args as Record<string, unknown>;

  checkDnsLabel("name", a.name);
  const name = a.name;
  if (ctx.existingNames?.includes(name)) {
    throw new ValidationError("name", name, `a name not used by another VM (taken: ${[...ctx.existingNames].sort().join(", ")})`);
  }

  const image = a.image;
  parseImageSpec(image);

  checkInt("vcpus", a.vcpus, 1, 64);
  checkInt("memoryMiB", a.memoryMiB, 64, 1048576);
  checkInt("diskGiB", a.diskGiB, 1, 65536);
  if (ctx.imageSizeBytes !== undefined && a.diskGiB * GiB < ctx.imageSizeBytes) {
    const imageGiB = Math.ceil(ctx.imageSizeBytes / GiB);
    throw new ValidationError("diskGiB", a.diskGiB, `at least ${imageGiB} GiB, the size of image ${image as string}`);
  }

  let node: string | undefined;
  if (a.node !== undefined) {
    check(typeof a.node === "string" && a.node.length > 0, "node", a.node, "a node name");
    node = a.node as string;
    if (ctx.knownNodes !== undefined && !ctx.knownNodes.includes(node)) {
      const known = ctx.knownNodes.length > 0 ? ctx.knownNodes.join(", ") : "(no nodes known)";
      throw new ValidationError("node", node, `one of the known nodes: ${known}`);
    }
  }

  const state = a.state ?? "running";
  check((VM_STATES as readonly unknown[]).includes(state), "state", state, `one of ${VM_STATES.join(", ")}`);

  const ha = a.ha ?? false;
  check(typeof ha === "boolean", "ha", ha, "true or false");
  // Pacemaker knows a resource as started or stopped; a paused guest would be one it cannot monitor.
  if (ha) check(state !== "suspended", "state", state, "running or stopped for an ha VM");

  const keys = a.sshAuthorizedKeys ?? [];
  check(Array.isArray(keys), "sshAuthorizedKeys", keys, "a list of OpenSSH public key lines");
  (keys as unknown[]).forEach((k, i) =>
    // A newline would smuggle extra lines into authorized_keys.
    check(typeof k === "string" && k.trim().length > 0 && !/[\r\n]/.test(k), `sshAuthorizedKeys[${i}]`, k, "one non-empty OpenSSH public key line"),
  );

  if (a.userData !== undefined) {
    check(isPlainObject(a.userData), "userData", a.userData, "a cloud-config object (key: value mapping)");
  }

  return {
    name,
    vcpus: a.vcpus,
    memoryMiB: a.memoryMiB,
    diskGiB: a.diskGiB,
    image: image as string,
    ...(node !== undefined ? { node } : {}),
    sshAuthorizedKeys: [...(keys as string[])],
    ...(a.userData !== undefined ? { userData: a.userData as Record<string, unknown> } : {}),
    state: state as VmState,
    ...(ha === true ? { ha: true } : {}),
  };
}
