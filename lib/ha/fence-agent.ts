import { checkCephUser } from "../ceph/ceph-user";
import { quote } from "../core/shell";

/**
 * kvm-cloud's fence agent: fabric fencing of a KVM node by Ceph's OSD
 * blocklist. `off` puts the node's address in the blocklist (every Ceph client
 * of that host: its VMs' disks, libvirt's pool, the rbd tool), so a node that
 * is cut off from the cluster but still alive can no longer write to a disk
 * that a survivor is about to run; `on` (unfencing, which Pacemaker runs when
 * the node rejoins) removes the entry. It speaks the fence-agent protocol of
 * Pacemaker's fencer: `key=value` lines on stdin, exit 0 for done, and for
 * `status` 0 (on) or 2 (off).
 */

export const FENCE_AGENT_NAME = "fence_kvmcloud_ceph";
/** Where Pacemaker's fencer looks for agents. */
export const FENCE_AGENT_PATH = `/usr/sbin/${FENCE_AGENT_NAME}`;
export const DEFAULT_FENCE_CLIENT = "kvmcloud-fence";
/** Long enough to outlive any outage; `on` removes it when the node is back. */
export const BLOCKLIST_SECONDS = 10 * 365 * 24 * 3600;
/** Each Ceph command's bound: the fencer's own timeout (pcmk_off_timeout, 60 s) must not be reached by one call. */
const CEPH_SECONDS = 20;

export function fenceClientKeyringPath(clientName: string): string {
  checkCephUser("clientName", clientName);
  return `/etc/ceph/ceph.client.${clientName}.keyring`;
}

/** What `metadata` prints; `on` is automatic: Pacemaker unfences a node with it before the node runs anything. */
export function renderFenceAgentMetadata(): string {
  const param = (name: string, desc: string, extra = "", content = '<content type="string"/>') =>
    `  <parameter name="${name}" unique="0" required="0"${extra}>\n    ${content}\n    <shortdesc lang="en">${desc}</shortdesc>\n  </parameter>`;
  return [
    '<?xml version="1.0" ?>',
    `<resource-agent name="${FENCE_AGENT_NAME}" shortdesc="Fabric fencing of a kvm-cloud node by Ceph's OSD blocklist">`,
    "<longdesc>Blocklists every Ceph client of the node's address (off, reboot) and removes the entry again (on), so that a lost node cannot write to the RBD disks a survivor runs.</longdesc>",
    "<parameters>",
    param("action", "Fencing action", "", '<content type="string" default="reboot"/>'),
    param("plug", "The node's address as Ceph sees it (pcmk_host_map gives it)", ' obsoletes="port"'),
    param("port", "The node's address as Ceph sees it", ' deprecated="1"'),
    param("ceph_id", "The cephx user allowed to run osd blocklist", "", `<content type="string" default="${DEFAULT_FENCE_CLIENT}"/>`),
    param("keyring", "That user's keyring", "", '<content type="string" default="/etc/ceph/ceph.client.ceph_id.keyring"/>'),
    param("ceph_conf", "The Ceph config with the monitors", "", '<content type="string" default="/etc/ceph/ceph.conf"/>'),
    "</parameters>",
    "<actions>",
    '  <action name="on" automatic="1"/>',
    '  <action name="off"/>',
    '  <action name="reboot"/>',
    '  <action name="status"/>',
    '  <action name="monitor"/>',
    '  <action name="list"/>',
    '  <action name="metadata"/>',
    '  <action name="validate-all"/>',
    "</actions>",
    "</resource-agent>",
    "",
  ].join("\n");
}

/** The agent itself, a bash script installed at FENCE_AGENT_PATH on every member. */
export function renderFenceAgent(): string {
  return `#!/bin/bash
# ${FENCE_AGENT_NAME}: kvm-cloud's fabric fencing by Ceph's OSD blocklist (made by kvm-cloud's HaCluster).
# Arguments come as key=value lines on stdin (Pacemaker's fencer) or as -o ACTION -n ADDRESS.
set -u
action=reboot; plug=""; ceph_id=${DEFAULT_FENCE_CLIENT}; keyring=""; ceph_conf=/etc/ceph/ceph.conf
arg() {
  case "$1" in
    action=*|option=*) action=\${1#*=} ;;
    plug=*|port=*) plug=\${1#*=} ;;
    ceph_id=*) ceph_id=\${1#*=} ;;
    keyring=*) keyring=\${1#*=} ;;
    ceph_conf=*) ceph_conf=\${1#*=} ;;
  esac
}
if [ $# -gt 0 ]; then
  while [ $# -gt 0 ]; do
    case "$1" in
      -o) action=\${2:-}; shift 2 || shift ;;
      -n) plug=\${2:-}; shift 2 || shift ;;
      --*=*) arg "\${1#--}"; shift ;;
      *) arg "$1"; shift ;;
    esac
  done
elif [ ! -t 0 ]; then
  while IFS= read -r -t 5 line; do arg "$line"; done
fi
fail() { echo "${FENCE_AGENT_NAME}: $*" >&2; exit 1; }
if [ "$action" = metadata ]; then
  printf '%s' ${quote(renderFenceAgentMetadata())}
  exit 0
fi
[[ "$ceph_id" =~ ^[A-Za-z0-9_.-]+$ ]] || fail "ceph_id '$ceph_id' is not a cephx user name"
[ -n "$keyring" ] || keyring=/etc/ceph/ceph.client.$ceph_id.keyring
ceph_() { timeout ${CEPH_SECONDS} ceph --connect-timeout ${CEPH_SECONDS - 5} -c "$ceph_conf" --id "$ceph_id" --keyring "$keyring" "$@"; }
listed() {
  local out
  out=$(ceph_ osd blocklist ls 2>/dev/null) || return 2
  # Entries print as ADDR:PORT/NONCE EXPIRY, with a type prefix (any:, v1:) on some releases.
  printf '%s\\n' "$out" | awk '{print $1}' | sed -E 's/^[a-z0-9]+:([0-9.]+:)/\\1/' | grep -qxF "$plug:0/0"
}
case "$action" in
  monitor|list|validate-all)
    [ "$action" = list ] && exit 0
    [ -r "$keyring" ] || fail "no keyring at $keyring"
    [ "$action" = validate-all ] && exit 0
    ceph_ osd blocklist ls >/dev/null 2>&1 || fail "cannot reach Ceph as client.$ceph_id"
    exit 0 ;;
esac
[[ "$plug" =~ ^[0-9]{1,3}(\\.[0-9]{1,3}){3}$ ]] || fail "plug '$plug' is not an IPv4 address (pcmk_host_map maps node names to addresses)"
case "$action" in
  off|reboot)
    out=$(ceph_ osd blocklist add "$plug:0/0" ${BLOCKLIST_SECONDS} 2>&1) || fail "osd blocklist add $plug:0/0: $out"
    listed || fail "$plug:0/0 is not in the blocklist after adding it"
    echo "${FENCE_AGENT_NAME}: $plug blocklisted" >&2 ;;
  on)
    out=$(ceph_ osd blocklist rm "$plug:0/0" 2>&1) || fail "osd blocklist rm $plug:0/0: $out"
    listed; [ $? -eq 1 ] || fail "$plug:0/0 is still in the blocklist (or Ceph did not answer)"
    echo "${FENCE_AGENT_NAME}: $plug unblocked" >&2 ;;
  status)
    listed; rc=$?
    case $rc in 0) echo "Status: OFF"; exit 2 ;; 1) echo "Status: ON"; exit 0 ;; *) fail "cannot read the blocklist as client.$ceph_id" ;; esac ;;
  *) fail "action '$action' is not one of on, off, reboot, status, monitor, list, metadata, validate-all" ;;
esac
exit 0
`;
}
