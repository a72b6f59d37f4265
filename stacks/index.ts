import * as pulumi from "@pulumi/pulumi";
import { renderDnsmasqConf } from "../lib/render/dnsmasq-conf";

/**
 * The kvm-cloud program. It grows with the components (issue "Components")
 * and VMs (issue "VirtualMachine"); for now it plans the VM network from the
 * stack's config and publishes the DHCP plan, validated before anything is
 * registered, so a bad range fails `pulumi preview` with the field named.
 */
const config = new pulumi.Config("kvm-cloud");

interface NetworkConfig {
  readonly bridge: string;
  readonly gateway: string;
  readonly netmask: string;
  readonly domain: string;
  readonly dhcpRange: { readonly start: string; readonly end: string };
  readonly leaseTime?: string;
  readonly upstreamDns?: readonly string[];
}

const network = config.requireObject<NetworkConfig>("network");

const dnsmasqConf = renderDnsmasqConf({
  interface: network.bridge,
  listenAddress: network.gateway,
  netmask: network.netmask,
  domain: network.domain,
  rangeStart: network.dhcpRange.start,
  rangeEnd: network.dhcpRange.end,
  leaseTime: network.leaseTime ?? "12h",
  leaseFile: "/var/lib/misc/dnsmasq.leases",
  upstreamServers: network.upstreamDns ?? [],
  reservations: [],
});

export const vmNetwork = {
  gateway: network.gateway,
  domain: network.domain,
  dhcpRange: `${network.dhcpRange.start}-${network.dhcpRange.end}`,
};
export const dnsmasqConfig = dnsmasqConf;
