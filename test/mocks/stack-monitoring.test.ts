import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { loadDevStack } from "../helpers/dev-stack";
import { Registered, REMOTE_COMMAND, unwrapSecrets, valueOf } from "../helpers/pulumi-mocks";
import { writtenFile } from "../helpers/written-file";

/**
 * The stack's Monitoring under Pulumi's mocks with Pulumi.dev.yaml (runtime
 * "packages") and with its database host switched to "docker": every host's
 * node exporter, the Ceph manager and the load balancer's HAProxy in
 * Prometheus' config, the exporter fed the stack's CloudSpec, and the URLs
 * (and with Docker the Grafana password) as outputs.
 */
jest.setTimeout(60_000);


function loadWith(runtime: "docker" | "packages") {
  return loadDevStack((config) => {
    config["kvm-cloud:cloud"] = { ...config["kvm-cloud:cloud"], database: { ...config["kvm-cloud:cloud"].database, runtime } };
  });
}

type Jobs = Record<string, string[]>;
function jobs(prometheusYml: string): Jobs {
  const config = parse(prometheusYml);
  return Object.fromEntries(
    (config.scrape_configs as Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>).map((j) => [j.job_name, j.static_configs.flatMap((s) => s.targets).sort()]),
  );
}
const EVERY_HOST = ["192.0.2.1", "192.0.2.11", "192.0.2.12", "192.0.2.13", "192.0.2.21", "192.0.2.22", "192.0.2.3", "192.0.2.4"].map((a) => `${a}:9100`).sort();

describe("stacks/index.ts: monitoring (Pulumi.dev.yaml, runtime packages)", () => {
  let loaded: { reg: Registered[]; stack: Record<string, any> };
  beforeAll(async () => {
    loaded = await loadWith("packages");
  });

  it("has Prometheus on the database host scrape every host's node exporter, the Ceph manager, HAProxy and the exporter beside it", () => {
    const prom = loaded.reg.find((r) => r.name === "monitoring-prometheus")!;
    expect(prom.type).toBe(REMOTE_COMMAND);
    expect((unwrapSecrets(prom.inputs.connection) as { host: string }).host).toBe("192.0.2.3");
    const targets = jobs(writtenFile(String(prom.inputs.script), "/etc/prometheus/prometheus.yml"));
    expect(targets.node).toEqual(EVERY_HOST);
    expect(targets.ceph).toEqual(["192.0.2.11:9283"]);
    expect(targets.haproxy).toEqual(["192.0.2.4:8404"]);
    expect(targets.kvmcloud).toEqual(["127.0.0.1:9810"]);
    expect(loaded.reg.filter((r) => r.type.startsWith("docker:") || r.type === "pulumi:providers:docker")).toEqual([]);
  });

  it("gives the exporter the stack's CloudSpec on stdin and its DHCP range", () => {
    const exp = loaded.reg.find((r) => r.name === "monitoring-exporter")!;
    const spec = JSON.parse(Buffer.from(String(unwrapSecrets(exp.inputs.stdin)).split("\n")[0], "base64").toString());
    expect(spec.nodes.map((n: { name: string }) => n.name)).toEqual(["node1", "node2"]);
    expect(String(exp.inputs.script)).toMatch(/--dhcp-range 192\.0\.2\.100-192\.0\.2\.200/);
  });

  it("outputs the Prometheus URL, and no Grafana", async () => {
    expect(await valueOf(loaded.stack.monitoringUrls.prometheus)).toBe("http://192.0.2.3:9090");
    expect(await valueOf(loaded.stack.monitoringUrls.grafana)).toBeUndefined();
    // No Grafana, no password: the stack exports none (the engine would warn of an undefined output).
    expect(loaded.stack.grafanaAdminPassword).toBeUndefined();
  });
});

describe("stacks/index.ts: monitoring (database runtime docker)", () => {
  let loaded: { reg: Registered[]; stack: Record<string, any> };
  beforeAll(async () => {
    loaded = await loadWith("docker");
  });

  it("scrapes every host's node exporter, the Ceph manager, HAProxy and the exporter", () => {
    const prom = loaded.reg.find((r) => r.name === "monitoring-prometheus")!;
    const uploads = unwrapSecrets(prom.inputs.uploads) as Array<{ file: string; content: string }>;
    const targets = jobs(uploads.find((u) => u.file === "/etc/prometheus/prometheus.yml")!.content);
    expect(targets.node).toEqual(EVERY_HOST);
    expect(targets.ceph).toEqual(["192.0.2.11:9283"]);
    expect(targets.haproxy).toEqual(["192.0.2.4:8404"]);
    expect(targets.kvmcloud).toEqual(["monitoring-exporter:9810"]);
  });

  it("gives the exporter the stack's CloudSpec and DHCP range", () => {
    const exp = loaded.reg.find((r) => r.name === "monitoring-exporter")!;
    const uploads = unwrapSecrets(exp.inputs.uploads) as Array<{ file: string; content: string }>;
    const spec = JSON.parse(uploads.find((u) => u.file === "/etc/kvm-cloud/cloud.json")!.content);
    expect(spec.nodes.map((n: { name: string }) => n.name)).toEqual(["node1", "node2"]);
    expect((exp.inputs.command as string[]).join(" ")).toMatch(/--dhcp-range 192\.0\.2\.\d+-192\.0\.2\.\d+/);
  });

  it("outputs the Prometheus and Grafana URLs and a secret admin password", async () => {
    expect(await valueOf(loaded.stack.monitoringUrls.prometheus)).toBe("http://192.0.2.3:9090");
    expect(await valueOf(loaded.stack.monitoringUrls.grafana)).toBe("http://192.0.2.3:3000");
    expect(await pulumi.isSecret(loaded.stack.grafanaAdminPassword)).toBe(true);
  });
});
