import { CephMonitor, renderCephClientConf } from "../ceph/ceph-conf";
import { GUEST_FILTER, GUEST_FILTER_UUID, GuestTraffic, renderGuestFilterXml } from "./guest-filter";
import { renderRbdPoolXml } from "./libvirt-pool";
import { renderCephSecretXml } from "./libvirt-secret";
import { quote } from "../core/shell";
import { check } from "../core/errors";
import { checkIfName, UUID } from "../core/network";
import { aptInstallStep, bashScript, enableServiceStep, readLineStep, serviceRunningStep, writeFileStep, writeKeyringStep } from "../core/script";
import { checkCephUser } from "../ceph/ceph-user";

/**
 * Scripts that make a host a KVM node: packages, libvirt's QEMU settings, the
 * Ceph client identity, and the libvirt secret and RBD pool built on it.
 */
export const KVM_PACKAGES = [
  "qemu-system-x86",
  "qemu-utils",
  "qemu-block-extra",
  "libvirt-daemon-system",
  "libvirt-clients",
  "libvirt-daemon-driver-storage-rbd",
  "ceph-common",
  // The VM provider builds each NoCloud seed ISO on the node.
  "genisoimage",
  "openssh-client",
  "openssh-server",
] as const;

export type SecurityDriver = "apparmor" | "selinux" | "none";
export const SECURITY_DRIVERS: readonly SecurityDriver[] = ["apparmor", "selinux", "none"];
export const DEFAULT_SECURITY_DRIVER: SecurityDriver = "apparmor";

export function checkSecurityDriver(field: string, v: unknown): asserts v is SecurityDriver {
  check(SECURITY_DRIVERS.includes(v as SecurityDriver), field, v, SECURITY_DRIVERS.map((d) => `"${d}"`).join(", "));
}

/**
 * Packages and libvirtd. Not the node exporter: Monitoring installs it on
 * every host bound to that host's own address; enabling it here too (on
 * every address) made the result depend on which script ran last.
 */
export function renderKvmPackagesScript(): string {
  return bashScript("KVM node packages and libvirtd", [aptInstallStep([...KVM_PACKAGES]), enableServiceStep("libvirtd.service")]);
}

/** A shell test that the host's kernel runs the security driver (none needs nothing). */
const DRIVER_PRESENT: Record<SecurityDriver, string> = {
  apparmor: '[ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ]',
  selinux: "[ -d /sys/fs/selinux ]",
  none: "true",
};

/**
 * QEMU's security driver in /etc/libvirt/qemu.conf; libvirtd restarts only
 * when it changes. A driver the host's kernel does not run is refused before
 * anything changes (libvirtd would die on it: "Security driver apparmor not
 * enabled"), and libvirtd must be running when the script ends, also on a
 * rerun that changes nothing.
 */
export function renderLibvirtQemuConfScript(o: { securityDriver: SecurityDriver }): string {
  checkSecurityDriver("securityDriver", o.securityDriver);
  const want = `security_driver = "${o.securityDriver}"`;
  return bashScript(`libvirt QEMU security driver ${o.securityDriver}`, [
    "conf=/etc/libvirt/qemu.conf",
    '[ -f "$conf" ] || { echo "kvm-cloud: $conf missing (libvirt-daemon-system not installed?)" >&2; exit 1; }',
    `${DRIVER_PRESENT[o.securityDriver]} || { echo ${quote(`kvm-cloud: securityDriver "${o.securityDriver}" is not enabled in the host kernel; use "none" or enable it`)} >&2; exit 1; }`,
    `if ! grep -qxF ${quote(want)} "$conf"; then`,
    "  sed -i -E '/^security_driver[[:space:]]*=/d' \"$conf\"",
    `  printf '%s\\n' ${quote(want)} >> "$conf"`,
    "  systemctl restart libvirtd.service",
    "fi",
    "systemctl start libvirtd.service",
    serviceRunningStep("libvirtd.service"),
  ]);
}

/**
 * Defines the guests' traffic filter (lib/kvm-node/guest-filter.ts). libvirt
 * applies a changed filter at once to the running guests' interfaces, so a
 * change of policy needs no restart of any VM. A filter of that name made
 * before under another UUID (by hand, or by another tool) keeps its UUID:
 * libvirt refuses to give a defined filter a new one, and undefining it is
 * refused while guests use it.
 */
export function renderGuestFilterScript(policy: GuestTraffic): string {
  const file = `/etc/kvmcloud/libvirt/nwfilter-${GUEST_FILTER}.xml`;
  return bashScript(`guest traffic filter ${GUEST_FILTER}: ${policy}`, [
    writeFileStep(file, renderGuestFilterXml(policy), { mode: "0600" }),
    `have=$(virsh nwfilter-list | awk -v name=${quote(GUEST_FILTER)} '$2 == name { print $1 }')`,
    `if [ -n "$have" ] && [ "$have" != ${quote(GUEST_FILTER_UUID)} ]; then`,
    `  sed "s#<uuid>${GUEST_FILTER_UUID}</uuid>#<uuid>$have</uuid>#" ${quote(file)} > ${quote(`${file}.adopted`)}`,
    `  virsh nwfilter-define ${quote(`${file}.adopted`)} >/dev/null`,
    "else",
    `  virsh nwfilter-define ${quote(file)} >/dev/null`,
    "fi",
  ]);
}

export interface NodeCephOptions {
  readonly fsid: string;
  readonly monitors: readonly CephMonitor[];
  readonly clientName: string;
}

/** /etc/ceph/ceph.conf for a client and the client's keyring. stdin: the client key. */
export function renderNodeCephClientScript(o: NodeCephOptions): string {
  checkCephUser("clientName", o.clientName);
  return bashScript(`Ceph client config and client.${o.clientName} keyring`, [
    readLineStep("client_key"),
    writeFileStep("/etc/ceph/ceph.conf", renderCephClientConf({ fsid: o.fsid, monitors: o.monitors })),
    writeKeyringStep(`/etc/ceph/ceph.client.${o.clientName}.keyring`, [{ entity: `client.${o.clientName}`, keyVariable: "client_key" }]),
  ]);
}

export interface LibvirtCephOptions {
  readonly secretUuid: string;
  readonly clientName: string;
  readonly pool: string;
  readonly monitors: readonly string[];
}

/**
 * The libvirt secret holding the cephx key and the RBD storage pool that uses
 * it. stdin: the client key. The key reaches virsh through a 0600 file, as
 * `ceph auth get-key` prints it (no newline, not --plain: qemu then fails).
 */
export function renderLibvirtCephScript(o: LibvirtCephOptions): string {
  check(UUID.test(o.secretUuid), "secretUuid", o.secretUuid, "a lower-case UUID");
  const secretXml = `/etc/kvmcloud/libvirt/ceph-secret-${o.clientName}.xml`;
  const poolXml = `/etc/kvmcloud/libvirt/pool-${o.pool}.xml`;
  const uuid = quote(o.secretUuid);
  const pool = quote(o.pool);
  const usage = quote(`ceph client.${o.clientName} secret`);
  return bashScript(`libvirt cephx secret ${o.secretUuid} and RBD pool ${o.pool}`, [
    readLineStep("client_key"),
    // A secret for the same client under another UUID (an older setup) blocks ours.
    "virsh -q secret-list | while read -r other rest; do",
    `  if [ "$other" != ${uuid} ] && [ "$rest" = ${usage} ]; then virsh secret-undefine "$other" >/dev/null; fi`,
    "done",
    writeFileStep(secretXml, renderCephSecretXml({ uuid: o.secretUuid, clientName: o.clientName }), { onChange: [`virsh secret-define --file ${secretXml} >/dev/null`] }),
    `virsh secret-dumpxml ${uuid} >/dev/null 2>&1 || virsh secret-define --file ${secretXml} >/dev/null`,
    "keyfile=$(umask 077 && mktemp)",
    "trap 'rm -f \"$keyfile\"' EXIT",
    "printf '%s' \"$client_key\" > \"$keyfile\"",
    `virsh secret-set-value --secret ${uuid} --file "$keyfile" >/dev/null`,
    writeFileStep(poolXml, renderRbdPoolXml({ cephPool: o.pool, monitors: o.monitors, clientName: o.clientName, secretUuid: o.secretUuid }), {
      onChange: [`if virsh pool-info ${pool} >/dev/null 2>&1; then virsh pool-destroy ${pool} >/dev/null 2>&1 || true; virsh pool-define ${poolXml} >/dev/null; fi`],
    }),
    `virsh pool-info ${pool} >/dev/null 2>&1 || virsh pool-define ${poolXml} >/dev/null`,
    `virsh pool-autostart ${pool} >/dev/null`,
    `virsh pool-info ${pool} | grep '^State:.*running' >/dev/null || virsh pool-start ${pool} >/dev/null`,
  ]);
}

/** vCPUs and memory as the host reports them, and the uplink NIC's MAC (which the bridge keeps). */
export function renderHostFactsScript(nic: string): string {
  checkIfName("nic", nic);
  return bashScript(`host capacity and the MAC of ${nic}`, [
    `printf 'vcpus=%s\\nmemory_kib=%s\\nnic_mac=%s\\n' "$(nproc)" "$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)" "$(cat ${quote(`/sys/class/net/${nic}/address`)})"`,
  ]);
}

export interface HostFacts {
  readonly vcpus: number;
  readonly memoryMiB: number;
  readonly nicMac: string;
}

export function parseHostFacts(stdout: string): HostFacts {
  const vcpus = /^vcpus=(\d+)$/m.exec(stdout);
  const mem = /^memory_kib=(\d+)$/m.exec(stdout);
  const mac = /^nic_mac=([0-9a-f]{2}(?::[0-9a-f]{2}){5})$/m.exec(stdout);
  if (!vcpus || !mem || !mac) {
    throw new Error(`host facts: expected lines vcpus=N, memory_kib=N and nic_mac=MAC, got ${JSON.stringify(stdout.slice(0, 200))}`);
  }
  return { vcpus: Number(vcpus[1]), memoryMiB: Math.floor(Number(mem[1]) / 1024), nicMac: mac[1] };
}
