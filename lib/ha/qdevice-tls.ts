import { bashScript, readLineStep } from "../core/script";
import { quote } from "../core/shell";

/**
 * TLS between the members' corosync-qdevice and corosync-qnetd: qnetd's own
 * CA (which Debian's corosync-qnetd makes on install) signs one cluster
 * certificate, and every member holds that certificate and its key, so qnetd
 * counts only votes of clusters it certified, and a member talks only to the
 * qnetd its CA names. The steps are those of corosync-qdevice-net-certutil,
 * with the node side done once on the qnetd host, so that the key goes to
 * the members as a Pulumi secret on stdin instead of over SSH between hosts.
 */

const QNETD_DB = "/etc/corosync/qnetd/nssdb";
const NODE_DB = "/etc/corosync/qdevice/net/nssdb";
/** Nicknames corosync-qdevice looks certificates up by (its defaults). */
const CLUSTER_NICKNAME = "Cluster Cert";
/** The material as received, kept to tell whether it changed. */
const KEPT_DIR = "/etc/kvmcloud/qdevice";

/**
 * Run on the qnetd host (after corosync-qnetd is installed): makes a key and a
 * certificate request for the cluster in a throw-away NSS database, has
 * qnetd's CA sign it, and prints two lines on stdout, nothing else: the CA
 * certificate and the PKCS#12 bundle of the cluster's certificate with its
 * key, each base64 on one line. A secret: the bundle holds the key.
 */
export function renderQdeviceCertScript(clusterName: string): string {
  const crt = `${QNETD_DB}/cluster-${clusterName}.crt`;
  return bashScript(`TLS certificate of cluster ${clusterName} for corosync-qdevice, signed by corosync-qnetd's CA`, [
    "exec 3>&1 1>&2",
    `[ -s ${quote(`${QNETD_DB}/qnetd-cacert.crt`)} ] || corosync-qnetd-certutil -i`,
    "work=$(mktemp -d)",
    "trap 'rm -rf \"$work\"' EXIT",
    'certutil -N -d "$work" --empty-password',
    'head -c 64 /dev/urandom > "$work/noise"',
    `certutil -R -s ${quote(`CN=${clusterName}`)} -o "$work/req.crq" -d "$work" -z "$work/noise" >/dev/null`,
    `corosync-qnetd-certutil -s -c "$work/req.crq" -n ${quote(clusterName)} >/dev/null`,
    `certutil -d "$work" -A -t u,u,u -n ${quote(CLUSTER_NICKNAME)} -i ${quote(crt)}`,
    `pk12util -d "$work" -o "$work/node.p12" -W '' -n ${quote(CLUSTER_NICKNAME)} >/dev/null`,
    `base64 -w0 ${quote(`${QNETD_DB}/qnetd-cacert.crt`)} >&3`,
    "echo >&3",
    'base64 -w0 "$work/node.p12" >&3',
    "echo >&3",
  ]);
}

/**
 * A member's steps (inside its script, before Corosync restarts): read the CA
 * and the bundle from stdin and, when either changed or the node database
 * lacks them, build the database anew the way corosync-qdevice-net-certutil
 * does (-i, then -m). Sets changed=1 so that the qdevice restarts.
 */
export function qdeviceTlsSteps(): string[] {
  return [
    readLineStep("qdevice_ca"),
    readLineStep("qdevice_p12"),
    `install -d -m 0700 ${quote(KEPT_DIR)}`,
    `kept_ca=${quote(`${KEPT_DIR}/qnetd-cacert.crt`)}; kept_p12=${quote(`${KEPT_DIR}/cluster.p12`)}`,
    'new_ca=$(mktemp); new_p12=$(umask 077 && mktemp)',
    'printf \'%s\' "$qdevice_ca" | base64 -d > "$new_ca"',
    'printf \'%s\' "$qdevice_p12" | base64 -d > "$new_p12"',
    `if ! cmp -s "$new_ca" "$kept_ca" || ! cmp -s "$new_p12" "$kept_p12" || ! certutil -L -d ${quote(NODE_DB)} -n ${quote(CLUSTER_NICKNAME)} >/dev/null 2>&1; then`,
    `  rm -rf ${quote(NODE_DB)}`,
    '  corosync-qdevice-net-certutil -i -c "$new_ca" >/dev/null',
    '  corosync-qdevice-net-certutil -m -c "$new_p12" >/dev/null',
    '  mv -f "$new_ca" "$kept_ca"; mv -f "$new_p12" "$kept_p12"',
    "  changed=1",
    "fi",
    'rm -f "$new_ca" "$new_p12"',
  ];
}
