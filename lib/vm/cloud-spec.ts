import { check, ValidationError } from "../core/errors";
import { checkDnsLabel, checkIfName, checkIPv4, checkIPv4Range, checkPort, UUID } from "../core/network";
import { checkCephUser, DEFAULT_CEPH_CLIENT } from "../ceph/ceph-user";
import { checkPoolName } from "../ceph/ceph-cluster";
import { checkDnsmasqPath, DEFAULT_DHCP_HOSTS_DIR } from "../dnsmasq/dnsmasq-conf";

/**
 * How the VirtualMachine provider reaches a kvm-cloud: the `cloud` input.
 * Plain data only (it is stored in Pulumi state, with its secrets marked
 * secret), so the provider can open its own connections in every call.
 */

/** SSH access to one host. */
export interface SshEndpoint {
  /** Address or DNS name the provider connects to. */
  readonly host: string;
  /** Default 22. */
  readonly port?: number;
  /** Default "root". A sudo user needs passwordless sudo for virsh and rbd. */
  readonly user?: string;
  /** OpenSSH or PEM private key text. A secret. */
  readonly privateKey: string;
}

export interface CloudNode {
  /** The node's name in placement, outputs and the inventory. */
  readonly name: string;
  readonly ssh: SshEndpoint;
  /**
   * libvirt URI other nodes use to reach this node's libvirtd when migrating
   * to it, e.g. `qemu+ssh://root@node2/system` or `qemu+tls://node2/system`.
   * Live migration is tunnelled through this connection, so it is what
   * encrypts and authenticates guest memory on the way.
   */
  readonly libvirtUri: string;
  /** Bridge the VMs' NICs join (default "br0"). */
  readonly bridge?: string;
  /** In standby (the HA cluster's drain): placement puts no new VM here. Default false. */
  readonly drained?: boolean;
}

export interface CloudSpec {
  readonly nodes: readonly CloudNode[];
  readonly ceph: {
    readonly pool: string;
    readonly monitors: readonly string[];
    /** cephx user without the `client.` prefix (default "libvirt"). */
    readonly clientName?: string;
    /** UUID of the libvirt secret holding the client's key on every node. */
    readonly secretUuid: string;
  };
  readonly dhcp: {
    readonly ssh: SshEndpoint;
    readonly leaseFile: string;
    /** DNS domain dnsmasq appends to hostnames; the VM's fqdn is name.domain. */
    readonly domain: string;
    /** dnsmasq's DHCP range: each VM gets the lowest free address of it, fixed before it boots. */
    readonly range: { readonly start: string; readonly end: string };
    /** dnsmasq's dhcp-hostsdir, where the provider writes each VM's entry (default "/etc/kvmcloud/dhcp-hosts"). */
    readonly hostsDir?: string;
  };
  readonly inventory: {
    /** postgres:// URL with credentials. A secret. */
    readonly postgresUrl: string;
    /** redis:// URL with credentials. A secret. */
    readonly redisUrl: string;
  };
  /** `kvm` on real hosts; `qemu` (TCG) where there is no hardware virtualization. Default "kvm". */
  readonly domainType?: "kvm" | "qemu";
  /**
   * known_hosts text for every host above. When given, host keys are checked
   * strictly; without it, any host key is accepted (say so in your threat model).
   */
  readonly knownHosts?: string;
  /** Seconds to wait for a new VM's DHCP lease (default 300). */
  readonly leaseTimeoutSeconds?: number;
}

/** A checked cloud spec with every default filled in: what the VM operations work with. */
export type ResolvedCloudSpec = CloudSpec & {
  readonly ceph: CloudSpec["ceph"] & { readonly clientName: string };
  readonly dhcp: CloudSpec["dhcp"] & { readonly hostsDir: string };
  readonly domainType: "kvm" | "qemu";
  readonly leaseTimeoutSeconds: number;
};


function checkSsh(field: string, s: SshEndpoint): void {
  check(typeof s === "object" && s !== null, field, s, "an object { host, port?, user?, privateKey }");
  check(typeof s.host === "string" && /^[A-Za-z0-9.:-]{1,253}$/.test(s.host), `${field}.host`, s.host, "an address or DNS name");
  if (s.port !== undefined) checkPort(`${field}.port`, s.port);
  if (s.user !== undefined) check(typeof s.user === "string" && /^[a-z_][a-z0-9_-]{0,31}$/.test(s.user), `${field}.user`, s.user, "a Unix user name");
  // The key itself must never reach an error message.
  if (typeof s.privateKey !== "string" || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(s.privateKey)) {
    throw new ValidationError(`${field}.privateKey`, "[secret]", "the text of an OpenSSH or PEM private key");
  }
}

function checkUrl(field: string, v: unknown, scheme: RegExp, allowed: string): void {
  let ok = false;
  try {
    ok = typeof v === "string" && scheme.test(new URL(v).protocol);
  } catch {
    ok = false;
  }
  // URLs carry passwords: never echo them.
  if (!ok) throw new ValidationError(field, "[secret]", allowed);
}

/** Checks a cloud spec, naming the first bad field. Returns it with defaults filled in. */
export function validateCloudSpec(c: CloudSpec): ResolvedCloudSpec {
  check(typeof c === "object" && c !== null, "cloud", typeof c, "an object { nodes, ceph, dhcp, inventory }");
  check(Array.isArray(c.nodes) && c.nodes.length > 0, "cloud.nodes", c.nodes?.length, "a non-empty list of nodes");
  const seen = new Set<string>();
  c.nodes.forEach((n, i) => {
    checkDnsLabel(`cloud.nodes[${i}].name`, n.name);
    check(!seen.has(n.name), `cloud.nodes[${i}].name`, n.name, "a name used by no other node");
    seen.add(n.name);
    checkSsh(`cloud.nodes[${i}].ssh`, n.ssh);
    check(typeof n.libvirtUri === "string" && /^qemu(\+(ssh|tls|tcp|libssh2?))?:\/\/[^\s]*\/system(\?[^\s]*)?$/.test(n.libvirtUri), `cloud.nodes[${i}].libvirtUri`, n.libvirtUri, "a libvirt URI like qemu+ssh://root@host/system or qemu+tls://host/system");
    if (n.bridge !== undefined) checkIfName(`cloud.nodes[${i}].bridge`, n.bridge);
    if (n.drained !== undefined) check(typeof n.drained === "boolean", `cloud.nodes[${i}].drained`, n.drained, "true or false");
  });
  checkPoolName("cloud.ceph.pool", c.ceph?.pool);
  check(Array.isArray(c.ceph.monitors) && c.ceph.monitors.length > 0, "cloud.ceph.monitors", c.ceph.monitors, "a non-empty list of monitor IPv4 addresses");
  c.ceph.monitors.forEach((m, i) => checkIPv4(`cloud.ceph.monitors[${i}]`, m));
  const clientName = c.ceph.clientName ?? DEFAULT_CEPH_CLIENT;
  checkCephUser("cloud.ceph.clientName", clientName);
  check(typeof c.ceph.secretUuid === "string" && UUID.test(c.ceph.secretUuid), "cloud.ceph.secretUuid", c.ceph.secretUuid, "a lower-case UUID");
  checkSsh("cloud.dhcp.ssh", c.dhcp?.ssh);
  // The lease file is dnsmasq's own (dhcp-leasefile), so its rule is dnsmasq's.
  checkDnsmasqPath("cloud.dhcp.leaseFile", c.dhcp.leaseFile);
  check(typeof c.dhcp.domain === "string" && c.dhcp.domain.split(".").every((l) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(l)), "cloud.dhcp.domain", c.dhcp.domain, "a DNS domain of [a-z0-9-] labels");
  checkIPv4Range("cloud.dhcp.range.start", c.dhcp.range?.start, "cloud.dhcp.range.end", c.dhcp.range?.end);
  const hostsDir = c.dhcp.hostsDir ?? DEFAULT_DHCP_HOSTS_DIR;
  checkDnsmasqPath("cloud.dhcp.hostsDir", hostsDir);
  checkUrl("cloud.inventory.postgresUrl", c.inventory?.postgresUrl, /^postgres(ql)?:$/, "a postgres://user:password@host:port/database URL");
  checkUrl("cloud.inventory.redisUrl", c.inventory?.redisUrl, /^rediss?:$/, "a redis://:password@host:port/db URL");
  return { ...c, ceph: { ...c.ceph, clientName }, dhcp: { ...c.dhcp, hostsDir }, ...resolveVmSettings("cloud.", c) };
}

export const DEFAULT_DOMAIN_TYPE = "kvm";
export const DEFAULT_LEASE_TIMEOUT_SECONDS = 300;

/** How VMs run and how long a boot may take to its lease: defaults filled and checked once, for the cloud config and the spec. */
export function resolveVmSettings(prefix: string, c: { readonly domainType?: "kvm" | "qemu"; readonly leaseTimeoutSeconds?: number }): { domainType: "kvm" | "qemu"; leaseTimeoutSeconds: number } {
  const domainType = c.domainType ?? DEFAULT_DOMAIN_TYPE;
  check(domainType === "kvm" || domainType === "qemu", `${prefix}domainType`, domainType, '"kvm" or "qemu"');
  const lease = c.leaseTimeoutSeconds ?? DEFAULT_LEASE_TIMEOUT_SECONDS;
  check(Number.isInteger(lease) && lease >= 5 && lease <= 3600, `${prefix}leaseTimeoutSeconds`, lease, "an integer 5-3600");
  return { domainType, leaseTimeoutSeconds: lease };
}

/** Names of the nodes in the HA cluster's standby (drained). */
export function drainedNodes(c: Pick<CloudSpec, "nodes"> | undefined): string[] {
  return (c?.nodes ?? []).filter((n) => n.drained === true).map((n) => n.name);
}

/** The node of that name, or a ValidationError listing the known ones. */
export function findNode(c: CloudSpec, name: string, field = "node"): CloudNode {
  const n = c.nodes.find((x) => x.name === name);
  if (!n) throw new ValidationError(field, name, `one of the cloud's nodes: ${c.nodes.map((x) => x.name).join(", ")}`);
  return n;
}
