import { parseDnsmasqLeases } from "../../dnsmasq/leases";
import { CommandRunner } from "../../transport/command-runner";
import { ipToInt } from "../../core/network";
import { DhcpSnapshot } from "./snapshot";

export interface DhcpRange {
  readonly start: string;
  readonly end: string;
}

export function rangeSize(r: DhcpRange): number {
  return ipToInt(r.end) - ipToInt(r.start) + 1;
}

/** Pure: leases still valid at nowSeconds whose address lies in the range. */
export function countActiveLeases(leaseText: string, range: DhcpRange, nowSeconds: number): DhcpSnapshot {
  const lo = ipToInt(range.start);
  const hi = ipToInt(range.end);
  const active = parseDnsmasqLeases(leaseText).filter((l) => {
    if (l.expiresAt !== 0 && l.expiresAt <= nowSeconds) return false;
    const n = ipToInt(l.ip);
    return n >= lo && n <= hi;
  });
  // One address may appear twice while dnsmasq rewrites the file; count addresses.
  return { activeLeases: new Set(active.map((l) => l.ip)).size, rangeSize: rangeSize(range) };
}

/** Reads the lease file on the DHCP host. */
export async function collectDhcp(r: CommandRunner, leaseFile: string, range: DhcpRange, nowSeconds: number, timeoutMs: number): Promise<DhcpSnapshot> {
  const text = (await r.run(["cat", "--", leaseFile], { timeoutMs })).stdout;
  return countActiveLeases(text, range, nowSeconds);
}
