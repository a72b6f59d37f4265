import { quote } from "../core/shell";
import { checkClientNetworks } from "../core/cidr";
import { checkPort } from "../core/network";
import { clientFilterSteps, clientFilterTable, removeNftablesTableSteps } from "../core/nftables-table";
import { aptInstallStep, bashScript, enableServiceStep, serviceRunningStep } from "../core/script";

/**
 * The load balancer host's scripts. The rendered haproxy.cfg arrives on
 * stdin (it may hold the stats password), is checked by `haproxy -c` before it
 * replaces a working config, and HAProxy is reloaded only when it changed.
 */

export const HAPROXY_CONFIG_PATH = "/etc/haproxy/haproxy.cfg";

export const HAPROXY_STATS_CLIENTS_TABLE = clientFilterTable("haproxystats", "who may reach HAProxy's stats and metrics");

/** Who may reach the stats port (the frontends stay open: they are the service). */
export interface HaproxyStatsGuard {
  readonly port: number;
  /** Networks (CIDR); undefined leaves the port open (and removes an old guard). */
  readonly clients?: readonly string[];
}

export function renderHaproxySetupScript(stats: HaproxyStatsGuard, configPath = HAPROXY_CONFIG_PATH): string {
  checkPort("statsPort", stats.port);
  if (stats.clients !== undefined) checkClientNetworks("statsClients", stats.clients);
  const cfg = quote(configPath);
  const tmp = quote(`${configPath}.kvmcloud-new`);
  return bashScript("HAProxy with the kvm-cloud load balancer config (config on stdin)", [
    aptInstallStep(["haproxy"]),
    `umask 027`,
    `cat > ${tmp}`,
    `chgrp haproxy ${tmp} 2>/dev/null || true`,
    // A config HAProxy rejects must never replace a working one. Not -q: it
    // would hide HAProxy's reason (e.g. "unknown keyword ... in 'backend' section").
    `if ! haproxy -c -f ${tmp} >&2; then`,
    `  rm -f ${tmp}`,
    `  echo ${quote(`kvm-cloud: the new ${configPath} failed haproxy -c; the old one stays`)} >&2`,
    "  exit 1",
    "fi",
    `if cmp -s ${tmp} ${cfg}; then`,
    `  rm -f ${tmp}`,
    "else",
    `  mv -f ${tmp} ${cfg}`,
    "  systemctl reload-or-restart haproxy",
    "fi",
    enableServiceStep("haproxy.service"),
    serviceRunningStep("haproxy.service"),
    ...clientFilterSteps(HAPROXY_STATS_CLIENTS_TABLE, stats.clients, [stats.port]),
  ]);
}

/** On delete: HAProxy stops serving and the stats guard goes; the package and its config stay for inspection. */
export function renderHaproxyRemoveScript(): string {
  return bashScript("stop the kvm-cloud load balancer", [
    "systemctl disable --now haproxy.service >/dev/null 2>&1 || true",
    ...removeNftablesTableSteps(HAPROXY_STATS_CLIENTS_TABLE),
  ]);
}
