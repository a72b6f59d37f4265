import { CephMonitor, monHost } from "./ceph-conf";
import { commandLine, quote } from "../core/shell";
import { check } from "../core/errors";
import { bashScript } from "../core/script";

/**
 * The first monitor host makes the cluster's identity once: fsid, the mon.,
 * client.admin and client.bootstrap-osd keys and the initial monmap. They are
 * kept in a root-only directory so that later runs print the same values, and
 * printed (stdout, stored by Pulumi as a secret) for the other hosts.
 * Changing the monitor set after the first run is not handled here: the
 * stored monmap only seeds monitors that have never run.
 */
export const BOOTSTRAP_DIR = "/etc/ceph/kvmcloud-bootstrap";

export const ADMIN_CAPS = { mon: "allow *", osd: "allow *", mds: "allow *", mgr: "allow *" } as const;
export const BOOTSTRAP_OSD_CAPS = { mon: "profile bootstrap-osd", mgr: "allow r" } as const;
export const MON_CAPS = { mon: "allow *" } as const;

function capArgs(caps: Readonly<Record<string, string>>): string[] {
  return Object.entries(caps).flatMap(([k, v]) => ["--cap", k, v]);
}

export function renderCephBootstrapScript(o: { monitors: readonly CephMonitor[] }): string {
  check(o.monitors.length > 0, "monitors", o.monitors, "at least one monitor");
  const dir = BOOTSTRAP_DIR;
  const keyring = (file: string, name: string, caps: Readonly<Record<string, string>>) =>
    `[ -s ${quote(`${dir}/${file}`)} ] || ${commandLine(["ceph-authtool", "--create-keyring", `${dir}/${file}`, "--gen-key", "-n", name, ...capArgs(caps)])} >/dev/null`;
  const addv = o.monitors.flatMap((m) => ["--addv", m.name, monHost([m])]);
  const printKey = (label: string, file: string, name: string) => `printf '${label}=%s\\n' "$(ceph-authtool -p -n ${quote(name)} ${quote(`${dir}/${file}`)})"`;
  return bashScript("Ceph bootstrap identity: fsid, initial keys and monmap (printed for Pulumi, stored as a secret)", [
    `install -d -m 0700 ${quote(dir)}`,
    "umask 077",
    `[ -s ${quote(`${dir}/fsid`)} ] || cat /proc/sys/kernel/random/uuid > ${quote(`${dir}/fsid`)}`,
    `fsid=$(cat ${quote(`${dir}/fsid`)})`,
    keyring("mon.keyring", "mon.", MON_CAPS),
    keyring("admin.keyring", "client.admin", ADMIN_CAPS),
    keyring("bootstrap-osd.keyring", "client.bootstrap-osd", BOOTSTRAP_OSD_CAPS),
    `[ -s ${quote(`${dir}/monmap`)} ] || ${commandLine(["monmaptool", "--create", "--fsid"])} "$fsid" ${commandLine([...addv, "--enable-all-features", `${dir}/monmap`])} >/dev/null`,
    `printf 'fsid=%s\\n' "$fsid"`,
    printKey("mon_key", "mon.keyring", "mon."),
    printKey("admin_key", "admin.keyring", "client.admin"),
    printKey("bootstrap_osd_key", "bootstrap-osd.keyring", "client.bootstrap-osd"),
    `printf 'monmap=%s\\n' "$(base64 -w0 ${quote(`${dir}/monmap`)})"`,
  ]);
}
