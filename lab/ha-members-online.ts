import { inNetns, run, waitFor } from "./exec";
import { LabDescription } from "./description";
import { labSshArgv } from "./ssh-client";
import { hostByName, NODES } from "./topology";

/**
 * A node back from a kill rejoins the HA cluster within seconds; one that was
 * told it was fenced is restarted by its fence watch (every 10 s), and then
 * rejoins too. Two minutes is several times that.
 */
const READY_MS = 120_000;

/** The members Pacemaker (crm_mon's XML on `from`) reports online, and those it does not, with their state. */
export function memberStates(crmMonXml: string): Map<string, string> {
  const states = new Map<string, string>();
  for (const m of crmMonXml.matchAll(/<node name="([^"]+)"([^>]*)>/g)) {
    const attr = (a: string) => new RegExp(`\\b${a}="([^"]*)"`).exec(m[2])?.[1];
    if (attr("online") === undefined) continue; // the <node> of a resource's location, not of the node list
    const state = attr("online") === "true" ? "online" : attr("pending") === "true" ? "pending" : attr("unclean") === "true" ? "unclean" : "offline";
    states.set(m[1], state);
  }
  return states;
}

/**
 * Every KVM node is an online member of the HA cluster, as the first node's
 * Pacemaker sees it: a lab that says "up" while a member is still pending
 * hands its user a cluster that cannot fence or recover that node.
 */
export async function haMembersOnline(ssh: Pick<LabDescription["ssh"], "privateKeyPath" | "knownHostsPath" | "port" | "user">): Promise<void> {
  const from = NODES[0];
  await waitFor(
    `Pacemaker on ${from.name} to see ${NODES.map((n) => n.name).join(" and ")} online ('crm_mon -1' on a node says where that stands; a member's fence watch is 'journalctl -u kvmcloud-fence-watch')`,
    async () => {
      const r = await run(inNetns(hostByName("mgr").ns, labSshArgv(ssh, from.address, ["timeout", "20", "crm_mon", "-1", "--output-as=xml"])), { allowFail: true, timeoutMs: 30_000 });
      if (r.code !== 0) throw new Error(`crm_mon on ${from.name}: ${r.stderr.trim().split("\n").pop()}`);
      const states = memberStates(r.stdout);
      const notOnline = NODES.filter((n) => states.get(n.name) !== "online").map((n) => `${n.name} ${states.get(n.name) ?? "unknown"}`);
      if (notOnline.length > 0) throw new Error(`not online: ${notOnline.join(", ")}`);
      return true;
    },
    READY_MS,
    2_000,
  );
}
