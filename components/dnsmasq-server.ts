import * as pulumi from "@pulumi/pulumi";
import { RemoteCommand } from "../dynamic-providers/remote-command";
import { DEFAULT_DHCP_HOSTS_DIR, DhcpReservation, DnsmasqConfig, validateDnsmasqConfig } from "../lib/render/dnsmasq-conf";
import { networkCidr } from "../lib/render/nftables-nat";
import { renderDnsmasqSetupScript, renderRoutingScript } from "../lib/render/scripts/dnsmasq-host";
import { check } from "../lib/validate/errors";
import { checkIfName } from "../lib/validate/network";
import { HostConnection } from "./connection";
import { validateWhenKnown } from "./inputs";

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

interface Resolved {
  readonly dnsmasq: DnsmasqConfig;
  readonly natInterface?: string;
  readonly configPath: string;
}

function resolve(a: DnsmasqServerArgs): pulumi.Output<Resolved> {
  const dnsmasq = pulumi.output({
    interface: a.interface,
    listenAddress: a.listenAddress,
    netmask: a.netmask,
    domain: a.domain,
    upstreamServers: a.upstreamServers ?? [],
    rangeStart: a.rangeStart,
    rangeEnd: a.rangeEnd,
    leaseTime: a.leaseTime ?? "12h",
    leaseFile: a.leaseFile ?? DEFAULT_LEASE_FILE,
    hostsDir: a.hostsDir ?? DEFAULT_DHCP_HOSTS_DIR,
    authoritative: a.authoritative ?? true,
    reservations: a.reservations ?? [],
  });
  return pulumi.all([dnsmasq, a.natInterface, a.configPath ?? "/etc/dnsmasq.d/kvmcloud.conf"]).apply(([d, natInterface, configPath]) => ({
    dnsmasq: d as DnsmasqConfig,
    natInterface,
    configPath,
  }));
}

function validate(a: DnsmasqServerArgs): void {
  const { connection: _c, ...values } = a;
  validateWhenKnown(values, (v) => {
    validateDnsmasqConfig({
      interface: v.interface as string,
      listenAddress: v.listenAddress as string,
      netmask: v.netmask as string,
      domain: v.domain as string,
      upstreamServers: (v.upstreamServers ?? []) as string[],
      rangeStart: v.rangeStart as string,
      rangeEnd: v.rangeEnd as string,
      leaseTime: (v.leaseTime ?? "12h") as string,
      leaseFile: (v.leaseFile ?? DEFAULT_LEASE_FILE) as string,
      hostsDir: (v.hostsDir ?? DEFAULT_DHCP_HOSTS_DIR) as string,
      reservations: (v.reservations ?? []) as DhcpReservation[],
    });
    if (v.natInterface !== undefined) {
      checkIfName("natInterface", v.natInterface);
      check(v.natInterface !== v.interface, "natInterface", v.natInterface, `the uplink, not the VM interface ${String(v.interface)}`);
    }
  });
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
    validate(args);
    super("kvmcloud:index:DnsmasqServer", name, {}, opts);
    const r = resolve(args);

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
