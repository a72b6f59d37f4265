import { stringify } from "yaml";
import { check } from "../core/errors";
import { checkIfName, checkIPv4, checkMac } from "../core/network";

/**
 * The persistent network config of a KVM node: a bridge over the uplink NIC
 * carrying the host's address, in the format of the host's network stack.
 * These files only take effect at the next boot or network restart; the
 * bridge-setup script moves the address at run time itself (see there).
 */
export type NetworkBackend = "ifupdown" | "networkd" | "netplan";
export const NETWORK_BACKENDS: readonly NetworkBackend[] = ["ifupdown", "networkd", "netplan"];
/** The bridge VMs join when a node names none. */
export const DEFAULT_BRIDGE = "br0";

export interface BridgeOptions {
  readonly backend: NetworkBackend;
  /** Bridge name (e.g. br0). */
  readonly bridge: string;
  /** Uplink NIC that becomes the bridge's port. */
  readonly nic: string;
  /** The host's address, moved from the NIC to the bridge. */
  readonly address: string;
  readonly prefixLength: number;
  /** Default gateway, if the host has one on this network. */
  readonly gateway?: string;
  readonly dnsServers?: readonly string[];
}

/**
 * What rendering needs beyond the user's options: the NIC's MAC, read on the
 * host. The bridge takes it, live and in the files, so that the host keeps
 * answering under the same MAC: a bridge of networkd or netplan would
 * otherwise get one derived from the machine-id at the next boot, and the
 * neighbours' ARP entries would point at nothing until they age out.
 */
export interface BridgeSetup extends BridgeOptions {
  readonly nicMac: string;
}

export interface RenderedFile {
  readonly path: string;
  readonly content: string;
  readonly mode: string;
}


export function validateBridgeOptions(o: BridgeOptions): void {
  check(NETWORK_BACKENDS.includes(o.backend), "networkBackend", o.backend, NETWORK_BACKENDS.map((b) => `"${b}"`).join(", "));
  checkIfName("bridge", o.bridge);
  checkIfName("nic", o.nic);
  check(o.nic !== o.bridge, "nic", o.nic, `an interface other than the bridge ${o.bridge}`);
  checkIPv4("address", o.address);
  check(Number.isInteger(o.prefixLength) && o.prefixLength >= 1 && o.prefixLength <= 32, "prefixLength", o.prefixLength, "an integer from 1 to 32");
  if (o.gateway !== undefined) {
    checkIPv4("gateway", o.gateway);
    check(o.gateway !== o.address, "gateway", o.gateway, "an address other than the host's own");
  }
  (o.dnsServers ?? []).forEach((d, i) => checkIPv4(`dnsServers[${i}]`, d));
}

function ifupdown(o: BridgeSetup): RenderedFile[] {
  const lines = [
    "# Rendered by kvm-cloud: the uplink is a port of the VM bridge.",
    `iface ${o.nic} inet manual`,
    "",
    `auto ${o.bridge}`,
    `iface ${o.bridge} inet static`,
    `    address ${o.address}/${o.prefixLength}`,
    `    hwaddress ${o.nicMac}`,
    ...(o.gateway ? [`    gateway ${o.gateway}`] : []),
    ...(o.dnsServers?.length ? [`    dns-nameservers ${o.dnsServers.join(" ")}`] : []),
    `    bridge_ports ${o.nic}`,
    "    bridge_stp off",
    "    bridge_fd 0",
    "",
  ];
  return [{ path: `/etc/network/interfaces.d/kvmcloud-${o.bridge}`, content: lines.join("\n"), mode: "0644" }];
}

function networkd(o: BridgeSetup): RenderedFile[] {
  const dir = "/etc/systemd/network";
  const head = "# Rendered by kvm-cloud.\n";
  return [
    { path: `${dir}/10-kvmcloud-${o.bridge}.netdev`, mode: "0644", content: `${head}[NetDev]\nName=${o.bridge}\nKind=bridge\nMACAddress=${o.nicMac}\n\n[Bridge]\nSTP=no\nForwardDelaySec=0\n` },
    { path: `${dir}/10-kvmcloud-${o.bridge}-port.network`, mode: "0644", content: `${head}[Match]\nName=${o.nic}\n\n[Network]\nBridge=${o.bridge}\n` },
    {
      path: `${dir}/10-kvmcloud-${o.bridge}.network`,
      mode: "0644",
      content:
        `${head}[Match]\nName=${o.bridge}\n\n[Network]\nAddress=${o.address}/${o.prefixLength}\n` +
        (o.gateway ? `Gateway=${o.gateway}\n` : "") +
        (o.dnsServers ?? []).map((d) => `DNS=${d}\n`).join(""),
    },
  ];
}

function netplan(o: BridgeSetup): RenderedFile[] {
  const bridge: Record<string, unknown> = {
    interfaces: [o.nic],
    macaddress: o.nicMac,
    addresses: [`${o.address}/${o.prefixLength}`],
    parameters: { stp: false, "forward-delay": 0 },
  };
  if (o.gateway) bridge.routes = [{ to: "default", via: o.gateway }];
  if (o.dnsServers?.length) bridge.nameservers = { addresses: [...o.dnsServers] };
  const doc = { network: { version: 2, ethernets: { [o.nic]: { dhcp4: false, dhcp6: false } }, bridges: { [o.bridge]: bridge } } };
  // 90-: read after the installer's files (e.g. 50-cloud-init.yaml), so ours wins for the NIC.
  return [{ path: `/etc/netplan/90-kvmcloud-${o.bridge}.yaml`, mode: "0600", content: "# Rendered by kvm-cloud.\n" + stringify(doc) }];
}

/** Pure: the files that make the bridge permanent for the given network stack. */
export function renderBridgeConfig(o: BridgeSetup): RenderedFile[] {
  validateBridgeOptions(o);
  checkMac("nicMac", o.nicMac);
  return { ifupdown, networkd, netplan }[o.backend](o);
}
