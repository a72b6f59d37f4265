import { check } from "../../validate/errors";
import { checkIPv4 } from "../../validate/network";
import { aptInstallStep, bashScript, enableServiceStep, serviceRunningStep, writeFileStep } from "./script";

/**
 * Debian's prometheus-node-exporter on a kvm-cloud host, bound to the address
 * Prometheus scrapes (not every interface). Idempotent: the package is
 * installed once, the defaults file rewritten and the service restarted only
 * when the address or port changed.
 */
export const NODE_EXPORTER_PORT = 9100;
const DEFAULTS_FILE = "/etc/default/prometheus-node-exporter";

export function renderNodeExporterScript(o: { readonly listenAddress: string; readonly port?: number }): string {
  checkIPv4("listenAddress", o.listenAddress);
  const port = o.port ?? NODE_EXPORTER_PORT;
  check(Number.isInteger(port) && port >= 1 && port <= 65535, "port", port, "an integer 1-65535");
  const defaults = `# Rendered by kvm-cloud.\nARGS="--web.listen-address=${o.listenAddress}:${port}"\n`;
  return bashScript(`prometheus-node-exporter on ${o.listenAddress}:${port}`, [
    aptInstallStep(["prometheus-node-exporter"]),
    writeFileStep(DEFAULTS_FILE, defaults, { onChange: ["systemctl restart prometheus-node-exporter.service"] }),
    enableServiceStep("prometheus-node-exporter.service"),
    serviceRunningStep("prometheus-node-exporter.service"),
  ]);
}

/** On delete: the exporter stops; the package stays (other tools may use it). */
export function renderNodeExporterRemoveScript(): string {
  return bashScript("stop prometheus-node-exporter", ["systemctl disable --now prometheus-node-exporter.service >/dev/null 2>&1 || true"]);
}
