import { check } from "../core/errors";
import { checkDnsLabel, checkDomain, checkIfName, checkIPv4, checkIPv4Range, checkMac, ipToInt, isNetmask, sameSubnet } from "../core/network";

/** A fixed address for one MAC, outside the dynamic range. */
export interface DhcpReservation {
  readonly mac: string;
  readonly ip: string;
  readonly name: string;
}

export interface DnsmasqConfig {
  /** Interface dnsmasq serves (the VM bridge). */
  readonly interface: string;
  /** Address dnsmasq listens on; also the VMs' router and DNS server. */
  readonly listenAddress: string;
  /** DNS domain of the VMs, with expand-hosts. */
  readonly domain: string;
  /** Upstream DNS servers; none means dnsmasq answers only for its own names. */
  readonly upstreamServers: readonly string[];
  readonly rangeStart: string;
  readonly rangeEnd: string;
  readonly netmask: string;
  /** dnsmasq lease time, like `1h`, `30m`, `infinite`. */
  readonly leaseTime: string;
  readonly leaseFile: string;
  readonly reservations: readonly DhcpReservation[];
  /** Default gateway handed out (default: listenAddress). */
  readonly router?: string;
  /**
   * Directory of one-file-per-VM dhcp-host entries (dhcp-hostsdir): the VM
   * provider writes each VM's MAC, address and name there before it boots.
   * dnsmasq reads new files at once; removed ones on SIGHUP. Default: none.
   */
  readonly hostsDir?: string;
  /** Where dnsmasq writes its pid (default: dnsmasq's own default). */
  readonly pidFile?: string;
  /** DNS port (default 53; 0 disables DNS). */
  readonly dnsPort?: number;
  /** Log each DHCP transaction (default true: the lease watcher relies on no log, but operators do). */
  readonly logDhcp?: boolean;
  /**
   * Answer DHCP requests for unknown leases at once (default true): the only
   * DHCP server on the VM segment, so clients get an address after a restart.
   */
  readonly authoritative?: boolean;
}

/** Where DnsmasqServer has dnsmasq read the VMs' dhcp-host files, and where the provider writes them. */
export const DEFAULT_DHCP_HOSTS_DIR = "/etc/kvmcloud/dhcp-hosts";

/** A path dnsmasq's comma-separated options and the scripts take as is. */
export function checkDnsmasqPath(field: string, v: unknown): asserts v is string {
  check(typeof v === "string" && v.startsWith("/") && !/[\s,]/.test(v), field, v, "an absolute path without spaces or commas");
}

const LEASE_TIME = /^(\d+[smhdw]?|infinite)$/;

/** Pure: throws a ValidationError naming the first bad field. */
export function validateDnsmasqConfig(c: DnsmasqConfig): void {
  checkIfName("interface", c.interface);
  checkIPv4("listenAddress", c.listenAddress);
  checkDomain("domain", c.domain);
  c.upstreamServers.forEach((s, i) => checkIPv4(`upstreamServers[${i}]`, s));
  checkIPv4Range("rangeStart", c.rangeStart, "rangeEnd", c.rangeEnd);
  check(isNetmask(c.netmask), "netmask", c.netmask, "a contiguous netmask like 255.255.0.0");
  for (const [field, ip] of [["rangeStart", c.rangeStart], ["rangeEnd", c.rangeEnd]] as const) {
    check(sameSubnet(ip, c.listenAddress, c.netmask), field, ip, `an address in the subnet of listenAddress ${c.listenAddress}/${c.netmask}`);
  }
  const inRange = (ip: string) => ipToInt(ip) >= ipToInt(c.rangeStart) && ipToInt(ip) <= ipToInt(c.rangeEnd);
  check(!inRange(c.listenAddress), "listenAddress", c.listenAddress, `an address outside the DHCP range ${c.rangeStart}-${c.rangeEnd}`);
  check(LEASE_TIME.test(c.leaseTime), "leaseTime", c.leaseTime, "a dnsmasq lease time like 3600, 45m, 12h, 1d or infinite");
  checkDnsmasqPath("leaseFile", c.leaseFile);
  if (c.hostsDir !== undefined) checkDnsmasqPath("hostsDir", c.hostsDir);
  const macs = new Set<string>();
  const ips = new Set<string>();
  const names = new Set<string>();
  c.reservations.forEach((r, i) => {
    const f = `reservations[${i}]`;
    checkMac(`${f}.mac`, r.mac);
    checkIPv4(`${f}.ip`, r.ip);
    checkDnsLabel(`${f}.name`, r.name);
    check(!inRange(r.ip), `${f}.ip`, r.ip, `an address outside the DHCP range ${c.rangeStart}-${c.rangeEnd} (the range is handed out dynamically)`);
    check(sameSubnet(r.ip, c.listenAddress, c.netmask), `${f}.ip`, r.ip, `an address in the subnet ${c.listenAddress}/${c.netmask}`);
    check(!macs.has(r.mac), `${f}.mac`, r.mac, "a MAC not reserved twice");
    check(!ips.has(r.ip) && r.ip !== c.listenAddress, `${f}.ip`, r.ip, "an address not reserved twice nor the server's own");
    check(!names.has(r.name), `${f}.name`, r.name, "a name not reserved twice");
    macs.add(r.mac);
    ips.add(r.ip);
    names.add(r.name);
  });
  if (c.router !== undefined) {
    checkIPv4("router", c.router);
  }
  if (c.dnsPort !== undefined) {
    check(Number.isInteger(c.dnsPort) && c.dnsPort >= 0 && c.dnsPort <= 65535, "dnsPort", c.dnsPort, "a port 0-65535");
  }
}

/** Pure: the dnsmasq.conf text for a VM network. */
export function renderDnsmasqConf(c: DnsmasqConfig): string {
  validateDnsmasqConfig(c);
  const lines = [
    "# Rendered by kvm-cloud; edits are overwritten.",
    `interface=${c.interface}`,
    `listen-address=${c.listenAddress}`,
    "bind-interfaces",
    "except-interface=lo",
    `port=${c.dnsPort ?? 53}`,
    "domain-needed",
    "bogus-priv",
    `domain=${c.domain}`,
    `local=/${c.domain}/`,
    "expand-hosts",
  ];
  if (c.upstreamServers.length === 0) {
    lines.push("no-resolv");
  } else {
    lines.push("no-resolv", ...c.upstreamServers.map((s) => `server=${s}`));
  }
  lines.push(
    `dhcp-range=${c.rangeStart},${c.rangeEnd},${c.netmask},${c.leaseTime}`,
    `dhcp-option=option:router,${c.router ?? c.listenAddress}`,
    `dhcp-option=option:dns-server,${c.listenAddress}`,
    `dhcp-option=option:domain-name,${c.domain}`,
    `dhcp-leasefile=${c.leaseFile}`,
    ...((c.authoritative ?? true) ? ["dhcp-authoritative"] : []),
    // Guests send their cloud-init hostname; dnsmasq then serves NAME.domain.
    "dhcp-fqdn",
  );
  if (c.hostsDir !== undefined) {
    lines.push(`dhcp-hostsdir=${c.hostsDir}`);
  }
  if (c.pidFile) {
    lines.push(`pid-file=${c.pidFile}`);
  }
  if (c.logDhcp ?? true) {
    lines.push("log-dhcp");
  }
  const sorted = [...c.reservations].sort((a, b) => ipToInt(a.ip) - ipToInt(b.ip));
  for (const r of sorted) {
    lines.push(`dhcp-host=${r.mac},${r.ip},${r.name}`);
  }
  return lines.join("\n") + "\n";
}
