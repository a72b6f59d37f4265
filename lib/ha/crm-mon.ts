import { parseXml, asArray, XmlNode } from "../core/xml";
import { check } from "../core/errors";
import { vmResourceId } from "./virtual-domain";

/**
 * Pure: what `crm_mon --one-shot --inactive --output-as=xml` (Pacemaker 2.1)
 * says of the cluster's members and of one VM's resource. Read with an XML
 * parser: a resource's <node> and the node list's <node> share a name.
 */

/** A cluster member as `crm_mon --output-as=xml` reports it. */
export interface MemberStatus {
  readonly name: string;
  readonly online: boolean;
  readonly standby: boolean;
  /** In the cluster layer, its controller not yet joined. */
  readonly pending: boolean;
  /** Lost and not yet fenced: nothing of it may be trusted. */
  readonly unclean: boolean;
}

/** Where the resource runs and what its members are, from `crm_mon --one-shot --output-as=xml`. */
export interface ClusterView {
  readonly members: readonly MemberStatus[];
  /** Nodes the resource has started on (role Started): none, or one once a start or migration has finished. */
  readonly runningOn: readonly string[];
  /** Pacemaker's role of the resource ("Starting", "Started", "Migrating", "Stopped", ...); undefined when the CIB has none. */
  readonly role?: string;
  /** Failed operations of the resource, as crm_mon words them, newest last. */
  readonly failures: readonly string[];
}

const attr = (n: XmlNode | undefined, k: string): string | undefined => {
  const v = (n as Record<string, unknown> | undefined)?.[`@_${k}`];
  return v === undefined ? undefined : String(v);
};

/** Reads crm_mon's XML (for one VM's resource, when `vm` is given); throws when it is not crm_mon's answer. */
export function parseClusterView(xmlText: string, vm?: string): ClusterView {
  const doc = parseXml(xmlText) as Record<string, XmlNode>;
  const root = (doc["pacemaker-result"] ?? doc["crm_mon"]) as Record<string, XmlNode> | undefined;
  check(root !== undefined, "crm_mon output", xmlText.slice(0, 200), "crm_mon --output-as=xml's <pacemaker-result>");
  const nodes = asArray((root!.nodes as Record<string, XmlNode> | undefined)?.node) as XmlNode[];
  const members = nodes.map((n) => ({
    name: attr(n, "name") ?? "",
    online: attr(n, "online") === "true",
    standby: attr(n, "standby") === "true",
    pending: attr(n, "pending") === "true",
    unclean: attr(n, "unclean") === "true",
  }));
  const id = vm === undefined ? undefined : vmResourceId(vm);
  const resources = asArray((root!.resources as Record<string, XmlNode> | undefined)?.resource) as XmlNode[];
  const mine = id === undefined ? undefined : resources.find((r) => attr(r, "id") === id);
  // "Starting" is active too, but the guest is not up until the start has returned.
  const started = mine !== undefined && attr(mine, "active") === "true" && attr(mine, "role") === "Started";
  const runningOn = started ? (asArray((mine as Record<string, XmlNode>).node) as XmlNode[]).map((n) => attr(n, "name") ?? "") : [];
  const failed = asArray((root!.failures as Record<string, XmlNode> | undefined)?.failure) as XmlNode[];
  const failures = failed
    .filter((f) => id !== undefined && attr(f, "op_key")?.startsWith(`${id}_`))
    .map((f) => `${attr(f, "op_key")} on ${attr(f, "node")}: ${attr(f, "exitstatus")}${attr(f, "exitreason") ? ` (${attr(f, "exitreason")})` : ""}`);
  return { members, runningOn, failures, ...(mine !== undefined ? { role: attr(mine, "role") } : {}) };
}

/** Why `node` cannot take the VM now, or undefined when it can. */
export function memberRefusal(view: ClusterView, node: string): string | undefined {
  const m = view.members.find((x) => x.name === node);
  if (!m) return `${node} is not a member of the HA cluster (members: ${view.members.map((x) => x.name).join(", ") || "none"})`;
  if (m.unclean) return `${node} is lost and not yet fenced (unclean)`;
  if (!m.online) return `${node} is offline in the HA cluster`;
  if (m.standby) return `${node} is in standby (drained)`;
  return undefined;
}
