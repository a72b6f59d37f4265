import { check } from "../core/errors";
import { uuidFromSeed } from "../core/derived-uuid";
import { buildXml } from "../core/xml";

/**
 * The libvirt network filter (nwfilter) on every VM's interface. Its name is
 * fixed, so that a domain migrates to any node of the cloud; its content is
 * the node's policy:
 * - "clean" (the default): libvirt's own `clean-traffic` (the guest sends
 *   only from its MAC and its address, ARP only for those, no other L2
 *   protocols; IPv6 included) plus a drop of DHCP server replies, which
 *   clean-traffic lets through from the guest's own address: a guest
 *   running a DHCP server would otherwise hand out addresses to the others.
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

/** Pure: the nwfilter XML of the policy. */
export function renderGuestFilterXml(policy: GuestTraffic): string {
  checkGuestTraffic("guestTraffic", policy);
  if (policy === "open") {
    return buildXml({ filter: { "@_name": GUEST_FILTER, "@_chain": "root", uuid: GUEST_FILTER_UUID } });
  }
  return buildXml({
    filter: {
      "@_name": GUEST_FILTER,
      "@_chain": "root",
      uuid: GUEST_FILTER_UUID,
      filterref: { "@_filter": "clean-traffic" },
      // Before clean-traffic's own IPv4 chain (priority -710), which would accept it.
      rule: { "@_action": "drop", "@_direction": "out", "@_priority": "-720", ip: { "@_protocol": "udp", "@_srcportstart": "67", "@_srcportend": "67" } },
    },
  });
}
