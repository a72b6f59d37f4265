import { HaClusterPlan } from "./ha-cluster";

/** Where Debian's corosync reads its config and its key. */
export const COROSYNC_CONF_PATH = "/etc/corosync/corosync.conf";
export const COROSYNC_AUTHKEY_PATH = "/etc/corosync/authkey";
/** corosync-qnetd's TCP port (its default): the nodes' qdevice connects to it. */
export const QNETD_PORT = 5403;

/**
 * Pure: corosync.conf for every member (the same text on each). knet with
 * the authkey's encryption and authentication; one link on the members'
 * addresses; votequorum with the quorum device when there is one, else
 * two_node for a pair (which then relies on fencing to settle a split).
 */
export function renderCorosyncConf(p: HaClusterPlan): string {
  const lines = [
    "# Rendered by kvm-cloud; edits are overwritten.",
    "totem {",
    "    version: 2",
    `    cluster_name: ${p.clusterName}`,
    "    transport: knet",
    // The authkey is both: without a cipher, knet would only sign.
    "    crypto_cipher: aes256",
    "    crypto_hash: sha256",
    `    keyfile: ${COROSYNC_AUTHKEY_PATH}`,
    `    token: ${p.tokenMs}`,
    "}",
    "",
    "nodelist {",
  ];
  p.members.forEach((m, i) => {
    lines.push("    node {", `        name: ${m.name}`, `        nodeid: ${i + 1}`, `        ring0_addr: ${m.address}`, "    }");
  });
  lines.push("}", "", "quorum {", "    provider: corosync_votequorum");
  if (p.quorumDeviceAddress !== undefined) {
    lines.push(
      "    device {",
      "        model: net",
      "        votes: 1",
      "        net {",
      `            host: ${p.quorumDeviceAddress}`,
      `            port: ${QNETD_PORT}`,
      // fifty-fifty split: the half holding the lowest node id (or still talking to qnetd) keeps quorum.
      "            algorithm: ffsplit",
      // qnetd's CA signed the cluster's certificate (lib/ha/qdevice-tls.ts): no link without it.
      "            tls: required",
      "        }",
      "    }",
    );
  } else if (p.members.length === 2) {
    lines.push("    two_node: 1");
  }
  lines.push("}", "", "logging {", "    to_logfile: no", "    to_syslog: yes", "    timestamp: on", "}");
  return lines.join("\n") + "\n";
}
