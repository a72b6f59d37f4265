import { check } from "../core/errors";
import { checkCidr } from "../core/cidr";
import { checkIfName } from "../core/network";
import { tablePreamble } from "../core/nftables";

export { networkCidr } from "../core/cidr";

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

export function renderNatRuleset(o: NatOptions): string {
  checkCidr("sourceCidr", o.sourceCidr);
  checkIfName("outInterface", o.outInterface);
  const table = o.table ?? "kvmcloud_nat";
  return [
    ...tablePreamble("ip", table),
    `table ip ${table} {`,
    "  chain postrouting {",
    "    type nat hook postrouting priority srcnat; policy accept;",
    `    ip saddr ${o.sourceCidr} ip daddr != ${o.sourceCidr} oifname "${o.outInterface}" masquerade`,
    "  }",
    "}",
    "",
  ].join("\n");
}
