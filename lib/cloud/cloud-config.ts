import { DhcpReservation, validateDnsmasqConfig } from "../dnsmasq/dnsmasq-conf";
import { DEFAULT_BRIDGE, NETWORK_BACKENDS, NetworkBackend, validateBridgeOptions } from "../kvm-node/bridge-config";
import { checkHaSection, HaSection } from "../ha/ha-cluster";
import { checkGuestTraffic, DEFAULT_GUEST_TRAFFIC, GuestTraffic } from "../kvm-node/guest-filter";
import { checkSecurityDriver, DEFAULT_SECURITY_DRIVER, SecurityDriver } from "../kvm-node/node-script";
import { CephClusterSettings, CephClusterSpec, planCephCluster } from "../ceph/ceph-cluster";
import { checkClientNetworks } from "../core/cidr";
import { check, within } from "../core/errors";
import { InventoryRuntime, validateInventoryDatabaseOptions } from "../inventory/database";
import { checkDnsLabel, checkIPv4, checkPort } from "../core/network";
import { resolveBaseImageSection } from "./base-image-section";
import { resolveVmSettings } from "../vm/cloud-spec";
import { checkMonitoringSection, MonitoringSection } from "./monitoring-section";

/**
 * One description of a whole kvm-cloud: which host does what, the VM network,
 * Ceph, the KVM nodes, the inventory, the load balancer host and the base
 * image. Plain data (stack config); the secrets (SSH key, passwords) travel
 * beside it as Pulumi secrets. Its shape decides which resources exist, so it
 * is validated as a whole before anything is registered.
 */

/** SSH access to one host; user and port default to the cloud-wide `ssh` ones. */
export interface CloudHost {
  readonly address: string;
  readonly user?: string;
  readonly port?: number;
}

/** The load balancer host (the stack puts a LoadBalancer there). */
export type LoadBalancerHost = CloudHost & {
  /** HAProxy's stats and /metrics port. Default 8404. */
  readonly statsPort?: number;
  /** Networks (CIDR) allowed to reach the stats port, e.g. Prometheus' host; any other source is reset. Default: any. */
  readonly statsClients?: readonly string[];
};

export interface CloudConfig {
  /** Defaults for every host: user (default "root") and port (default 22). */
  readonly ssh?: { readonly user?: string; readonly port?: number };
  /** The VM network, served by dnsmasq on the `dns` host. */
  readonly network: {
    /** The dnsmasq host's address on the VM network: the VMs' gateway and DNS server. */
    readonly gateway: string;
    readonly netmask: string;
    /** DNS domain of the VMs (NAME.domain). */
    readonly domain: string;
    readonly dhcpRange: { readonly start: string; readonly end: string };
    /** Default "12h". */
    readonly leaseTime?: string;
    /** Default none. */
    readonly upstreamDns?: readonly string[];
    /** Fixed addresses, outside the DHCP range. Default none. */
    readonly reservations?: readonly DhcpReservation[];
    /** dnsmasq's lease file, which the VM provider watches. Default "/var/lib/misc/dnsmasq.kvmcloud.leases". */
    readonly leaseFile?: string;
  };
  readonly dns: CloudHost & {
    /** Interface on the VM network dnsmasq serves. */
    readonly interface: string;
    /** Uplink the VMs' traffic is masqueraded out of (default: no NAT). */
    readonly natInterface?: string;
  };
  readonly ceph: CephClusterSettings & {
    readonly hosts: ReadonlyArray<CloudHost & { readonly name: string; readonly devices?: readonly string[]; readonly osdFiles?: readonly string[] }>;
  };
  readonly nodes: ReadonlyArray<
    CloudHost & {
      readonly name: string;
      readonly prefixLength: number;
      readonly nic: string;
      readonly gateway?: string;
      /** Default "br0". */
      readonly bridge?: string;
      /** Default "ifupdown". */
      readonly networkBackend?: NetworkBackend;
      /** Default "apparmor". */
      readonly securityDriver?: SecurityDriver;
      /** What its guests may send: "clean" (no spoofing, no DHCP server) or "open". Default "clean". */
      readonly guestTraffic?: GuestTraffic;
      readonly dnsServers?: readonly string[];
    }
  >;
  /** The database (and monitoring) host: Postgres, Redis and the monitoring, in Docker or from Debian's packages. */
  readonly database: CloudHost & {
    /**
     * "docker" or "packages" (Debian's postgresql, redis-server and prometheus
     * and the kvm-cloud exporter under systemd; no Grafana). Default "docker".
     */
    readonly runtime?: InventoryRuntime;
    /** PostgreSQL major version of the host's package (packages runtime). Default 15. */
    readonly postgresVersion?: number;
    readonly postgresPort?: number;
    readonly redisPort?: number;
    /** Default "kvmcloud". */
    readonly database?: string;
    /**
     * Networks (CIDR) allowed to reach Postgres and Redis; runtime "packages"
     * only. Include where Pulumi runs and the nodes' network. Default: any.
     */
    readonly allowedClients?: readonly string[];
    /** Extra ssh options for the Docker provider (e.g. ["-i", "~/.ssh/kvmcloud"]); runtime "docker" only. */
    readonly dockerSshOptions?: readonly string[];
  };
  /** The load balancer host (the stack puts a LoadBalancer there). Default: none. */
  readonly loadBalancer?: LoadBalancerHost;
  readonly baseImage: {
    /** http(s) URL or an absolute path on the importing node. */
    readonly source: string;
    /** Default "qcow2". */
    readonly format?: "qcow2" | "raw";
    readonly sha256?: string;
    /** RBD image name (default "base-image"). */
    readonly name?: string;
    /** Default "base". */
    readonly snapshot?: string;
    /** Node that imports it (default: the first node). */
    readonly node?: string;
  };
  /** "kvm" (default) or "qemu" where there is no hardware virtualization. */
  readonly domainType?: "kvm" | "qemu";
  /** Default 300. */
  readonly leaseTimeoutSeconds?: number;
  /** Prometheus' timing and the node exporters' guard. Default: 15 s intervals, alerts pending per rule, any client. */
  readonly monitoring?: MonitoringSection;
  /** High availability of the KVM nodes (Corosync + Pacemaker, see lib/ha). Default: none. */
  readonly ha?: HaSection;
}


export function checkHost(field: string, h: CloudHost | undefined): void {
  check(typeof h === "object" && h !== null, field, h, "a host { address, user?, port? }");
  checkIPv4(`${field}.address`, h!.address);
  if (h!.user !== undefined) check(/^[a-z_][a-z0-9_-]{0,31}$/.test(h!.user), `${field}.user`, h!.user, "a Unix user name (root or a passwordless-sudo user)");
  if (h!.port !== undefined) checkPort(`${field}.port`, h!.port);
}

/** The config's `ssh` defaults (user, port), checked by the same rules as a host's own. */
export function checkSshDefaults(ssh: CloudConfig["ssh"]): void {
  // A placeholder address: only user and port are the defaults' to check.
  if (ssh !== undefined) checkHost("ssh", { address: "192.0.2.1", ...ssh });
}

/** The database host's section (CloudConfig.database; a stack's `kvm-cloud:inventoryHost`). */
export type DatabaseHost = CloudConfig["database"];

/** The database host: where it is, how its services run, their ports and names. */
export function checkDatabaseHost(field: string, h: DatabaseHost | undefined): void {
  check(typeof h === "object" && h !== null, field, h, `a "${field}" section`);
  checkHost(field, h);
  validateInventoryDatabaseOptions(
    { runtime: h!.runtime, postgresVersion: h!.postgresVersion, postgresPort: h!.postgresPort, redisPort: h!.redisPort, database: h!.database, allowedClients: h!.allowedClients },
    `${field}.`,
  );
  if (h!.runtime === "packages") {
    check(h!.dockerSshOptions === undefined, `${field}.dockerSshOptions`, h!.dockerSshOptions, 'unset with runtime "packages" (no Docker provider runs)');
  }
}

/** The load balancer host: where it is and its stats port. */
export function checkLoadBalancerHost(field: string, h: LoadBalancerHost | undefined): void {
  checkHost(field, h);
  const p = h!.statsPort;
  if (p !== undefined) checkPort(`${field}.statsPort`, p);
  if (h!.statsClients !== undefined) checkClientNetworks(`${field}.statsClients`, h!.statsClients);
}

/**
 * The dnsmasq host's settings as the cloud config gives them (defaults left
 * to DnsmasqServer), so the validator and the Cloud component read the
 * config the same way.
 */
export function dnsmasqSettings(c: DnsSections) {
  const n = c.network;
  return {
    interface: c.dns.interface,
    listenAddress: n.gateway,
    netmask: n.netmask,
    domain: n.domain,
    upstreamServers: n.upstreamDns ?? [],
    rangeStart: n.dhcpRange.start,
    rangeEnd: n.dhcpRange.end,
    leaseTime: n.leaseTime,
    leaseFile: n.leaseFile,
    reservations: n.reservations ?? [],
  };
}

/** The sections the dnsmasq host is built from. */
export type DnsSections = Pick<CloudConfig, "network" | "dns">;

/** The dnsmasq host and the VM network it serves, checked as dnsmasq will take them. */
export function checkDnsSections(c: DnsSections): void {
  checkHost("dns", c.dns);
  check(typeof c.dns.interface === "string", "dns.interface", c.dns.interface, "the dnsmasq host's interface on the VM network, like eth0");
  const n = c.network;
  check(typeof n.dhcpRange === "object" && n.dhcpRange !== null, "network.dhcpRange", n.dhcpRange, "{ start, end }");
  within("", () =>
    validateDnsmasqConfig({
      ...dnsmasqSettings(c),
      leaseTime: n.leaseTime ?? "12h",
      leaseFile: n.leaseFile ?? "/var/lib/misc/dnsmasq.kvmcloud.leases",
    }),
    {
      interface: "dns.interface",
      listenAddress: "network.gateway",
      netmask: "network.netmask",
      domain: "network.domain",
      upstreamServers: "network.upstreamDns",
      rangeStart: "network.dhcpRange.start",
      rangeEnd: "network.dhcpRange.end",
      leaseTime: "network.leaseTime",
      leaseFile: "network.leaseFile",
      reservations: "network.reservations",
    },
  );
  if (c.dns.natInterface !== undefined) {
    check(typeof c.dns.natInterface === "string" && c.dns.natInterface !== c.dns.interface, "dns.natInterface", c.dns.natInterface, `the uplink, not the VM interface ${c.dns.interface}`);
  }
}

/** The `ceph` section's cluster, host connections left out: what CephCluster takes besides them. */
export function cephClusterShape(ceph: CloudConfig["ceph"]): CephClusterSpec {
  const { hosts, ...settings } = ceph;
  return { ...settings, hosts: hosts.map((h) => ({ name: h.name, address: h.address, devices: h.devices ?? [], osdFiles: h.osdFiles })) };
}

/** The `ceph` section: its hosts reachable, its cluster a valid plan. */
export function checkCephSection(ceph: CloudConfig["ceph"]): void {
  check(typeof ceph === "object" && ceph !== null && Array.isArray(ceph.hosts) && ceph.hosts.length > 0, "ceph.hosts", ceph?.hosts, "a non-empty list of Ceph hosts { name, address, devices?, osdFiles? }");
  ceph.hosts.forEach((h, i) => checkHost(`ceph.hosts[${i}]`, h));
  within("ceph.", () => planCephCluster(cephClusterShape(ceph)));
}

/** The `nodes` section: every KVM node reachable, named once, its bridge valid. Returns the names. */
export function checkNodesSection(nodes: CloudConfig["nodes"]): Set<string> {
  check(Array.isArray(nodes) && nodes.length > 0, "nodes", nodes, "a non-empty list of KVM nodes");
  const names = new Set<string>();
  nodes.forEach((node, i) => {
    const f = `nodes[${i}]`;
    checkHost(f, node);
    checkDnsLabel(`${f}.name`, node.name);
    check(!names.has(node.name), `${f}.name`, node.name, "a name no other node has");
    names.add(node.name);
    // Plain strings first: a regex test would read `undefined` as the word "undefined".
    for (const key of ["nic", "bridge", "gateway"] as const) {
      const v = node[key];
      if (key === "nic" || v !== undefined) check(typeof v === "string", `${f}.${key}`, v, key === "nic" ? "the uplink NIC's name, like eno1" : "a string");
    }
    const backend = node.networkBackend ?? "ifupdown";
    check(NETWORK_BACKENDS.includes(backend), `${f}.networkBackend`, backend, NETWORK_BACKENDS.join(", "));
    within(`${f}.`, () =>
      validateBridgeOptions({ backend, bridge: node.bridge ?? DEFAULT_BRIDGE, nic: node.nic, address: node.address, prefixLength: node.prefixLength, gateway: node.gateway, dnsServers: node.dnsServers ?? [] }),
      { backend: "networkBackend" },
    );
    checkSecurityDriver(`${f}.securityDriver`, node.securityDriver ?? DEFAULT_SECURITY_DRIVER);
    checkGuestTraffic(`${f}.guestTraffic`, node.guestTraffic ?? DEFAULT_GUEST_TRAFFIC);
  });
  return names;
}

/** How VMs run and how long a boot may take to its lease. */
export function checkVmSettings(c: Pick<CloudConfig, "domainType" | "leaseTimeoutSeconds">): void {
  resolveVmSettings("", c);
}

/** Pure: throws a ValidationError naming the first bad field, from the top of the config. */
export function validateCloudConfig(c: CloudConfig): void {
  check(typeof c === "object" && c !== null, "config", typeof c, "an object { network, dns, ceph, nodes, database, baseImage }");
  for (const key of ["network", "dns", "ceph", "nodes", "database", "baseImage"] as const) {
    check(c[key] !== undefined && c[key] !== null, key, c[key], `a "${key}" section (see README: Stack configuration)`);
  }
  checkSshDefaults(c.ssh);
  checkDnsSections(c);

  checkCephSection(c.ceph);

  checkNodesSection(c.nodes);

  checkDatabaseHost("database", c.database);
  if (c.loadBalancer !== undefined) checkLoadBalancerHost("loadBalancer", c.loadBalancer);

  resolveBaseImageSection(c.baseImage, c.nodes, c.ceph);
  checkVmSettings(c);
  if (c.monitoring !== undefined) checkMonitoringSection(c.monitoring);
  if (c.ha !== undefined) checkHaSection("ha", c.ha, c.nodes.map((n) => n.name));
}
