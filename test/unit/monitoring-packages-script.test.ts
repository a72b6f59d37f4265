import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import { renderAlertRules } from "../../lib/monitoring/alert-rules";
import { renderPrometheusConfig } from "../../lib/monitoring/prometheus-config";
import {
  exporterStdin,
  PROMETHEUS_RULES,
  renderExporterServiceRemoveScript,
  renderExporterServiceScript,
  renderExporterUnit,
  renderPrometheusPackagesRemoveScript,
  renderPrometheusPackagesScript,
} from "../../lib/monitoring/monitoring-packages";
import { shellcheck } from "../helpers/shellcheck";

/**
 * Monitoring's packages runtime scripts: shellcheck-clean, the rules and
 * config steps checked by the real promtool (a bad file is refused and the
 * old one stays), the exporter's unit accepted by systemd's own verifier, and
 * its stdin read back by bash as the script reads it.
 */

const config = renderPrometheusConfig({
  ruleFiles: [PROMETHEUS_RULES],
  prometheus: { host: "monitoring", address: "127.0.0.1:9090" },
  nodeExporters: [{ host: "dns", address: "192.0.2.1:9100" }],
  cephManagers: [],
  haproxy: [],
  kvmcloudExporters: [{ host: "monitoring", address: "127.0.0.1:9810" }],
});
const rules = renderAlertRules({});
const prometheus = { config, rules, listenAddress: "0.0.0.0", port: 9090 };
const exporter = { dhcpRange: { start: "192.0.2.100", end: "192.0.2.200" }, listenAddress: "127.0.0.1", port: 9810 };

let root = "";
beforeEach(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), "kvmcloud-monitoring-pkg-"))));
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

/** One step of a rendered script, its paths moved under the scratch root. */
function step(script: string, from: string, to: string): string {
  return script.slice(script.indexOf(from), script.indexOf(to)).replace(/\/etc\/prometheus/g, `${root}/etc/prometheus`);
}

describe("renderPrometheusPackagesScript", () => {
  it("is shellcheck-clean, and so are the exporter's and the remove scripts", () => {
    expect(shellcheck(renderPrometheusPackagesScript(prometheus))).toBe("");
    expect(shellcheck(renderExporterServiceScript(exporter))).toBe("");
    expect(shellcheck(renderPrometheusPackagesRemoveScript())).toBe("");
    expect(shellcheck(renderExporterServiceRemoveScript())).toBe("");
  });

  it("guards Prometheus' port with an nftables table only when allowed clients are given, and the remove script drops it", () => {
    const guarded = renderPrometheusPackagesScript({ ...prometheus, allowedClients: ["192.0.2.2/32"] });
    expect(guarded).toContain("elements = { 192.0.2.2/32 }");
    expect(guarded).toMatch(/tcp dport \{ 9090 \} ip saddr != @allowed reject with tcp reset/);
    expect(shellcheck(guarded)).toBe("");
    expect(renderPrometheusPackagesScript(prometheus)).toContain("nft delete table inet kvmcloud_prometheus");
    expect(renderPrometheusPackagesRemoveScript()).toContain("nft delete table inet kvmcloud_prometheus");
  });

  it("writes rules and config that promtool accepts, reloading on change only", () => {
    const script = renderPrometheusPackagesScript(prometheus);
    const files = step(script, "install -d -m 0755 /etc/prometheus/rules", "install -d -m 0755 /etc/default");
    const run = () => spawnSync("bash", ["-euo", "pipefail", "-c", `reload=0\n${files}\necho "reload=$reload"`], { encoding: "utf8" });
    const first = run();
    expect(first.stderr).toBe("");
    expect(first.stdout.trim()).toBe("reload=1");
    expect(fs.readFileSync(`${root}/etc/prometheus/prometheus.yml`, "utf8")).toBe(config.replace(PROMETHEUS_RULES, `${root}${PROMETHEUS_RULES}`));
    expect(run().stdout.trim()).toBe("reload=0");
  });

  it("refuses rules promtool rejects and keeps the old ones", () => {
    const good = renderPrometheusPackagesScript(prometheus);
    const bad = renderPrometheusPackagesScript({ ...prometheus, rules: "groups:\n  - name: x\n    rules:\n      - alert: A\n        expr: 'up =='\n" });
    const files = (s: string) => step(s, "install -d -m 0755 /etc/prometheus/rules", "install -d -m 0755 /etc/prometheus\n");
    expect(spawnSync("bash", ["-euo", "pipefail", "-c", `reload=0\n${files(good)}`], { encoding: "utf8" }).status).toBe(0);
    const r = spawnSync("bash", ["-euo", "pipefail", "-c", `reload=0\n${files(bad)}`], { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`kvm-cloud: new ${root}${PROMETHEUS_RULES} failed its check; the old one stays`);
    expect(fs.readFileSync(`${root}${PROMETHEUS_RULES}`, "utf8")).toBe(rules);
  });

  it.each([
    [{ listenAddress: "0.0.0.0; reboot" }, /listenAddress: "0.0.0.0; reboot"/],
    [{ port: 0 }, /port: 0 .*1-65535/],
    [{ retentionDays: 0 }, /retentionDays: 0 .*1-3650/],
    [{ config: "global: {}\n" }, /config: .*rule_files name \/etc\/prometheus\/rules\/kvm-cloud.rules.yml/],
    [{ allowedClients: ["10.0.0.2"] }, /allowedClients\[0\]: "10.0.0.2"/],
  ])("refuses %j naming the field", (change, msg) => {
    expect(() => renderPrometheusPackagesScript({ ...prometheus, ...change })).toThrow(msg);
  });
});

describe("the exporter service", () => {
  it("has a unit systemd's verifier accepts, running without root and with the spec as a credential", () => {
    const unit = renderExporterUnit(exporter);
    const file = path.join(root, "kvm-cloud-exporter.service");
    fs.writeFileSync(file, unit);
    const r = spawnSync("systemd-analyze", ["verify", "--man=no", file], { encoding: "utf8", timeout: 30_000 });
    // Only its own lines count: the verifier also reports on the machine's units it loads.
    const own = (r.stdout + r.stderr).split("\n").filter((l) => l.includes("kvm-cloud-exporter"));
    expect(own).toEqual([]);
    expect(r.status).toBe(0);
    expect(unit).toMatch(/^DynamicUser=yes$/m);
    expect(unit).toMatch(/^LoadCredential=cloud\.json:\/etc\/kvm-cloud\/cloud\.json$/m);
    expect(unit).toMatch(/--listen 127\.0\.0\.1:9810/);
  });

  it("reads the spec line and then the gzipped bundle from stdin, as bash sees them", () => {
    const spec = JSON.stringify({ inventory: { postgresUrl: "postgres://u:p@h/db" } });
    const code = "console.log('bundle')\n".repeat(5000);
    const input = exporterStdin(spec, zlib.gzipSync(Buffer.from(code)));
    const script = renderExporterServiceScript(exporter);
    const read = script.slice(script.indexOf("IFS= read -r spec_b64"), script.indexOf("\n", script.indexOf("IFS= read -r spec_b64")));
    const r = spawnSync("bash", ["-euo", "pipefail", "-c", `${read}\nprintf '%s' "$spec_b64" | base64 -d > ${root}/spec\nbase64 -d | gunzip > ${root}/code`], { input, encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(fs.readFileSync(`${root}/spec`, "utf8")).toBe(spec);
    expect(fs.readFileSync(`${root}/code`, "utf8")).toBe(code);
  });

  it("refuses a bad range or address naming the field", () => {
    expect(() => renderExporterServiceScript({ ...exporter, dhcpRange: { start: "x", end: "192.0.2.200" } })).toThrow(/dhcpRange.start: "x"/);
    expect(() => renderExporterServiceScript({ ...exporter, listenAddress: "::1" })).toThrow(/listenAddress: "::1"/);
  });
});
