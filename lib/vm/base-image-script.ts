import { DEFAULT_VM_POOL } from "../ceph/ceph-cluster";
import { quote } from "../core/shell";
import { check } from "../core/errors";
import { bashScript, checkAbsolutePath } from "../core/script";
import { checkCephUser } from "../ceph/ceph-user";

/**
 * A cloud image imported into RBD as the parent of every VM disk: imported
 * under a temporary name and renamed when complete (a killed run never leaves
 * a half image under the real name), snapshotted, and the snapshot protected
 * so clones can be made from it. Every step checks first, so reruns are no-ops.
 */

export interface BaseImageOptions {
  readonly pool: string;
  readonly image: string;
  readonly snapshot: string;
  /** http(s) URL or an absolute path on the host running the script. */
  readonly source: string;
  /** Format of the source: "qcow2" is converted by qemu-img; "raw" goes straight to `rbd import`. */
  readonly format: "qcow2" | "raw";
  /** cephx user without the `client.` prefix. */
  readonly cephClient: string;
  /** Expected sha256 of the source file, lower-case hex (optional). */
  readonly sha256?: string;
}

const RBD_NAME = /^[A-Za-z0-9_.-]{1,96}$/;
const URL = /^https?:\/\/[A-Za-z0-9._~:\/?#\[\]@!$&'()*+,;=%-]+$/;

/** Pure: throws a ValidationError naming the first bad field. */
/**
 * Pure: the options with every default filled, then checked. The image's name
 * and the cephx user have no default of their own here: a BaseImage component
 * names the image after itself and imports as admin, a cloud's baseImage
 * section names it "base-image" and imports as the nodes' libvirt client.
 */
export function resolveBaseImageOptions(
  v: Partial<Omit<BaseImageOptions, "source">> & { readonly source: string },
  defaults: { readonly image: string; readonly cephClient: string },
): BaseImageOptions {
  const o: BaseImageOptions = {
    pool: v.pool ?? DEFAULT_VM_POOL,
    image: v.image ?? defaults.image,
    snapshot: v.snapshot ?? "base",
    source: v.source,
    format: v.format ?? "qcow2",
    cephClient: v.cephClient ?? defaults.cephClient,
    sha256: v.sha256,
  };
  validateBaseImageOptions(o);
  return o;
}

export function validateBaseImageOptions(o: BaseImageOptions): void {
  // Strings first: a regex test would read `undefined` as the word "undefined".
  for (const key of ["pool", "image", "snapshot", "cephClient"] as const) check(typeof o[key] === "string", key, o[key], "a string");
  check(RBD_NAME.test(o.pool), "pool", o.pool, "an RBD pool name of [A-Za-z0-9_.-]");
  check(RBD_NAME.test(o.image) && !o.image.endsWith(".kvmcloud-import") && !o.image.includes(RETIRED_SUFFIX), "image", o.image, `an RBD image name of [A-Za-z0-9_.-] without "${RETIRED_SUFFIX}" or ".kvmcloud-import"`);
  check(RBD_NAME.test(o.snapshot), "snapshot", o.snapshot, "a snapshot name of [A-Za-z0-9_.-]");
  if (!(typeof o.source === "string" && URL.test(o.source))) {
    check(typeof o.source === "string" && o.source.startsWith("/"), "source", o.source, "an http(s) URL or an absolute path on the host");
    checkAbsolutePath("source", o.source);
  }
  check(o.format === "qcow2" || o.format === "raw", "format", o.format, '"qcow2" or "raw"');
  checkCephUser("cephClient", o.cephClient);
  if (o.sha256 !== undefined) check(/^[0-9a-f]{64}$/.test(o.sha256), "sha256", o.sha256, "64 lower-case hex digits");
}

function header(o: BaseImageOptions): string[] {
  return [
    `image=${quote(`${o.pool}/${o.image}`)}`,
    `snap=${quote(`${o.pool}/${o.image}@${o.snapshot}`)}`,
    `rbdc() { rbd --id ${quote(o.cephClient)} "$@"; }`,
  ];
}

/** Prints `size=BYTES` of the image as its last line (the component's sizeBytes). */
export function renderBaseImageImportScript(o: BaseImageOptions): string {
  validateBaseImageOptions(o);
  const partial = quote(`${o.pool}/${o.image}.kvmcloud-import`);
  const isUrl = /^https?:/.test(o.source);
  const fetch = isUrl
    ? [`  curl -fsSL --retry 3 -o "$work/source" ${quote(o.source)}`, '  file="$work/source"']
    : [`  file=${quote(o.source)}`];
  const verify = o.sha256 === undefined ? [] : [`  echo ${quote(`${o.sha256}  `)}"$file" | sha256sum -c --quiet -`];
  const load =
    o.format === "raw"
      ? [`  rbdc import --no-progress "$file" ${partial}`]
      : [`  qemu-img convert -f qcow2 -O raw "$file" ${quote(`rbd:${o.pool}/${o.image}.kvmcloud-import:id=${o.cephClient}`)}`];
  return bashScript(`base image ${o.pool}/${o.image}@${o.snapshot} from ${o.source}`, [
    ...header(o),
    "if ! rbdc info \"$image\" >/dev/null 2>&1; then",
    "  work=$(mktemp -d)",
    "  trap 'rm -rf \"$work\"' EXIT",
    ...fetch,
    ...verify,
    // Left behind by a killed run: start over.
    `  rbdc rm --no-progress ${partial} >/dev/null 2>&1 || true`,
    ...load,
    `  rbdc rename ${partial} "$image"`,
    "fi",
    "rbdc snap ls \"$image\" | awk '{print $2}' | grep -x " + quote(o.snapshot) + " >/dev/null || rbdc snap create \"$snap\"",
    'if ! rbdc info "$snap" | grep "protected: True" >/dev/null; then rbdc snap protect "$snap"; fi',
    ...dropRetiredSteps(o),
    'size=$(rbdc info --format json "$image" | sed -n \'s/.*"size":\\([0-9]*\\).*/\\1/p\')',
    'echo "size=$size"',
  ]);
}

/** Suffix of a base image renamed aside because VM disks were cloned from it (see the remove script). */
export const RETIRED_SUFFIX = ".retired-";

/** Removes this image's retired predecessors that no VM disk is cloned from any more. */
function dropRetiredSteps(o: BaseImageOptions): string[] {
  const retired = `^${o.image.replace(/\./g, "\\.")}${RETIRED_SUFFIX.replace(/\./g, "\\.")}[0-9]+$`;
  return [
    `for old in $(rbdc ls ${quote(o.pool)} | grep -E ${quote(retired)} || true); do`,
    `  old_snap=${quote(`${o.pool}/`)}"$old"${quote(`@${o.snapshot}`)}`,
    '  [ -z "$(rbdc children "$old_snap" 2>/dev/null)" ] || continue',
    '  rbdc snap unprotect "$old_snap" 2>/dev/null || true',
    `  rbdc snap purge --no-progress ${quote(`${o.pool}/`)}"$old"`,
    `  rbdc rm --no-progress ${quote(`${o.pool}/`)}"$old"`,
    `  echo "kvm-cloud: removed the retired base image ${o.pool}/$old (no clone left)" >&2`,
    "done",
  ];
}

/**
 * On delete: the image goes when no VM disk is cloned from it; otherwise it
 * is renamed aside (IMAGE.retired-SECONDS), so that a replacement can take the
 * name, and the next import of that name removes it once no clone is left.
 */
export function renderBaseImageRemoveScript(o: BaseImageOptions): string {
  validateBaseImageOptions(o);
  return bashScript(`remove base image ${o.pool}/${o.image} unless it has clones`, [
    ...header(o),
    'rbdc info "$image" >/dev/null 2>&1 || exit 0',
    'if rbdc snap ls "$image" | awk \'{print $2}\' | grep -x ' + quote(o.snapshot) + " >/dev/null; then",
    '  children=$(rbdc children "$snap")',
    '  if [ -n "$children" ]; then',
    // Clones name their parent by id, not by name: renamed aside, it keeps serving them,
    // and the name is free for a replacement (the next import removes it once unused).
    `    retired="$image${RETIRED_SUFFIX}$(date +%s)"`,
    '    rbdc rename "$image" "$retired"',
    '    echo "kvm-cloud: VM disks are cloned from $snap; kept it as $retired until none is:" >&2',
    '    echo "$children" >&2',
    "    exit 0",
    "  fi",
    '  if rbdc info "$snap" | grep "protected: True" >/dev/null; then rbdc snap unprotect "$snap"; fi',
    '  rbdc snap rm --no-progress "$snap"',
    "fi",
    'rbdc rm --no-progress "$image"',
  ]);
}

/** Pure: sizeBytes from the import script's output (its last `size=` line). */
export function parseBaseImageSize(stdout: string): number {
  const m = [...stdout.matchAll(/^size=(\d+)$/gm)].pop();
  if (!m) throw new Error(`the base image script printed no size= line; its output ended: ${stdout.slice(-200)}`);
  return Number(m[1]);
}
