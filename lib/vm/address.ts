import { ipToInt, intToIp } from "../core/network";

/** The addresses the provider hands out: the DHCP host's range, both ends included. */
export interface AddressRange {
  readonly start: string;
  readonly end: string;
}

/**
 * The lowest address of the range that nothing holds. `taken` is every
 * address that is spoken for: other VMs' rows (reserved ones included) and
 * the DHCP host's current leases (clients that are not VMs of this cloud).
 * Deterministic, so two runs over the same facts agree; the placement lock
 * keeps two creates from choosing at once.
 */
export function pickAddress(range: AddressRange, taken: Iterable<string>): string {
  const used = new Set<number>();
  for (const ip of taken) used.add(ipToInt(ip));
  const first = ipToInt(range.start);
  const last = ipToInt(range.end);
  for (let n = first; n <= last; n++) {
    if (!used.has(n)) return intToIp(n);
  }
  const size = last - first + 1;
  throw new Error(`no free address in the DHCP range ${range.start}-${range.end}: all ${size} are held by VMs or current leases (cloud.dhcp.range; widen the range or delete VMs)`);
}

/**
 * Pure: one dnsmasq dhcp-hostsdir file. dnsmasq then answers this MAC only
 * with this address and name, which is what lets the node's traffic filter
 * know the guest's address before its first packet.
 */
export function renderDhcpHostEntry(e: { readonly mac: string; readonly ip: string; readonly name: string }): string {
  return `${e.mac.toLowerCase()},${e.ip},${e.name}\n`;
}
