import { DnsmasqConfig, renderDnsmasqConf } from "./dnsmasq-conf";
import { NatOptions, renderNatRuleset } from "./nat";
import { quote } from "../core/shell";
import { NftablesTable, nftablesTableSteps, removeNftablesTableSteps, renderNftablesUnit } from "../core/nftables-table";
import { aptInstallStep, bashScript, checkAbsolutePath, dropInPath, enableServiceStep, restartOnFailureStep, serviceRunningStep, writeFileStep } from "../core/script";

/**
 * The dnsmasq host's scripts: dnsmasq itself with the rendered config, and the
 * VMs' route out (forwarding plus a masquerade table kept by a oneshot unit).
 */

export const DNSMASQ_PACKAGES = ["dnsmasq", "nftables"] as const;
export const NAT_RULES_PATH = "/etc/kvmcloud/nat.nft";
export const NAT_UNIT = "kvmcloud-nat.service";
export const DNSMASQ_DROP_IN = dropInPath("dnsmasq.service");

export interface DnsmasqHostOptions {
  readonly dnsmasq: DnsmasqConfig;
  /** Where the rendered config goes (default /etc/dnsmasq.d/kvmcloud.conf). */
  readonly configPath?: string;
}

/** Installs dnsmasq, writes its config (checked with `dnsmasq --test` first) and restarts it only on change. */
export function renderDnsmasqSetupScript(o: DnsmasqHostOptions): string {
  const path = o.configPath ?? "/etc/dnsmasq.d/kvmcloud.conf";
  checkAbsolutePath("configPath", path);
  const conf = renderDnsmasqConf(o.dnsmasq);
  const leaseDir = o.dnsmasq.leaseFile.replace(/\/[^/]+$/, "") || "/";
  return bashScript("dnsmasq with the kvm-cloud VM network config", [
    aptInstallStep([...DNSMASQ_PACKAGES]),
    `install -d -m 0755 ${quote(leaseDir)}`,
    // dnsmasq watches it from the start (inotify), so it exists before dnsmasq does.
    ...(o.dnsmasq.hostsDir !== undefined ? [`install -d -m 0755 ${quote(o.dnsmasq.hostsDir)}`] : []),
    // A config dnsmasq rejects must never replace a working one.
    writeFileStep(path, conf, { check: (tmp) => `dnsmasq --test --conf-file=${tmp} >&2`, onChange: ["systemctl restart dnsmasq"] }),
    // A crash would otherwise leave the VM network without DHCP and DNS.
    restartOnFailureStep("dnsmasq.service"),
    enableServiceStep("dnsmasq.service"),
    serviceRunningStep("dnsmasq.service"),
  ]);
}

const NAT_TABLE: NftablesTable = { table: "ip kvmcloud_nat", rulesPath: NAT_RULES_PATH, unit: NAT_UNIT, description: "NAT for the VM network" };

/** Pure: the oneshot unit that loads the NAT table at boot. */
export function renderNatUnit(): string {
  return renderNftablesUnit(NAT_TABLE);
}

/** Forwarding on (now and at boot) and the masquerade table loaded (now and at boot). */
export function renderRoutingScript(nat: NatOptions | undefined): string {
  const steps = [
    writeFileStep("/etc/sysctl.d/60-kvmcloud-forward.conf", "net.ipv4.ip_forward = 1\n"),
    "sysctl -q -w net.ipv4.ip_forward=1",
  ];
  steps.push(...(nat ? nftablesTableSteps(NAT_TABLE, renderNatRuleset(nat)) : removeNftablesTableSteps(NAT_TABLE)));
  return bashScript(nat ? `IP forwarding and NAT out of ${nat.outInterface} for the VM network` : "IP forwarding for the VM network (no NAT)", steps);
}
