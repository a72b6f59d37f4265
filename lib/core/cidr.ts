import { check } from "./errors";
import { intToIp, ipToInt, isIPv4, netmaskToPrefix } from "./network";

/** IPv4 networks in CIDR form: checks and arithmetic. */

export function isCidr(cidr: unknown): cidr is string {
  const m = typeof cidr === "string" ? /^([0-9.]+)\/([0-9]{1,2})$/.exec(cidr) : null;
  return !!m && isIPv4(m[1]) && Number(m[2]) <= 32 && ipToInt(m[1]) % 2 ** (32 - Number(m[2])) === 0;
}

export function checkCidr(field: string, cidr: unknown): asserts cidr is string {
  check(isCidr(cidr), field, cidr, "an IPv4 network in CIDR form with no host bits set, like 10.77.0.0/16");
}

/** True when ip lies inside cidr. */
export function inCidr(ip: string, cidr: string): boolean {
  const [net, bits] = cidr.split("/");
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ipToInt(ip) / size) === Math.floor(ipToInt(net) / size);
}

/** The CIDR of the network an address belongs to under a netmask. */
export function networkCidr(address: string, netmask: string): string {
  const prefix = netmaskToPrefix(netmask);
  const size = 2 ** (32 - prefix);
  return `${intToIp(Math.floor(ipToInt(address) / size) * size)}/${prefix}`;
}

/** A list of networks allowed to reach a service: at least one, each in CIDR form. */
export function checkClientNetworks(field: string, allowed: unknown): void {
  check(Array.isArray(allowed) && allowed.length > 0, field, allowed, "a non-empty list of networks in CIDR form, like 10.0.0.2/32");
  (allowed as unknown[]).forEach((c, i) => checkCidr(`${field}[${i}]`, c));
}
