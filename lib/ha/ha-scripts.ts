import { aptInstallStep, bashScript, enableServiceStep, readLineStep, serviceRunningStep, writeFileStep, writeKeyringStep } from "../core/script";
import { quote } from "../core/shell";
import { COROSYNC_AUTHKEY_PATH, COROSYNC_CONF_PATH, renderCorosyncConf } from "./corosync-conf";
import { FENCE_AGENT_PATH, fenceClientKeyringPath, renderFenceAgent } from "./fence-agent";
import { renderFenceDevicePrimitive } from "./fence-device";
import { ALERT_PACKAGES, alertAgentSteps, alertCibStep } from "./ha-alert";
import { FENCE_WATCH_PATH, FENCE_WATCH_UNIT, renderFenceWatch, renderFenceWatchService, renderFenceWatchTimer } from "./fence-watch";
import { HaClusterPlan } from "./ha-cluster";
import { qdeviceTlsSteps } from "./qdevice-tls";

/** What a member runs: Corosync, its quorum device client, Pacemaker and its command-line tools. */
export function memberPackages(p: HaClusterPlan): string[] {
  return ["corosync", "pacemaker", "pacemaker-cli-utils", ...(p.quorumDeviceAddress !== undefined ? ["corosync-qdevice"] : []), ...(p.alerts ? ALERT_PACKAGES : [])];
}

export const QNETD_PACKAGES = ["corosync-qnetd"] as const;

/** How often a change to Pacemaker's CIB is tried, 2 s apart, while it has no DC or no quorum yet. */
const CIB_TRIES = 90;

/**
 * A member's script: packages, the authkey (stdin's first line: a secret,
 * never on a command line), with a quorum device its TLS material (the next
 * two lines), corosync.conf (checked by corosync first), the
 * stack restarted only when either changed, and Pacemaker's cluster
 * properties: fencing required, so that nothing is recovered before its node
 * is fenced. With a fence client (its key on stdin's next line): the fence
 * agent, its keyring and the fence device in the CIB. With alerts (the
 * inventory's access on stdin's last line): kvm-cloud's alert agent and its
 * alert in the CIB.
 */
export function renderHaMemberScript(p: HaClusterPlan): string {
  const conf = renderCorosyncConf(p);
  // In start order: Pacemaker runs on Corosync, the quorum device client beside it.
  const units = ["corosync.service", ...(p.quorumDeviceAddress !== undefined ? ["corosync-qdevice.service"] : []), "pacemaker.service"];
  return bashScript(`Corosync and Pacemaker member of cluster ${p.clusterName}`, [
    aptInstallStep(memberPackages(p)),
    "changed=0",
    readLineStep("authkey"),
    ...(p.quorumDeviceAddress !== undefined ? qdeviceTlsSteps() : []),
    ...(p.fenceClient !== undefined ? fenceAgentSteps(p.fenceClient) : []),
    ...(p.alerts ? alertAgentSteps() : []),
    // corosync wants at least 1024 bits of key: 128 bytes.
    '[ "${#authkey}" -ge 128 ] || { echo "kvm-cloud: the corosync authkey on stdin is shorter than 128 bytes" >&2; exit 1; }',
    `tmp=$(umask 077 && mktemp ${quote(`${COROSYNC_AUTHKEY_PATH.replace(/\/[^/]+$/, "")}/.authkey.XXXXXX`)})`,
    'printf \'%s\' "$authkey" > "$tmp"',
    `if cmp -s "$tmp" ${quote(COROSYNC_AUTHKEY_PATH)}; then rm -f "$tmp"; else chmod 0400 "$tmp"; mv -f "$tmp" ${quote(COROSYNC_AUTHKEY_PATH)}; changed=1; fi`,
    writeFileStep(COROSYNC_CONF_PATH, conf, { check: (tmp) => `corosync -t -c ${tmp} >/dev/null`, onChange: ["changed=1"] }),
    // A running member picks a new config or key up only on restart (the cluster's resources move meanwhile).
    `if [ "$changed" = 1 ]; then ${units.map((u) => `systemctl restart ${u}`).join("; ")}; fi`,
    ...units.map(enableServiceStep),
    ...units.map(serviceRunningStep),
    // Bounded: Pacemaker takes a change to its CIB only once it has a DC and quorum.
    "with_cib() {",
    `  for _ in $(seq ${CIB_TRIES}); do`,
    '    if "$@" >/dev/null 2>&1; then return 0; fi',
    "    sleep 2",
    "  done",
    `  echo "kvm-cloud: Pacemaker took no change to its CIB after ${CIB_TRIES * 2} s (no quorum, or no DC):" >&2`,
    "  crm_mon -1 >&2 || true",
    // Once more, so that the daemon's own error reaches the user.
    '  "$@" >&2',
    "  exit 1",
    "}",
    'set_property() { with_cib crm_attribute --type crm_config --name "$1" --update "$2"; }',
    "set_property stonith-enabled true",
    ...(p.fenceClient !== undefined ? [...fenceDeviceSteps(p), ...fenceWatchSteps(p)] : []),
    ...(p.alerts ? [alertCibStep()] : []),
  ]);
}

function fenceAgentSteps(clientName: string): string[] {
  return [
    readLineStep("fence_key"),
    writeKeyringStep(fenceClientKeyringPath(clientName), [{ entity: `client.${clientName}`, keyVariable: "fence_key" }]),
    // The fencer reads an agent's metadata when it registers the device: the agent comes first.
    writeFileStep(FENCE_AGENT_PATH, renderFenceAgent(), { mode: "0755" }),
    `${FENCE_AGENT_PATH} -o validate-all`,
  ];
}

function fenceWatchSteps(p: HaClusterPlan): string[] {
  const unit = (suffix: string) => `/etc/systemd/system/${FENCE_WATCH_UNIT}.${suffix}`;
  return [
    "units_changed=0",
    writeFileStep(FENCE_WATCH_PATH, renderFenceWatch(p), { mode: "0755" }),
    writeFileStep(unit("service"), renderFenceWatchService(), { onChange: ["units_changed=1"] }),
    writeFileStep(unit("timer"), renderFenceWatchTimer(), { onChange: ["units_changed=1"] }),
    'if [ "$units_changed" = 1 ]; then systemctl daemon-reload; fi',
    enableServiceStep(`${FENCE_WATCH_UNIT}.timer`),
  ];
}

/** Idempotent on every member: --modify --allow-create makes the device or updates it in place, leaving other resources alone. */
function fenceDeviceSteps(p: HaClusterPlan): string[] {
  const xml = renderFenceDevicePrimitive({ members: p.members, clientName: p.fenceClient! });
  return [`with_cib cibadmin --modify --allow-create --scope resources --xml-text ${quote(xml)}`];
}

/** qnetd takes TLS clients only: a client without the certificate its CA signed gets no say in any cluster. */
const QNETD_DEFAULTS = 'COROSYNC_QNETD_OPTIONS="-s req"\nCOROSYNC_QNETD_RUNAS=""\n';

/** The quorum device host: corosync-qnetd, which votes for one half of a split cluster. */
export function renderQnetdScript(): string {
  return bashScript("corosync-qnetd, the quorum device of kvm-cloud's HA cluster", [
    aptInstallStep([...QNETD_PACKAGES]),
    writeFileStep("/etc/default/corosync-qnetd", QNETD_DEFAULTS, { onChange: ["systemctl restart corosync-qnetd.service"] }),
    enableServiceStep("corosync-qnetd.service"),
    serviceRunningStep("corosync-qnetd.service"),
  ]);
}
