import { check } from "./errors";

/** Pure checks and arithmetic on IPv4 addresses, MACs, DNS names and UUIDs. */

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** A lower-case UUID, as libvirt and Ceph print them. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isIPv4(s: unknown): s is string {
  return typeof s === "string" && IPV4.test(s);
}

export function ipToInt(ip: string): number {
  return ip.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

export function prefixToNetmask(prefix: number): string {
  return intToIp(prefix === 0 ? 0 : 2 ** 32 - 2 ** (32 - prefix));
}

export function netmaskToPrefix(mask: string): number {
  const n = ipToInt(mask);
  let prefix = 0;
  while (prefix < 32 && Math.floor(n / 2 ** (31 - prefix)) % 2 === 1) {
    prefix++;
  }
  return prefix;
}

export function isNetmask(s: unknown): s is string {
  return isIPv4(s) && prefixToNetmask(netmaskToPrefix(s)) === s;
}

/** True when a and b are in the same network under netmask. */
export function sameSubnet(a: string, b: string, netmask: string): boolean {
  const m = ipToInt(netmask);
  const and = (x: number) => Number((BigInt(x) & BigInt(m)).toString());
  return and(ipToInt(a)) === and(ipToInt(b));
}

export function isMac(s: unknown): s is string {
  return typeof s === "string" && MAC.test(s);
}

export function isDnsLabel(s: unknown): s is string {
  return typeof s === "string" && LABEL.test(s);
}

export function isDomain(s: unknown): s is string {
  return typeof s === "string" && s.length <= 253 && s.split(".").every((l) => LABEL.test(l));
}

export function checkIPv4(field: string, v: unknown): asserts v is string {
  check(isIPv4(v), field, v, "an IPv4 address like 192.0.2.10");
}

/** Two IPv4 addresses that bound a range, the end not below the start. */
export function checkIPv4Range(startField: string, start: unknown, endField: string, end: unknown): void {
  checkIPv4(startField, start);
  checkIPv4(endField, end);
  check(ipToInt(start) <= ipToInt(end), endField, end, `an address not below ${startField} ${start}`);
}

export function checkMac(field: string, v: unknown): asserts v is string {
  check(isMac(v), field, v, "a lower-case MAC address like 52:54:00:ab:cd:ef");
}

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

/** A Linux interface name; a regex test alone would read undefined as the text "undefined", a valid name. */
export function checkIfName(field: string, v: unknown): asserts v is string {
  check(typeof v === "string" && IFNAME.test(v), field, v, "a Linux interface name of 1-15 characters [A-Za-z0-9_.-]");
}

export function checkDnsLabel(field: string, v: unknown): asserts v is string {
  check(isDnsLabel(v), field, v, "a DNS label: 1-63 characters of [a-z0-9-], not starting or ending with '-'");
}

export function checkDomain(field: string, v: unknown): asserts v is string {
  check(isDomain(v), field, v, "a DNS domain of dot-separated labels of [a-z0-9-], like lab.kvmcloud");
}

/** A TCP/UDP port: an integer 1-65535. */
export function isPort(v: unknown): v is number {
  return Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535;
}

export const PORT_ALLOWED = "an integer 1-65535";

export function checkPort(field: string, v: unknown): asserts v is number {
  check(isPort(v), field, v, PORT_ALLOWED);
}
