import { check } from "../core/errors";
import { uuidFromSeed } from "../core/derived-uuid";
import { buildXml, XmlNode } from "../core/xml";

/**
 * The libvirt network filter (nwfilter) on every VM's interface. Its name is
 * fixed, so that a domain migrates to any node of the cloud; its content is
 * the node's policy:
 * - "clean" (the default): the guest sends only from its MAC and its
 *   address, ARP only for those, QEMU's RARP announce after a migration,
 *   and no other L2 protocol (IPv6 included); no DHCP server replies, which
 *   would hand out addresses to the other guests. These are the rules of
 *   libvirt's own `clean-traffic`, written out in the filter's root chain
 *   (CLEAN_RULES), less its accept of ethertype 0x0835, which no protocol
 *   uses (RARP is 0x8035). clean-traffic spreads them over six sub-chains,
 *   and libvirt builds each chain with a dozen `ebtables` processes at
 *   every start, of 8-9 ms each with Debian 12's nft-based tools: 1.6-1.8 s
 *   of a `virsh start` against 0.85-1.3 s with the root chain alone.
 *   The provider fixes each VM's address before the boot and passes it as
 *   the filter's `IP` parameter, so the rules hold from the first packet
 *   (libvirt learns an address only for a domain defined without one).
 * - "open": an empty filter, for guests that must route or bridge for
 *   others. Every guest on such a node can spoof.
 */
export const GUEST_FILTER = "kvmcloud-guest";
/**
 * libvirt refuses to redefine a filter under another UUID, and one left out
 * is made up at random: the same UUID on every node and every run.
 */
export const GUEST_FILTER_UUID = uuidFromSeed(`kvm-cloud nwfilter ${GUEST_FILTER}`);

export type GuestTraffic = "clean" | "open";
export const GUEST_TRAFFIC: readonly GuestTraffic[] = ["clean", "open"];
export const DEFAULT_GUEST_TRAFFIC: GuestTraffic = "clean";

export function checkGuestTraffic(field: string, v: unknown): asserts v is GuestTraffic {
  check(GUEST_TRAFFIC.includes(v as GuestTraffic), field, v, GUEST_TRAFFIC.map((p) => `"${p}"`).join(" or "));
}

type Direction = "in" | "out" | "inout";

/** One nwfilter rule; "out" is what the guest sends. */
function rule(action: "accept" | "drop", direction: Direction, priority: number, match: XmlNode = { mac: {} }): XmlNode {
  return { "@_action": action, "@_direction": direction, "@_priority": String(priority), ...match };
}

/** QEMU's announce after a migration (RARP), as clean-traffic's qemu-announce-self-rarp admits it. */
const ANNOUNCE = { dstmacaddr: "ff:ff:ff:ff:ff:ff", opcode: "Request_Reverse", arpsrcmacaddr: "$MAC", arpdstmacaddr: "$MAC", arpsrcipaddr: "0.0.0.0", arpdstipaddr: "0.0.0.0" };
const attrs = (o: Record<string, string>): XmlNode => Object.fromEntries(Object.entries(o).map(([k, v]) => [`@_${k}`, v]));

/**
 * The "clean" policy, in priority order (libvirt sorts by it): each drop
 * before the accept it guards. `$MAC` and `$IP` are the interface's own,
 * filled in by libvirt; `match="no"` is a single address's negation, so
 * `IP` must be one address, as the provider passes it.
 */
export const CLEAN_RULES: readonly XmlNode[] = [
  rule("drop", "out", -900, { mac: attrs({ match: "no", srcmacaddr: "$MAC" }) }),
  // DHCP server replies, from whatever address: before the DHCP client's own accept below.
  rule("drop", "out", -800, { ip: attrs({ protocol: "udp", srcportstart: "67", srcportend: "67" }) }),
  // The DHCP client asks before it has an address.
  rule("accept", "out", -790, { ip: attrs({ srcipaddr: "0.0.0.0", protocol: "udp" }) }),
  rule("drop", "out", -780, { ip: attrs({ match: "no", srcipaddr: "$IP" }) }),
  rule("accept", "inout", -700, { mac: attrs({ protocolid: "ipv4" }) }),
  rule("drop", "out", -520, { arp: attrs({ match: "no", arpsrcmacaddr: "$MAC" }) }),
  rule("drop", "out", -510, { arp: attrs({ match: "no", arpsrcipaddr: "$IP" }) }),
  rule("accept", "inout", -500, { mac: attrs({ protocolid: "arp" }) }),
  rule("accept", "out", -400, { rarp: attrs({ srcmacaddr: "$MAC", ...ANNOUNCE }) }),
  rule("accept", "in", -400, { rarp: attrs(ANNOUNCE) }),
  rule("drop", "inout", 1000),
];

/** Pure: the nwfilter XML of the policy. */
export function renderGuestFilterXml(policy: GuestTraffic): string {
  checkGuestTraffic("guestTraffic", policy);
  const filter: XmlNode = { "@_name": GUEST_FILTER, "@_chain": "root", uuid: GUEST_FILTER_UUID };
  return buildXml({ filter: policy === "open" ? filter : { ...filter, rule: [...CLEAN_RULES] } });
}
