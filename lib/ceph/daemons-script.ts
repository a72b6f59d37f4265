import { CephConfOptions, renderCephConf } from "./ceph-conf";
import { quote } from "../core/shell";
import { check } from "../core/errors";
import { ADMIN_CAPS, BOOTSTRAP_OSD_CAPS, MON_CAPS } from "./bootstrap-script";
import { aptInstallStep, bashScript, enableServiceStep, readLineStep, waitForCephStep, writeFileStep, writeKeyringStep } from "../core/script";

/**
 * Scripts for the Ceph daemons of one host, the manual-deployment way (no
 * cephadm): Debian/Ubuntu packages, systemd units they ship, keys arriving on
 * stdin. Each step looks before it acts, so a second run changes nothing.
 */

export interface CephRoles {
  readonly mon: boolean;
  readonly mgr: boolean;
  readonly osd: boolean;
}

export function cephPackages(r: CephRoles): string[] {
  return ["ceph-common", ...(r.mon ? ["ceph-base", "ceph-mon"] : []), ...(r.mgr ? ["ceph-mgr"] : []), ...(r.osd ? ["ceph-osd", "lvm2"] : [])];
}

export function renderCephPackagesScript(r: CephRoles): string {
  return bashScript("Ceph packages for this host's roles", [aptInstallStep(cephPackages(r))]);
}

const ID = /^[a-z0-9]{1,32}$/;
/** The initial keys for `ceph-mon --mkfs`; removed when the script ends. */
const MON_KEYRING = "/var/lib/ceph/tmp/kvmcloud-mon.keyring";

function indent(text: string): string {
  return text.split("\n").map((l) => "  " + l).join("\n");
}

/**
 * ceph.conf, the admin keyring and the bootstrap-osd keyring. stdin: the
 * admin key, then the bootstrap-osd key.
 */
export function renderCephHostConfigScript(conf: CephConfOptions): string {
  return bashScript("Ceph config and keyrings of a cluster host", [
    readLineStep("admin_key"),
    readLineStep("bootstrap_osd_key"),
    writeFileStep("/etc/ceph/ceph.conf", renderCephConf(conf)),
    writeKeyringStep("/etc/ceph/ceph.client.admin.keyring", [{ entity: "client.admin", keyVariable: "admin_key" }]),
    "install -d -o ceph -g ceph -m 0750 /var/lib/ceph/bootstrap-osd",
    writeKeyringStep("/var/lib/ceph/bootstrap-osd/ceph.keyring", [{ entity: "client.bootstrap-osd", keyVariable: "bootstrap_osd_key" }], "ceph:ceph"),
  ]);
}

/**
 * One monitor: made with `ceph-mon --mkfs` from the bootstrap monmap and a
 * keyring holding every initial key (so the monitors know admin and
 * bootstrap-osd from the start), then run by systemd. stdin: mon key, admin
 * key, bootstrap-osd key, monmap (base64).
 */
export function renderCephMonScript(o: { id: string }): string {
  check(ID.test(o.id), "id", o.id, "a monitor id of 1-32 lower-case letters and digits");
  const dir = `/var/lib/ceph/mon/ceph-${o.id}`;
  return bashScript(`Ceph monitor mon.${o.id}`, [
    readLineStep("mon_key"),
    readLineStep("admin_key"),
    readLineStep("bootstrap_osd_key"),
    readLineStep("monmap_b64"),
    `if [ ! -e ${quote(`${dir}/done`)} ]; then`,
    "  install -d -o ceph -g ceph -m 0750 /var/lib/ceph/tmp",
    "  work=$(mktemp -d /var/lib/ceph/tmp/kvmcloud-mon.XXXXXX)",
    `  trap 'rm -rf "$work" ${MON_KEYRING}' EXIT`,
    indent(writeKeyringStep(MON_KEYRING, [
      { entity: "mon.", keyVariable: "mon_key", caps: MON_CAPS },
      { entity: "client.admin", keyVariable: "admin_key", caps: ADMIN_CAPS },
      { entity: "client.bootstrap-osd", keyVariable: "bootstrap_osd_key", caps: BOOTSTRAP_OSD_CAPS },
    ], "ceph:ceph")),
    "  printf '%s' \"$monmap_b64\" | base64 -d > \"$work/monmap\"",
    "  chown -R ceph:ceph \"$work\"",
    `  install -d -o ceph -g ceph -m 0750 ${quote(dir)}`,
    `  ceph-mon --cluster ceph --mkfs -i ${quote(o.id)} --monmap "$work/monmap" --keyring ${MON_KEYRING} --setuser ceph --setgroup ceph`,
    `  install -o ceph -g ceph -m 0644 /dev/null ${quote(`${dir}/done`)}`,
    `  echo ${quote(`kvm-cloud: created mon.${o.id}`)}`,
    "fi",
    enableServiceStep("ceph-mon.target"),
    enableServiceStep(`ceph-mon@${o.id}.service`),
  ]);
}

/** One manager: its key from the monitors (as client.admin), then systemd. */
export function renderCephMgrScript(o: { id: string }): string {
  check(ID.test(o.id), "id", o.id, "a manager id of 1-32 lower-case letters and digits");
  const dir = `/var/lib/ceph/mgr/ceph-${o.id}`;
  return bashScript(`Ceph manager mgr.${o.id}`, [
    waitForCephStep(),
    `install -d -o ceph -g ceph -m 0750 ${quote(dir)}`,
    `if [ ! -s ${quote(`${dir}/keyring`)} ]; then`,
    `  ceph auth get-or-create ${quote(`mgr.${o.id}`)} mon 'allow profile mgr' osd 'allow *' mds 'allow *' -o ${quote(`${dir}/keyring`)}`,
    `  chown ceph:ceph ${quote(`${dir}/keyring`)}`,
    `  chmod 0600 ${quote(`${dir}/keyring`)}`,
    `  echo ${quote(`kvm-cloud: created the key of mgr.${o.id}`)}`,
    "fi",
    enableServiceStep("ceph-mgr.target"),
    enableServiceStep(`ceph-mgr@${o.id}.service`),
  ]);
}

/**
 * One OSD on a whole device with BlueStore via ceph-volume (LVM). A device
 * that already holds a Ceph OSD is only (re)activated; ceph-volume itself
 * refuses a device with partitions or a filesystem, so nothing is wiped silently.
 */
export function renderCephOsdScript(o: { device: string }): string {
  check(/^\/dev\/[A-Za-z0-9_.\/-]+$/.test(o.device) && !o.device.includes(".."), "device", o.device, "a block device path under /dev");
  const dev = quote(o.device);
  return bashScript(`Ceph OSD on ${o.device}`, [
    waitForCephStep(),
    `[ -b ${dev} ] || { echo ${quote(`kvm-cloud: ${o.device} is not a block device`)} >&2; exit 1; }`,
    `if ceph-volume lvm list --format json ${dev} 2>/dev/null | grep '"type": "block"' >/dev/null; then`,
    `  echo ${quote(`kvm-cloud: ${o.device} already holds an OSD`)}`,
    "else",
    `  ceph-volume lvm create --bluestore --data ${dev}`,
    "fi",
    enableServiceStep("ceph-osd.target"),
    "ceph-volume lvm activate --all",
  ]);
}

/** Where a file-backed OSD keeps the path of its file; written before mkfs, so a retry finds a half-made OSD. */
const OSD_FILE_MARKER = "kvmcloud-osd-file";

/**
 * One OSD with BlueStore on a sparse file, the way Ceph's own vstart makes
 * them (ceph-volume takes block devices only): `osd new` as bootstrap-osd with
 * the new key on stdin, the data dir with `block` pointing at the file, mkfs,
 * then systemd. An OSD already made on the file is only started; one whose mkfs
 * did not finish is made again under the same id; a file that exists without
 * being ours is refused, never overwritten.
 */
export function renderCephFileOsdScript(o: { file: string; sizeGiB: number }): string {
  check(/^\/[A-Za-z0-9_.\/-]+$/.test(o.file) && !o.file.split("/").includes("..") && !o.file.startsWith("/dev/"), "file", o.file, "an absolute file path outside /dev");
  check(Number.isInteger(o.sizeGiB) && o.sizeGiB >= 1, "sizeGiB", o.sizeGiB, "a whole number of GiB, at least 1");
  const file = quote(o.file);
  return bashScript(`Ceph OSD on the file ${o.file}`, [
    waitForCephStep(),
    `file=${file}`,
    "dir=",
    "said=$(mktemp)",
    "trap 'rm -f \"$said\"' EXIT",
    `for m in /var/lib/ceph/osd/ceph-*/${OSD_FILE_MARKER}; do`,
    '  [ -e "$m" ] && [ "$(cat "$m")" = "$file" ] && dir=$(dirname "$m") && break',
    "done",
    'if [ -z "$dir" ]; then',
    `  [ ! -e "$file" ] || { echo ${quote(`kvm-cloud: ${o.file} exists but holds no OSD made here; refusing to overwrite it`)} >&2; exit 1; }`,
    "  uuid=$(cat /proc/sys/kernel/random/uuid)",
    "  secret=$(ceph-authtool --gen-print-key)",
    // The key travels on stdin; `osd new` registers the OSD with it and the standard caps.
    // Both tools chatter on stderr when all is well (a keyring search, mkfs's
    // "unparsable uuid" of the empty dir): their words are shown only on failure.
    `  id=$(printf '{"cephx_secret": "%s"}' "$secret" | ceph --connect-timeout 30 --name client.bootstrap-osd --keyring /var/lib/ceph/bootstrap-osd/ceph.keyring osd new "$uuid" -i - 2>"$said") || { cat "$said" >&2; exit 1; }`,
    `  [[ "$id" =~ ^[0-9]+$ ]] || { echo "kvm-cloud: ceph osd new answered '$id', not an OSD id" >&2; exit 1; }`,
    "  dir=/var/lib/ceph/osd/ceph-$id",
    '  install -d -o ceph -g ceph -m 0750 "$dir" "$(dirname "$file")"',
    '  printf \'%s\\n\' "$uuid" > "$dir/kvmcloud-osd-uuid"',
    `  printf '%s\\n' "$file" > "$dir/${OSD_FILE_MARKER}"`,
    '  ( umask 077 && printf \'[osd.%s]\\n\\tkey = %s\\n\' "$id" "$secret" > "$dir/keyring" )',
    "  unset secret",
    `  truncate -s ${o.sizeGiB}G "$file"`,
    '  chown ceph:ceph "$file" "$dir/keyring"',
    '  chmod 0600 "$file"',
    '  ln -sfn "$file" "$dir/block"',
    "fi",
    'id=${dir##*/ceph-}',
    'if [ ! -e "$dir/mkfs_done" ]; then',
    '  ceph-osd --cluster ceph -i "$id" --mkfs --osd-uuid "$(cat "$dir/kvmcloud-osd-uuid")" --osd-objectstore bluestore --setuser ceph --setgroup ceph >"$said" 2>&1 || { cat "$said" >&2; exit 1; }',
    '  chown -R ceph:ceph "$dir"',
    '  echo "kvm-cloud: created osd.$id on $file"',
    "fi",
    enableServiceStep("ceph-osd.target"),
    'systemctl enable --now "ceph-osd@$id" >/dev/null',
  ]);
}
