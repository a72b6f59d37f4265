import * as pulumi from "@pulumi/pulumi";
import { RemoteCommand } from "../dynamic-providers/remote-command";
import { DEFAULT_DHCP_HOSTS_DIR, DhcpReservation, DnsmasqConfig, validateDnsmasqConfig } from "../lib/dnsmasq/dnsmasq-conf";
import { networkCidr } from "../lib/dnsmasq/nat";
import { renderDnsmasqSetupScript, renderRoutingScript } from "../lib/dnsmasq/dnsmasq-host";
import { check } from "../lib/core/errors";
import { checkIfName } from "../lib/core/network";
import { HostConnection } from "./connection";
import { resolveArgs } from "./inputs";

export interface DnsmasqServerArgs {
  /** SSH access to the DHCP/DNS host (root or a passwordless-sudo user). */
  readonly connection: HostConnection;
  /** Interface on the VM network dnsmasq serves (e.g. the host's bridge). No default. */
  readonly interface: pulumi.Input<string>;
  /** Address dnsmasq listens on; also the VMs' router and DNS server. No default. */
  readonly listenAddress: pulumi.Input<string>;
  /** Netmask of the VM network, e.g. 255.255.255.0. No default. */
  readonly netmask: pulumi.Input<string>;
  /** DNS domain of the VMs (expand-hosts: NAME.domain). No default. */
  readonly domain: pulumi.Input<string>;
  /** Upstream DNS servers. Default: none (dnsmasq answers only for its own names). */
  readonly upstreamServers?: pulumi.Input<readonly string[]>;
  /** First address of the dynamic DHCP range. No default. */
  readonly rangeStart: pulumi.Input<string>;
  /** Last address of the dynamic DHCP range. No default. */
  readonly rangeEnd: pulumi.Input<string>;
  /** Lease time, like 45m, 12h, infinite. Default "12h". */
  readonly leaseTime?: pulumi.Input<string>;
  /** Lease file (the VM provider watches it). Default "/var/lib/misc/dnsmasq.kvmcloud.leases". */
  readonly leaseFile?: pulumi.Input<string>;
  /**
   * Directory of the VMs' dhcp-host files (one per VM, written by the VM
   * provider: each VM's address is fixed before it boots). Default
   * "/etc/kvmcloud/dhcp-hosts".
   */
  readonly hostsDir?: pulumi.Input<string>;
  /** dhcp-authoritative: the only DHCP server on the segment. Default true. */
  readonly authoritative?: pulumi.Input<boolean>;
  /** Fixed addresses (MAC, IP, name), outside the dynamic range. Default none. */
  readonly reservations?: pulumi.Input<readonly DhcpReservation[]>;
  /** Uplink that VM traffic is masqueraded out of. Default: none (forwarding only, no NAT). */
  readonly natInterface?: pulumi.Input<string | undefined>;
  /** Path of the rendered config. Default "/etc/dnsmasq.d/kvmcloud.conf". */
  readonly configPath?: pulumi.Input<string>;
}

export const DEFAULT_LEASE_FILE = "/var/lib/misc/dnsmasq.kvmcloud.leases";
const DEFAULT_CONFIG_PATH = "/etc/dnsmasq.d/kvmcloud.conf";

interface Resolved {
  readonly dnsmasq: DnsmasqConfig;
  readonly natInterface?: string;
  readonly configPath: string;
}

/** The arguments once known: what the check and the config both start from. */
type KnownArgs = pulumi.Unwrap<Omit<DnsmasqServerArgs, "connection">>;

/** Pure: every default filled once and every rule checked, for the config to start from. */
function resolveDnsmasqServer(v: KnownArgs): Resolved {
  const r: Resolved = {
    dnsmasq: {
      interface: v.interface,
      listenAddress: v.listenAddress,
      netmask: v.netmask,
      domain: v.domain,
      upstreamServers: v.upstreamServers ?? [],
      rangeStart: v.rangeStart,
      rangeEnd: v.rangeEnd,
      leaseTime: v.leaseTime ?? "12h",
      leaseFile: v.leaseFile ?? DEFAULT_LEASE_FILE,
      hostsDir: v.hostsDir ?? DEFAULT_DHCP_HOSTS_DIR,
      authoritative: v.authoritative ?? true,
      reservations: (v.reservations ?? []) as DhcpReservation[],
    },
    natInterface: v.natInterface,
    configPath: v.configPath ?? DEFAULT_CONFIG_PATH,
  };
  validateDnsmasqConfig(r.dnsmasq);
  if (r.natInterface !== undefined) {
    checkIfName("natInterface", r.natInterface);
    check(r.natInterface !== r.dnsmasq.interface, "natInterface", r.natInterface, `the uplink, not the VM interface ${r.dnsmasq.interface}`);
  }
  return r;
}

/**
 * The VM network's DHCP and DNS server and the VMs' gateway: dnsmasq with the
 * rendered config, IP forwarding and (optionally) NAT out of an uplink.
 */
export class DnsmasqServer extends pulumi.ComponentResource {
  readonly address: pulumi.Output<string>;
  readonly domain: pulumi.Output<string>;
  readonly leaseFile: pulumi.Output<string>;
  readonly range: pulumi.Output<{ start: string; end: string }>;
  readonly hostsDir: pulumi.Output<string>;

  constructor(name: string, args: DnsmasqServerArgs, opts?: pulumi.ComponentResourceOptions) {
    const { connection: _c, ...values } = args;
    const r = resolveArgs(values, (v) => resolveDnsmasqServer(v as KnownArgs));
    super("kvmcloud:index:DnsmasqServer", name, {}, opts);

    const dnsmasq = new RemoteCommand(`${name}-dnsmasq`, {
      connection: args.connection,
      script: r.apply((x) => renderDnsmasqSetupScript({ dnsmasq: x.dnsmasq, configPath: x.configPath })),
    }, { parent: this });
    new RemoteCommand(`${name}-routing`, {
      connection: args.connection,
      script: r.apply((x) =>
        renderRoutingScript(x.natInterface ? { sourceCidr: networkCidr(x.dnsmasq.listenAddress, x.dnsmasq.netmask), outInterface: x.natInterface } : undefined),
      ),
    }, { parent: this, dependsOn: [dnsmasq] });

    this.address = r.apply((x) => x.dnsmasq.listenAddress);
    this.domain = r.apply((x) => x.dnsmasq.domain);
    this.leaseFile = r.apply((x) => x.dnsmasq.leaseFile);
    this.range = r.apply((x) => ({ start: x.dnsmasq.rangeStart, end: x.dnsmasq.rangeEnd }));
    this.hostsDir = r.apply((x) => x.dnsmasq.hostsDir!);
    this.registerOutputs({ address: this.address, domain: this.domain, leaseFile: this.leaseFile, range: this.range, hostsDir: this.hostsDir });
  }
}
