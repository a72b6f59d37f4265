import { stringify } from "yaml";
import { check } from "../validate/errors";
import { checkIPv4 } from "../validate/network";

/**
 * The persistent network config of a KVM node: a bridge over the uplink NIC
 * carrying the host's address, in the format of the host's network stack.
 * These files only take effect at the next boot or network restart; the
 * bridge-setup script moves the address at run time itself (see there).
 */
export type NetworkBackend = "ifupdown" | "networkd" | "netplan";
export const NETWORK_BACKENDS: readonly NetworkBackend[] = ["ifupdown", "networkd", "netplan"];

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

export interface RenderedFile {
  readonly path: string;
  readonly content: string;
  readonly mode: string;
}

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

// A regex test would read undefined as the text "undefined", a valid name.
const isIfName = (v: unknown): v is string => typeof v === "string" && IFNAME.test(v);

export function validateBridgeOptions(o: BridgeOptions): void {
  check(NETWORK_BACKENDS.includes(o.backend), "networkBackend", o.backend, NETWORK_BACKENDS.map((b) => `"${b}"`).join(", "));
  check(isIfName(o.bridge), "bridge", o.bridge, "a Linux interface name of 1-15 characters [A-Za-z0-9_.-]");
  check(isIfName(o.nic), "nic", o.nic, "a Linux interface name of 1-15 characters [A-Za-z0-9_.-]");
  check(o.nic !== o.bridge, "nic", o.nic, `an interface other than the bridge ${o.bridge}`);
  checkIPv4("address", o.address);
  check(Number.isInteger(o.prefixLength) && o.prefixLength >= 1 && o.prefixLength <= 32, "prefixLength", o.prefixLength, "an integer from 1 to 32");
  if (o.gateway !== undefined) {
    checkIPv4("gateway", o.gateway);
    check(o.gateway !== o.address, "gateway", o.gateway, "an address other than the host's own");
  }
  (o.dnsServers ?? []).forEach((d, i) => checkIPv4(`dnsServers[${i}]`, d));
}

function ifupdown(o: BridgeOptions): RenderedFile[] {
  const lines = [
    "# Rendered by kvm-cloud: the uplink is a port of the VM bridge.",
    `iface ${o.nic} inet manual`,
    "",
    `auto ${o.bridge}`,
    `iface ${o.bridge} inet static`,
    `    address ${o.address}/${o.prefixLength}`,
    ...(o.gateway ? [`    gateway ${o.gateway}`] : []),
    ...(o.dnsServers?.length ? [`    dns-nameservers ${o.dnsServers.join(" ")}`] : []),
    `    bridge_ports ${o.nic}`,
    "    bridge_stp off",
    "    bridge_fd 0",
    "",
  ];
  return [{ path: `/etc/network/interfaces.d/kvmcloud-${o.bridge}`, content: lines.join("\n"), mode: "0644" }];
}

function networkd(o: BridgeOptions): RenderedFile[] {
  const dir = "/etc/systemd/network";
  const head = "# Rendered by kvm-cloud.\n";
  return [
    { path: `${dir}/10-kvmcloud-${o.bridge}.netdev`, mode: "0644", content: `${head}[NetDev]\nName=${o.bridge}\nKind=bridge\n\n[Bridge]\nSTP=no\nForwardDelaySec=0\n` },
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

function netplan(o: BridgeOptions): RenderedFile[] {
  const bridge: Record<string, unknown> = {
    interfaces: [o.nic],
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
export function renderBridgeConfig(o: BridgeOptions): RenderedFile[] {
  validateBridgeOptions(o);
  return { ifupdown, networkd, netplan }[o.backend](o);
}
