import { check } from "./errors";
import { checkPort } from "./network";
import { checkClientNetworks } from "./cidr";
import { tablePreamble } from "./nftables";

/**
 * Who may reach a host's service ports: TCP to those ports from any source
 * outside the allowed networks is answered with a reset, everything else is
 * left alone. One table of our own, replaced as a whole in one `nft -f`
 * transaction (declare, delete, redefine), so re-applying is idempotent and
 * never touches other tables. Used on the database host, where the guests
 * share the network with the hosts that need the inventory.
 */
export interface ClientFilterOptions {
  /** Networks (CIDR) allowed to connect, e.g. ["10.77.0.2/32"]. At least one. */
  readonly allowed: readonly string[];
  /** The TCP ports guarded. At least one. */
  readonly ports: readonly number[];
  /** nftables table name (default "kvmcloud_clients"). */
  readonly table?: string;
}

export function renderClientFilter(o: ClientFilterOptions): string {
  checkClientNetworks("allowed", o.allowed);
  check(Array.isArray(o.ports) && o.ports.length > 0, "ports", o.ports, "a non-empty list of TCP ports");
  o.ports.forEach((p, i) => checkPort(`ports[${i}]`, p));
  const table = o.table ?? "kvmcloud_clients";
  const ports = [...o.ports].sort((a, b) => a - b).join(", ");
  return [
    ...tablePreamble("inet", table),
    `table inet ${table} {`,
    "  set allowed {",
    // auto-merge: overlapping networks in the list are one range, not an error.
    "    type ipv4_addr; flags interval; auto-merge;",
    `    elements = { ${[...o.allowed].join(", ")} }`,
    "  }",
    "  chain input {",
    "    type filter hook input priority filter; policy accept;",
    // Loopback stays open: the host's own tools (psql as postgres, redis-cli) use it.
    '    iifname "lo" accept',
    `    tcp dport { ${ports} } ip saddr != @allowed reject with tcp reset`,
    // IPv6 clients are not in the list: none gets in.
    `    tcp dport { ${ports} } meta nfproto ipv6 reject with tcp reset`,
    "  }",
    "}",
    "",
  ].join("\n");
}
