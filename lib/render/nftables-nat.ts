import { check } from "../validate/errors";
import { intToIp, ipToInt, isIPv4, netmaskToPrefix } from "../validate/network";

/**
 * The VMs' way out: masquerade traffic from the VM network leaving through the
 * uplink. One table of our own, replaced as a whole in one `nft -f`
 * transaction (declare, delete, redefine), so re-applying is idempotent and
 * never touches other tables (e.g. a host firewall in `inet filter`).
 */
export interface NatOptions {
  /** VM network in CIDR form, e.g. 10.77.0.0/16. */
  readonly sourceCidr: string;
  /** Interface the traffic leaves through (the uplink). */
  readonly outInterface: string;
  /** nftables table name (default "kvmcloud_nat"). */
  readonly table?: string;
}

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

export function checkCidr(field: string, cidr: string): void {
  const m = typeof cidr === "string" ? /^([0-9.]+)\/([0-9]{1,2})$/.exec(cidr) : null;
  const ok = !!m && isIPv4(m[1]) && Number(m[2]) <= 32 && ipToInt(m[1]) % 2 ** (32 - Number(m[2])) === 0;
  check(ok, field, cidr, "an IPv4 network in CIDR form with no host bits set, like 10.77.0.0/16");
}

/** Pure: the CIDR of the network an address belongs to under a netmask. */
export function networkCidr(address: string, netmask: string): string {
  const prefix = netmaskToPrefix(netmask);
  const size = 2 ** (32 - prefix);
  return `${intToIp(Math.floor(ipToInt(address) / size) * size)}/${prefix}`;
}

export function renderNatRuleset(o: NatOptions): string {
  checkCidr("sourceCidr", o.sourceCidr);
  check(IFNAME.test(o.outInterface), "outInterface", o.outInterface, "a Linux interface name of 1-15 characters [A-Za-z0-9_.-]");
  const table = o.table ?? "kvmcloud_nat";
  check(/^[a-z][a-z0-9_]{0,30}$/.test(table), "table", table, "an nftables table name of [a-z0-9_] starting with a letter");
  return [
    "# Rendered by kvm-cloud; applied as one transaction with nft -f.",
    `table ip ${table}`,
    `delete table ip ${table}`,
    `table ip ${table} {`,
    "  chain postrouting {",
    "    type nat hook postrouting priority srcnat; policy accept;",
    `    ip saddr ${o.sourceCidr} ip daddr != ${o.sourceCidr} oifname "${o.outInterface}" masquerade`,
    "  }",
    "}",
    "",
  ].join("\n");
}
