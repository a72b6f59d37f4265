import { quote } from "../core/shell";
import { check } from "../core/errors";
import { checkIPv4, checkPort } from "../core/network";
import { checkClientNetworks } from "../core/cidr";
import { clientFilterSteps, clientFilterTable, removeNftablesTableSteps } from "../core/nftables-table";
import { aptInstallStep, bashScript, readLineStep, serviceRunningStep, writeFileStep } from "../core/script";

/**
 * Monitoring from the distribution's packages, the other choice to Docker
 * containers: Debian's Prometheus under systemd with the rendered config and
 * rules, and the kvm-cloud exporter (one bundled file, lib/monitoring/exporter/bundle.ts)
 * as a systemd service run by plain `node`. Grafana is not packaged by Debian:
 * this runtime has none (the dashboard is an output to import).
 */

export const PROMETHEUS_CONFIG = "/etc/prometheus/prometheus.yml";
export const PROMETHEUS_RULES = "/etc/prometheus/rules/kvm-cloud.rules.yml";
const PROMETHEUS_DEFAULTS = "/etc/default/prometheus";
export const EXPORTER_UNIT = "kvm-cloud-exporter.service";
const EXPORTER_DIR = "/opt/kvm-cloud-exporter";
const EXPORTER_SPEC = "/etc/kvm-cloud/cloud.json";

function checkTries(tries: number): void {
  check(Number.isInteger(tries) && tries >= 1 && tries <= 1000, "tries", tries, "an integer 1-1000");
}

/** Where a probe on the host itself reaches a service bound to `bind`. */
export function localAddress(bind: string): string {
  return bind === "0.0.0.0" ? "127.0.0.1" : bind;
}

/**
 * A bounded wait until GET path on address:port answers 200, by bash's own
 * /dev/tcp (no curl on a minimal host); each try is bounded by `timeout`.
 */
function httpReadyStep(what: string, address: string, port: number, urlPath: string, tries: number): string {
  const probe = `exec 3<>/dev/tcp/${address}/${port} && printf 'GET ${urlPath} HTTP/1.0\\r\\nHost: ${address}\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep ' 200 ' >/dev/null`;
  return [
    "ready=0",
    `for _ in $(seq ${tries}); do`,
    `  if timeout 5 bash -c ${quote(probe)} 2>/dev/null; then ready=1; break; fi`,
    "  sleep 1",
    "done",
    `[ "$ready" = 1 ] || { echo ${quote(`kvm-cloud: ${what} did not answer on ${address}:${port}${urlPath} after ${tries} tries`)} >&2; exit 1; }`,
  ].join("\n");
}

export interface PrometheusPackagesOptions {
  /** The rendered prometheus.yml (renderPrometheusConfig), naming PROMETHEUS_RULES. */
  readonly config: string;
  /** The rendered alert rules (renderAlertRules). */
  readonly rules: string;
  readonly listenAddress: string;
  readonly port: number;
  /** Default 30. */
  readonly retentionDays?: number;
  /** Bounded wait for /-/ready (tries, 1 s apart; default 60). */
  readonly tries?: number;
  /** Networks (CIDR) allowed to reach Prometheus' port; any other source is reset (nftables). Default: any. */
  readonly allowedClients?: readonly string[];
}

export const PROMETHEUS_CLIENTS_TABLE = clientFilterTable("prometheus", "who may reach Prometheus");

/**
 * Prometheus: rules and config checked by promtool before they replace the
 * old ones, reloaded (SIGHUP) when they changed, restarted when its listen
 * address or retention changed, and ready before the script ends.
 */
export function renderPrometheusPackagesScript(o: PrometheusPackagesOptions): string {
  checkIPv4("listenAddress", o.listenAddress);
  checkPort("port", o.port);
  const retention = o.retentionDays ?? 30;
  check(Number.isInteger(retention) && retention >= 1 && retention <= 3650, "retentionDays", retention, "an integer 1-3650");
  const tries = o.tries ?? 60;
  checkTries(tries);
  check(typeof o.config === "string" && o.config.includes(PROMETHEUS_RULES), "config", "[prometheus.yml]", `a prometheus.yml whose rule_files name ${PROMETHEUS_RULES}`);
  if (o.allowedClients !== undefined) checkClientNetworks("allowedClients", o.allowedClients);
  const args = `--web.listen-address=${o.listenAddress}:${o.port} --storage.tsdb.retention.time=${retention}d`;
  return bashScript(`Prometheus from Debian's package on ${o.listenAddress}:${o.port}`, [
    aptInstallStep(["prometheus"]),
    "restart=0",
    "reload=0",
    writeFileStep(PROMETHEUS_RULES, o.rules, { check: (t) => `promtool check rules ${t} >/dev/null`, onChange: ["reload=1"] }),
    // The config names the rules file by its final path, which now holds the new rules.
    writeFileStep(PROMETHEUS_CONFIG, o.config, { check: (t) => `promtool check config --syntax-only ${t} >/dev/null`, onChange: ["reload=1"] }),
    writeFileStep(PROMETHEUS_DEFAULTS, `# Rendered by kvm-cloud.\nARGS=${quote(args)}\n`, { onChange: ["restart=1"] }),
    "systemctl enable prometheus.service >/dev/null 2>&1",
    'if [ "$restart" = 1 ]; then systemctl restart prometheus.service',
    'elif [ "$reload" = 1 ] && systemctl is-active --quiet prometheus.service; then systemctl reload prometheus.service',
    "else systemctl start prometheus.service; fi",
    httpReadyStep("Prometheus", localAddress(o.listenAddress), o.port, "/-/ready", tries),
    serviceRunningStep("prometheus.service"),
    ...clientFilterSteps(PROMETHEUS_CLIENTS_TABLE, o.allowedClients, [o.port]),
  ]);
}

/** On delete: Prometheus stops and its filter goes; the package and its data stay. */
export function renderPrometheusPackagesRemoveScript(): string {
  return bashScript("stop Prometheus (data kept)", ["systemctl disable --now prometheus.service >/dev/null 2>&1 || true", ...removeNftablesTableSteps(PROMETHEUS_CLIENTS_TABLE)]);
}

export interface ExporterServiceOptions {
  /** First and last address of the DHCP range the exporter counts leases against. */
  readonly dhcpRange: { readonly start: string; readonly end: string };
  readonly listenAddress: string;
  readonly port: number;
  /** Bounded wait for /healthz (tries, 1 s apart; default 60). */
  readonly tries?: number;
  /** The exporter's bound on one scrape (--scrape-timeout), below Prometheus' timeout. Default: the exporter's (8 s). */
  readonly scrapeTimeoutSeconds?: number;
}

/** The exporter's unit: no root, no writable system, the spec as a credential only it can read. */
export function renderExporterUnit(o: ExporterServiceOptions): string {
  return [
    "# Rendered by kvm-cloud.",
    "[Unit]",
    "Description=kvm-cloud exporter (Prometheus metrics of the cloud)",
    "After=network-online.target",
    "Wants=network-online.target",
    "",
    "[Service]",
    `ExecStart=/usr/bin/node ${EXPORTER_DIR}/kvm-cloud-exporter.js --cloud-spec %d/cloud.json --dhcp-range ${o.dhcpRange.start}-${o.dhcpRange.end} --listen ${o.listenAddress}:${o.port}` +
      (o.scrapeTimeoutSeconds === undefined ? "" : ` --scrape-timeout ${o.scrapeTimeoutSeconds}`),
    `LoadCredential=cloud.json:${EXPORTER_SPEC}`,
    "DynamicUser=yes",
    "NoNewPrivileges=yes",
    "ProtectSystem=strict",
    "ProtectHome=yes",
    "PrivateTmp=yes",
    "Restart=always",
    "RestartSec=2",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/**
 * The kvm-cloud exporter as a service. stdin: the CloudSpec JSON base64 on one
 * line (it holds SSH keys and the inventory's passwords), then the bundle
 * gzipped and base64-encoded (exporterStdin). Restarted only when the spec,
 * the code or the unit changed; answering /healthz before the script ends.
 */
export function renderExporterServiceScript(o: ExporterServiceOptions): string {
  checkIPv4("dhcpRange.start", o.dhcpRange?.start);
  checkIPv4("dhcpRange.end", o.dhcpRange?.end);
  checkIPv4("listenAddress", o.listenAddress);
  checkPort("port", o.port);
  if (o.scrapeTimeoutSeconds !== undefined) check(Number.isInteger(o.scrapeTimeoutSeconds) && o.scrapeTimeoutSeconds >= 1 && o.scrapeTimeoutSeconds <= 120, "scrapeTimeoutSeconds", o.scrapeTimeoutSeconds, "whole seconds 1-120");
  const tries = o.tries ?? 60;
  checkTries(tries);
  const js = `${EXPORTER_DIR}/kvm-cloud-exporter.js`;
  return bashScript(`the kvm-cloud exporter on ${o.listenAddress}:${o.port} (spec and code on stdin)`, [
    // Debian 12's nodejs (18) runs the bundle; an installed newer one is kept.
    aptInstallStep(["nodejs"]),
    readLineStep("spec_b64"),
    "changed=0",
    `install -d -m 0755 ${quote(EXPORTER_DIR)} /etc/kvm-cloud`,
    // The secret never reaches a command line: printf is a builtin.
    `tmp=$(umask 077 && mktemp ${quote("/etc/kvm-cloud/.cloud.json.XXXXXX")})`,
    `printf '%s' "$spec_b64" | base64 -d > "$tmp"`,
    `if cmp -s "$tmp" ${quote(EXPORTER_SPEC)}; then rm -f "$tmp"; else chmod 0400 "$tmp"; mv -f "$tmp" ${quote(EXPORTER_SPEC)}; changed=1; fi`,
    `base64 -d | gunzip > ${quote(`${js}.kvmcloud-new`)}`,
    `if cmp -s ${quote(`${js}.kvmcloud-new`)} ${quote(js)}; then rm -f ${quote(`${js}.kvmcloud-new`)}; else chmod 0644 ${quote(`${js}.kvmcloud-new`)}; mv -f ${quote(`${js}.kvmcloud-new`)} ${quote(js)}; changed=1; fi`,
    writeFileStep(`/etc/systemd/system/${EXPORTER_UNIT}`, renderExporterUnit(o), { onChange: ["systemctl daemon-reload", "changed=1"] }),
    `systemctl enable ${EXPORTER_UNIT} >/dev/null 2>&1`,
    `if [ "$changed" = 1 ]; then systemctl restart ${EXPORTER_UNIT}; else systemctl start ${EXPORTER_UNIT}; fi`,
    httpReadyStep("the kvm-cloud exporter", localAddress(o.listenAddress), o.port, "/healthz", tries),
    serviceRunningStep(EXPORTER_UNIT),
  ]);
}

/** stdin for renderExporterServiceScript. */
export function exporterStdin(specJson: string, bundleGzip: Buffer): string {
  return `${Buffer.from(specJson, "utf8").toString("base64")}\n${bundleGzip.toString("base64")}\n`;
}

/** On delete: the service stops and goes, and with it the spec (it holds secrets). */
export function renderExporterServiceRemoveScript(): string {
  return bashScript("remove the kvm-cloud exporter service", [
    `systemctl disable --now ${EXPORTER_UNIT} >/dev/null 2>&1 || true`,
    `rm -f ${quote(`/etc/systemd/system/${EXPORTER_UNIT}`)} ${quote(EXPORTER_SPEC)} ${quote(`${EXPORTER_DIR}/kvm-cloud-exporter.js`)}`,
    "systemctl daemon-reload",
  ]);
}
