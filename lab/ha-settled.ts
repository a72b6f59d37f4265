import { inNetns, run, waitFor } from "./exec";
import { LabDescription } from "./description";
import { labSshArgv } from "./ssh-client";
import { hostByName, NODES } from "./topology";
import { MemberStatus, parseClusterView } from "../lib/ha/crm-mon";

/**
 * A node back from a kill rejoins the HA cluster within seconds; one that was
 * told it was fenced is restarted by its fence watch (every 10 s), and then
 * rejoins and is unfenced. Two minutes is several times that.
 */
const READY_MS = 120_000;

/** An attribute's value in the attribute text of one crm_mon XML element. */
const xmlAttr = (attrs: string, name: string): string | undefined => new RegExp(`\\b${name}="([^"]*)"`).exec(attrs)?.[1];

/** The members Pacemaker (crm_mon's XML) reports online, and those it does not, with their state; none in output that is not crm_mon's. */
export function memberStates(crmMonXml: string): Map<string, string> {
  let members: readonly MemberStatus[];
  try {
    members = parseClusterView(crmMonXml).members;
  } catch {
    return new Map();
  }
  return new Map(members.map((m) => [m.name, m.online ? "online" : m.pending ? "pending" : m.unclean ? "unclean" : "offline"]));
}

export interface FenceEvent {
  readonly action: string;
  readonly target: string;
  /** "success", "failed" or "pending". */
  readonly status: string;
  /** crm_mon's "YYYY-MM-DD hh:mm:ssZ" (sorts as text); absent while pending. */
  readonly completed?: string;
}

/** The fencing history in crm_mon's XML, in its order (newest first). */
export function fenceEvents(crmMonXml: string): FenceEvent[] {
  return [...crmMonXml.matchAll(/<fence_event\b([^>]*)\/?>/g)].map((m) => {
    const attr = (a: string) => xmlAttr(m[1], a);
    return { action: attr("action") ?? "", target: attr("target") ?? "", status: attr("status") ?? "", completed: attr("completed") };
  });
}

/**
 * Why the cluster is not settled for `members`, one line each; none when it is.
 * Online is not enough: a member that came back before the cluster's fence of
 * it completed shows online until the fence lands, and then its Pacemaker
 * stops (its fence watch restarts it). So each member must also have no fence
 * pending and, since this cluster's fence device requires unfencing, its
 * newest completed fence action must be the unfencing ("on").
 */
export function unsettled(crmMonXml: string, members: readonly string[]): string[] {
  const states = memberStates(crmMonXml);
  const events = fenceEvents(crmMonXml);
  const why: string[] = [];
  for (const name of members) {
    const state = states.get(name) ?? "unknown";
    if (state !== "online") why.push(`${name} ${state}`);
    const mine = events.filter((e) => e.target === name);
    const pending = mine.find((e) => e.status === "pending");
    if (pending) {
      why.push(`${name}: fencing (${pending.action}) in progress`);
      continue;
    }
    // Stable sort, newest first: crm_mon's own order breaks a tie within a second.
    const newest = mine.filter((e) => e.status === "success" && e.completed).sort((a, b) => (b.completed! > a.completed! ? 1 : b.completed! < a.completed! ? -1 : 0))[0];
    if (!newest) why.push(`${name}: never unfenced`);
    else if (newest.action !== "on") why.push(`${name}: fenced (${newest.action}) at ${newest.completed}, not unfenced since`);
  }
  return why;
}

/**
 * Every KVM node is an online, unfenced member of the HA cluster with no
 * fencing under way, as the first node's Pacemaker sees it: a lab that says
 * "up" before then hands its user a node whose guests the cluster's late fence
 * (and the node's fence watch) is about to stop.
 */
export async function haSettled(ssh: Pick<LabDescription["ssh"], "privateKeyPath" | "knownHostsPath" | "port" | "user">): Promise<void> {
  const from = NODES[0];
  const crmMon = ["timeout", "20", "crm_mon", "-1", "--output-as=xml", "--include=fencing-pending,fencing-succeeded"];
  // Two settled reads in a row, 2 s apart: a member caught between its join and the scheduler's next transition may look settled once.
  let settledReads = 0;
  await waitFor(
    `Pacemaker on ${from.name} to see ${NODES.map((n) => n.name).join(" and ")} online, unfenced and with no fencing under way ('crm_mon -1 -m' on a node says where that stands; a member's fence watch is 'journalctl -u kvmcloud-fence-watch')`,
    async () => {
      const r = await run(inNetns(hostByName("mgr").ns, labSshArgv(ssh, from.address, crmMon)), { allowFail: true, timeoutMs: 30_000 });
      if (r.code !== 0) throw new Error(`crm_mon on ${from.name}: ${r.stderr.trim().split("\n").pop()}`);
      const why = unsettled(r.stdout, NODES.map((n) => n.name));
      settledReads = why.length === 0 ? settledReads + 1 : 0;
      if (why.length > 0) throw new Error(why.join("; "));
      if (settledReads < 2) return undefined;
      return true;
    },
    READY_MS,
    2_000,
  );
}
