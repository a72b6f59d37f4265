/**
 * dnsmasq's lease file: one lease a line,
 * `EXPIRY MAC IP HOSTNAME CLIENT-ID` (`*` where a field is unknown).
 */
export interface DhcpLease {
  /** Expiry as Unix seconds; 0 for infinite leases. */
  readonly expiresAt: number;
  readonly mac: string;
  readonly ip: string;
  readonly hostname?: string;
  readonly clientId?: string;
}

export function parseDnsmasqLeases(text: string): DhcpLease[] {
  const leases: DhcpLease[] = [];
  for (const raw of text.split("\n")) {
    const f = raw.trim().split(/\s+/);
    // DHCPv6 blocks start with a "duid" line; their leases have no MAC.
    if (f.length < 4 || f[0] === "duid" || !/^\d+$/.test(f[0]) || !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(f[1])) {
      continue;
    }
    leases.push({
      expiresAt: Number(f[0]),
      mac: f[1].toLowerCase(),
      ip: f[2],
      hostname: f[3] === "*" ? undefined : f[3],
      clientId: f[4] === undefined || f[4] === "*" ? undefined : f[4],
    });
  }
  return leases;
}

/** The lease of a MAC that is still valid at `nowSeconds`, if any. */
export function leaseForMac(leases: readonly DhcpLease[], mac: string, nowSeconds: number): DhcpLease | undefined {
  const m = mac.toLowerCase();
  return leases.find((l) => l.mac === m && (l.expiresAt === 0 || l.expiresAt > nowSeconds));
}
