import { checkClientNetworks } from "../core/cidr";
import { checkIPv4, checkPort } from "../core/network";
import { clientFilterSteps, clientFilterTable, removeNftablesTableSteps } from "../core/nftables-table";
import { aptInstallStep, bashScript, enableServiceStep, serviceRunningStep, writeFileStep } from "../core/script";

/**
 * Debian's prometheus-node-exporter on a kvm-cloud host, bound to the address
 * Prometheus scrapes (not every interface), and when allowedClients is given
 * guarded so that only those networks (Prometheus) reach it: what the host
 * runs and holds is nobody else's business, least of all the guests'.
 * Idempotent: the package is installed once, the defaults file rewritten and
 * the service restarted only when the address or port changed.
 */
export const NODE_EXPORTER_PORT = 9100;

export const NODE_EXPORTER_CLIENTS_TABLE = clientFilterTable("nodeexporter", "who may reach the node exporter");
const DEFAULTS_FILE = "/etc/default/prometheus-node-exporter";

export function renderNodeExporterScript(o: { readonly listenAddress: string; readonly port?: number; readonly allowedClients?: readonly string[] }): string {
  checkIPv4("listenAddress", o.listenAddress);
  const port = o.port ?? NODE_EXPORTER_PORT;
  checkPort("port", port);
  if (o.allowedClients !== undefined) checkClientNetworks("allowedClients", o.allowedClients);
  const defaults = `# Rendered by kvm-cloud.\nARGS="--web.listen-address=${o.listenAddress}:${port}"\n`;
  return bashScript(`prometheus-node-exporter on ${o.listenAddress}:${port}`, [
    aptInstallStep(["prometheus-node-exporter"]),
    writeFileStep(DEFAULTS_FILE, defaults, { onChange: ["systemctl restart prometheus-node-exporter.service"] }),
    enableServiceStep("prometheus-node-exporter.service"),
    serviceRunningStep("prometheus-node-exporter.service"),
    ...clientFilterSteps(NODE_EXPORTER_CLIENTS_TABLE, o.allowedClients, [port]),
  ]);
}

/** On delete: the exporter stops and its guard goes; the package stays (other tools may use it). */
export function renderNodeExporterRemoveScript(): string {
  return bashScript("stop prometheus-node-exporter", [
    "systemctl disable --now prometheus-node-exporter.service >/dev/null 2>&1 || true",
    ...removeNftablesTableSteps(NODE_EXPORTER_CLIENTS_TABLE),
  ]);
}
