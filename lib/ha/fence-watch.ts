import { FENCE_AGENT_NAME } from "./fence-agent";
import { HaClusterPlan } from "./ha-cluster";

/**
 * A member fenced while it was cut off from the others never hears of it:
 * when the link heals, its Pacemaker rejoins and re-announces the "unfenced"
 * mark it had before, so the cluster sees an online member whose every Ceph
 * call fails, and never unfences it. Pacemaker unfences a member that joins
 * fresh. So each member checks itself: its own address in Ceph's blocklist
 * while it holds that old mark means it was fenced behind its back; it then
 * kills its guests (their disks are gone, and a survivor may run them now:
 * none may write again once the entry is lifted) and restarts Pacemaker, and
 * the cluster unfences it as a fresh member. A fresh member waiting to be
 * unfenced has no mark and is left alone.
 * The same holds for a member that came back so fast that the cluster's fence
 * of it completed after it had joined: its Pacemaker hears "we were allegedly
 * just fenced", stops, and stays down (exit 100). The cluster may even unfence
 * it meanwhile (the unfencing was scheduled while it was still a member), and
 * then it stays "pending" for good: seen in the lab with Ceph's monitors slow
 * to take the fence. So a Pacemaker whose last run logged that message is
 * restarted, blocklisted or not; an admin's stop (exit 0) and any other fatal
 * exit are left alone.
 */

export const FENCE_WATCH_PATH = "/usr/local/lib/kvmcloud/fence-watch";
export const FENCE_WATCH_UNIT = "kvmcloud-fence-watch";
/** How often a member checks: a stale member is found within this after it rejoins. */
export const FENCE_WATCH_SECONDS = 10;

export function renderFenceWatch(p: HaClusterPlan): string {
  const client = p.fenceClient!;
  const cases = p.members.map((m) => `  ${m.name}) addr=${m.address} ;;`).join("\n");
  return `#!/bin/bash
# kvm-cloud: restarts this member's Pacemaker when the cluster fenced it behind its back (see lib/ha/fence-watch.ts).
set -u
# With Pacemaker down crm_node cannot answer: Pacemaker's default name for a node is then its host name.
self=$(timeout 10 crm_node -n 2>/dev/null) || self=$(uname -n)
case "$self" in
${cases}
  *) exit 0 ;;
esac
pcmk() { timeout 10 systemctl show pacemaker.service -p "$1" --value 2>/dev/null; }
# Pacemaker's last run ended with "We were allegedly just fenced": its own log says so, not a guess from the exit status.
told_fenced() {
  local id; id=$(pcmk InvocationID)
  [ -n "$id" ] && timeout 20 journalctl --no-pager -o cat "_SYSTEMD_INVOCATION_ID=$id" 2>/dev/null | grep -q 'We were allegedly just fenced'
}
if [ "$(pcmk ActiveState)" = inactive ] && [ "$(pcmk ExecMainStatus)" = 100 ] && told_fenced; then
  # Blocklisted or not: the cluster may have unfenced this member while its Pacemaker was down, and then it never rejoins.
  why="its Pacemaker stayed down after being told it was fenced (exit 100)"
else
  # The mark first, then the blocklist: the cluster's unfencing lifts the entry before it sets the mark, so in this
  # order an unfencing that lands between the two reads is never taken for a fence behind this member's back.
  mark=$(timeout 10 crm_attribute --type status --node "$self" --name '#node-unfenced' --query --quiet 2>/dev/null) || mark=""
  [ -n "$mark" ] || exit 0
  # The agent's own reading of the blocklist: 2 is "off" (fenced), 0 not fenced, 1 Ceph did not answer.
  rc=0; timeout 30 ${FENCE_AGENT_NAME} -o status -n "$addr" --ceph_id=${client} >/dev/null 2>&1 || rc=$?
  [ "$rc" = 2 ] || exit 0
  why="is in Ceph's blocklist but holds its old unfenced mark"
fi
echo "kvm-cloud: $self ($addr) $why: stopping its guests and restarting Pacemaker so that the cluster unfences it"
# By UUID: a domain made by hand may have a name with a space, which the word splitting would break.
for d in $(timeout 20 virsh list --uuid 2>/dev/null); do timeout 20 virsh destroy "$d" || true; done
timeout 120 systemctl restart pacemaker.service
`;
}

/** A oneshot: systemd never starts a second run of it while one is going. */
export function renderFenceWatchService(): string {
  return [
    "[Unit]",
    "Description=kvm-cloud: restart Pacemaker when this member was fenced behind its back",
    "After=pacemaker.service",
    "",
    "[Service]",
    "Type=oneshot",
    `ExecStart=${FENCE_WATCH_PATH}`,
    "TimeoutStartSec=200",
    "",
  ].join("\n");
}

export function renderFenceWatchTimer(): string {
  return [
    "[Unit]",
    `Description=kvm-cloud: check every ${FENCE_WATCH_SECONDS} s whether this member was fenced behind its back`,
    "",
    "[Timer]",
    "OnBootSec=30s",
    `OnUnitInactiveSec=${FENCE_WATCH_SECONDS}s`,
    "AccuracySec=1s",
    "",
    "[Install]",
    "WantedBy=timers.target",
    "",
  ].join("\n");
}
