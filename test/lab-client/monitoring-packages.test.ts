import * as zlib from "zlib";
import { cloudSpecFromLab } from "../../lab/cloud-spec";
import { readLabDescription } from "../../lab/description";
import { DHCP } from "../../lab/topology";
import { exporterBundle } from "../../lib/monitoring/exporter/bundle";
import { renderAlertRules } from "../../lib/monitoring/alert-rules";
import { renderPrometheusConfig } from "../../lib/monitoring/prometheus-config";
import {
  exporterStdin,
  PROMETHEUS_RULES,
  renderExporterServiceRemoveScript,
  renderExporterServiceScript,
  renderPrometheusPackagesRemoveScript,
  renderPrometheusPackagesScript,
} from "../../lib/monitoring/monitoring-packages";
import { PACKAGES_EXPORTER_TARGET } from "../../components/monitoring-packages";
import { NODE_EXPORTER_PORT, renderNodeExporterRemoveScript, renderNodeExporterScript } from "../../lib/monitoring/node-exporter-script";
import { guardSeenByGuest } from "../helpers/guest-like-client";
import { assertInManagerNamespace, ssh, tcpConnect } from "../helpers/lab-client";
import { PrometheusApi } from "../helpers/prometheus-api";
import { RemoteCommands, remoteCommandsTo } from "../helpers/remote-commands";
import { eventually } from "../helpers/vm-lab";

/**
 * Monitoring's packages runtime, script by script, on a bare Debian host of
 * its own (the lab's `lb`: the stack's monitoring runs on `db`), through the
 * RemoteCommand provider in Pulumi's own dynamic-provider host, with the
 * component's rendered scripts: the kvm-cloud exporter runs from its one
 * bundled file under systemd (no npm, no registry, not as root) and reaches
 * the lab's real cloud; Debian's Prometheus scrapes it and admits only the
 * manager (a machine at a guest's address is reset), and scrapes a node
 * exporter beside it that admits only Prometheus' host; a second run
 * restarts nothing; delete stops them and removes the spec and the filters.
 */

jest.setTimeout(10 * 60_000);

const d = readLabDescription();
const address = d.hosts.lb.address;
const [exporterAddress, exporterPort] = PACKAGES_EXPORTER_TARGET.split(":");
const prom = new PrometheusApi(`http://${address}:9090`);
const exporterHost = address;
let commands: RemoteCommands;
let onExporterHost: RemoteCommands;
const made: Array<{ id: string; properties: Record<string, any> }> = [];
let nodeExporter: { id: string; properties: Record<string, any> } | undefined;

const onHost = (argv: string[]) => ssh(d, address, argv, { allowFail: true, timeoutMs: 30_000 });
const active = async (unit: string) => (await onHost(["systemctl", "is-active", unit])).stdout.trim();
const since = async (unit: string) => (await onHost(["systemctl", "show", "-p", "ActiveEnterTimestampMonotonic", "--value", unit])).stdout.trim();
const exporterProps = () => ({
  script: renderExporterServiceScript({ dhcpRange: { start: DHCP.rangeStart, end: DHCP.rangeEnd }, listenAddress: exporterAddress, port: Number(exporterPort) }),
  stdin: exporterStdin(JSON.stringify(cloudSpecFromLab(d)), zlib.gzipSync(exporterBundle().content, { level: 9 })),
  deleteScript: renderExporterServiceRemoveScript(),
});
const prometheusProps = () => ({
  script: renderPrometheusPackagesScript({
    config: renderPrometheusConfig({
      scrapeIntervalSeconds: 5,
      ruleFiles: [PROMETHEUS_RULES],
      prometheus: { host: "monitoring", address: `${address}:9090` },
      nodeExporters: [{ host: "lb", address: `${exporterHost}:${NODE_EXPORTER_PORT}` }],
      cephManagers: [],
      haproxy: [],
      kvmcloudExporters: [{ host: "monitoring", address: PACKAGES_EXPORTER_TARGET }],
    }),
    rules: renderAlertRules({}),
    listenAddress: "0.0.0.0",
    port: 9090,
    // The tests' manager reads it; a guest on the segment must not.
    allowedClients: [`${d.hosts.mgr.address}/32`],
  }),
  deleteScript: renderPrometheusPackagesRemoveScript(),
});

beforeAll(async () => {
  assertInManagerNamespace(d);
  commands = await remoteCommandsTo(d, address);
  onExporterHost = await remoteCommandsTo(d, exporterHost);
}, 120_000);

afterAll(async () => {
  for (const m of made.reverse()) await commands.host.delete(m.id, m.properties).catch(() => undefined);
  if (nodeExporter) await onExporterHost.host.delete(nodeExporter.id, nodeExporter.properties).catch(() => undefined);
  await commands?.host.stop();
  await onExporterHost?.host.stop();
});

describe("monitoring from Debian's packages on a bare host", () => {
  it("starts with neither Prometheus nor the exporter running", async () => {
    expect(await active("prometheus")).not.toBe("active");
    expect(await active("kvm-cloud-exporter")).not.toBe("active");
  });

  it("runs the exporter's bundle under systemd as a user of its own, with the spec readable by root only", async () => {
    const t0 = Date.now();
    made.push(await commands.run({ ...exporterProps(), timeoutSeconds: 300 }));
    process.stdout.write(`  [monitoring packages] exporter up in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    expect(await active("kvm-cloud-exporter")).toBe("active");
    const pid = (await onHost(["systemctl", "show", "-p", "MainPID", "--value", "kvm-cloud-exporter"])).stdout.trim();
    expect((await onHost(["stat", "-c", "%U", `/proc/${pid}`])).stdout.trim()).not.toBe("root");
    expect((await onHost(["stat", "-c", "%a %U", "/etc/kvm-cloud/cloud.json"])).stdout.trim()).toBe("400 root");
    // Nothing was installed from a registry: one file, no node_modules.
    expect((await onHost(["ls", "-A", "/opt/kvm-cloud-exporter"])).stdout.trim()).toBe("kvm-cloud-exporter.js");
  });

  it("has Debian's Prometheus scrape it, and the exporter sees the lab's nodes and inventory", async () => {
    const t0 = Date.now();
    made.push(await commands.run({ ...prometheusProps(), timeoutSeconds: 300 }));
    process.stdout.write(`  [monitoring packages] prometheus up in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    const up = await eventually("the exporter's series in Prometheus", () => prom.query("kvmcloud_node_up").catch(() => []), (r) => r.length === d.nodes.length, 120_000, 2000);
    expect(up.map((s) => s.metric.node).sort()).toEqual(d.nodes.map((n) => n.name).sort());
    const sources = await eventually(
      "every source up",
      () => prom.query("kvmcloud_scrape_source_up").catch(() => []),
      (r) => r.length > 0 && r.every((s) => s.value[1] === "1"),
      120_000,
      2000,
    );
    expect([...new Set(sources.map((s) => s.metric.source))].sort()).toEqual(["ceph", "dhcp", "inventory", "libvirt", "operations"]);
    expect((await prom.query('up{job="kvmcloud"}')).map((s) => s.value[1])).toEqual(["1"]);
  });

  it("resets a machine at a guest's address on Prometheus' port, and serves the manager", async () => {
    // sshd on the same host is not guarded: the namespace reaches it.
    expect(await guardSeenByGuest(address, 9090, 22)).toEqual(["ECONNREFUSED", "connected"]);
    expect((await prom.query("up")).length).toBeGreaterThan(0);
  });

  it("scrapes a node exporter that admits Prometheus' host only: the manager and a guest are reset", async () => {
    nodeExporter = await onExporterHost.run({
      script: renderNodeExporterScript({ listenAddress: exporterHost, allowedClients: [`${address}/32`] }),
      deleteScript: renderNodeExporterRemoveScript(),
      timeoutSeconds: 300,
    });
    const up = await eventually("lb's node exporter scraped", () => prom.query('up{job="node"}').catch(() => []), (r) => r.length === 1 && r[0].value[1] === "1", 60_000, 2000);
    expect(up[0].metric.host).toBe("lb");
    expect(await guardSeenByGuest(exporterHost, NODE_EXPORTER_PORT, 22)).toEqual(["ECONNREFUSED", "connected"]);
    // This test runs in the manager's namespace, which is not Prometheus' host either.
    expect(await tcpConnect(exporterHost, NODE_EXPORTER_PORT)).toBe("ECONNREFUSED");
  });

  it("restarts nothing when the same scripts run again", async () => {
    const before = [await since("prometheus"), await since("kvm-cloud-exporter")];
    for (const m of made) await commands.host.update(m.id, m.properties, { ...m.properties, script: `${m.properties.script}\n# again\n` });
    expect([await since("prometheus"), await since("kvm-cloud-exporter")]).toEqual(before);
  });

  it("stops both on delete, removes the exporter's spec and Prometheus' filter", async () => {
    for (const m of made.splice(0).reverse()) await commands.host.delete(m.id, m.properties);
    expect(await active("prometheus")).not.toBe("active");
    expect(await active("kvm-cloud-exporter")).not.toBe("active");
    expect((await onHost(["test", "-e", "/etc/kvm-cloud/cloud.json"])).code).not.toBe(0);
    expect((await onHost(["nft", "list", "table", "inet", "kvmcloud_prometheus"])).code).not.toBe(0);
    await onExporterHost.host.delete(nodeExporter!.id, nodeExporter!.properties);
    nodeExporter = undefined;
    expect((await onHost(["systemctl", "is-active", "prometheus-node-exporter"])).stdout.trim()).not.toBe("active");
    expect((await onHost(["nft", "list", "table", "inet", "kvmcloud_nodeexporter"])).code).not.toBe(0);
  });
});
