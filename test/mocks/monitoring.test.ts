import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { Monitoring, MonitoringArgs } from "../../components/monitoring";
import { EXPORTER_FILE } from "../../lib/monitoring/exporter/bundle";
import { CloudSpec } from "../../lib/vm/cloud-spec";
import { readDashboardText } from "../../lib/monitoring/exporter/dashboard";
import { renderAlertRules } from "../../lib/monitoring/alert-rules";
import { PROMETHEUS_DATASOURCE_UID } from "../../lib/monitoring/grafana-provisioning";
import { installComponentMocks } from "../helpers/component-mocks";
import { isWrappedSecret, plainInputsText, Registered, REMOTE_COMMAND, settle, unwrapSecrets, valueOf } from "../helpers/pulumi-mocks";
import * as zlib from "zlib";
import { exporterBundle } from "../../lib/monitoring/exporter/bundle";

/**
 * Monitoring under Pulumi's mocks: Prometheus, Grafana and the exporter as
 * containers on the monitoring host's Docker (over SSH) carrying the rendered
 * config, rules, provisioning and dashboard; node exporters installed where a
 * host has a connection; the CloudSpec and Grafana's password stay secret;
 * bad input fails before anything is registered.
 */
const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nh5-monitoring-key\n-----END OPENSSH PRIVATE KEY-----\n";
const PG_PASSWORD = "h5-pg-password-77";
const cloud: CloudSpec = {
  nodes: [
    { name: "node1", ssh: { host: "192.0.2.21", privateKey: KEY }, libvirtUri: "qemu+ssh://root@192.0.2.21/system" },
    { name: "node2", ssh: { host: "192.0.2.22", privateKey: KEY }, libvirtUri: "qemu+ssh://root@192.0.2.22/system" },
  ],
  ceph: { pool: "libvirt-pool", monitors: ["192.0.2.11"], secretUuid: "e3c3dc52-76b2-435c-8343-1128a6764eee" },
  dhcp: { ssh: { host: "192.0.2.1", privateKey: KEY }, leaseFile: "/var/lib/misc/dnsmasq.leases", domain: "cloud.example", range: { start: "192.0.2.100", end: "192.0.2.199" } },
  inventory: { postgresUrl: `postgres://kvmcloud:${PG_PASSWORD}@192.0.2.3:5432/kvmcloud`, redisUrl: "redis://:r@192.0.2.3:6379/0" },
};

function args(extra: Partial<MonitoringArgs> = {}): MonitoringArgs {
  return {
    connection: { host: "192.0.2.50", privateKey: KEY },
    // The cloud arrives as the Cloud component hands it over: an Output with secrets.
    cloud: pulumi.secret(cloud),
    dhcpRange: { start: "192.0.2.100", end: "192.0.2.200" },
    hosts: [
      { name: "node1", address: "192.0.2.21", connection: { host: "192.0.2.21", privateKey: KEY } },
      { name: "node2", address: pulumi.output("192.0.2.22"), connection: { host: "192.0.2.22", privateKey: KEY } },
      { name: "ceph1", address: "192.0.2.11" },
    ],
    cephManagers: [{ host: "ceph1", address: "192.0.2.11:9283" }],
    haproxy: [{ host: "lb", address: "192.0.2.40:8404" }],
    ...extra,
  };
}

async function build(a: MonitoringArgs): Promise<{ reg: Registered[]; m: Monitoring }> {
  const reg = installComponentMocks();
  const m = new Monitoring("mon", a);
  await valueOf(m.prometheusConfig);
  await valueOf(m.grafanaUrl);
  await settle();
  return { reg, m };
}

const byName = (reg: Registered[], name: string) => {
  const r = reg.find((x) => x.name === name);
  if (!r) throw new Error(`no resource ${name}; have ${reg.map((x) => x.name).join(", ")}`);
  return r;
};
type Upload = { file: string; content: string; permissions?: string; owner?: string };
const uploads = (r: Registered) => unwrapSecrets(r.inputs.uploads) as Upload[];
const upload = (r: Registered, file: string) => {
  const u = uploads(r).find((x) => x.file === file);
  if (!u) throw new Error(`${r.name} uploads no ${file}`);
  return u;
};

describe("Monitoring", () => {
  it("runs Prometheus, Grafana and the exporter as containers on the monitoring host's Docker over SSH", async () => {
    const { reg, m } = await build(args());
    const provider = byName(reg, "mon-docker");
    expect(provider.inputs.host).toBe("ssh://root@192.0.2.50:22");
    for (const c of ["mon-prometheus", "mon-grafana", "mon-exporter"]) {
      expect(byName(reg, c).type).toBe("docker:index/container:Container");
      expect(byName(reg, c).inputs.networksAdvanced).toEqual([{ name: "mon-net" }]);
    }
    expect(byName(reg, "mon-prometheus-data").type).toBe("docker:index/volume:Volume");
    expect(await valueOf(m.prometheusUrl)).toBe("http://192.0.2.50:9090");
    expect(await valueOf(m.grafanaUrl)).toBe("http://192.0.2.50:3000");
  });

  it("gives Prometheus the rendered config (node exporters, Ceph, HAProxy, the exporter) and the alert rules", async () => {
    const { reg, m } = await build(args());
    const prom = byName(reg, "mon-prometheus");
    const config = upload(prom, "/etc/prometheus/prometheus.yml").content;
    expect(config).toBe(await valueOf(m.prometheusConfig));
    const jobs = parse(config).scrape_configs as Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
    const targets = Object.fromEntries(jobs.map((j) => [j.job_name, j.static_configs.flatMap((s) => s.targets)]));
    expect(targets).toEqual({
      prometheus: ["localhost:9090"],
      node: ["192.0.2.21:9100", "192.0.2.22:9100", "192.0.2.11:9100"],
      ceph: ["192.0.2.11:9283"],
      haproxy: ["192.0.2.40:8404"],
      kvmcloud: ["mon-exporter:9810"],
    });
    expect(upload(prom, "/etc/prometheus/rules/kvm-cloud.rules.yml").content).toBe(renderAlertRules());
    expect(prom.inputs.ports).toEqual([{ internal: 9090, external: 9090, ip: "0.0.0.0" }]);
  });

  it("provisions Grafana's Prometheus data source and the repo's dashboard", async () => {
    const { reg } = await build(args());
    const g = byName(reg, "mon-grafana");
    const ds = parse(upload(g, "/etc/grafana/provisioning/datasources/kvm-cloud.yaml").content).datasources[0];
    expect(ds).toMatchObject({ type: "prometheus", uid: PROMETHEUS_DATASOURCE_UID, url: "http://mon-prometheus:9090" });
    expect(upload(g, "/etc/grafana/dashboards/kvm-cloud/kvm-cloud.json").content).toBe(readDashboardText());
    expect(parse(upload(g, "/etc/grafana/provisioning/dashboards/kvm-cloud.yaml").content).providers[0].options.path).toBe("/etc/grafana/dashboards/kvm-cloud");
  });

  it("keeps Grafana's generated admin password secret: output, uploaded file, never the environment", async () => {
    const { reg, m } = await build(args());
    expect(await pulumi.isSecret(m.grafanaAdminPassword)).toBe(true);
    const pw = await valueOf(m.grafanaAdminPassword);
    expect(pw).toBe("generated-mon-grafana-admin-password-0123456789");
    const g = byName(reg, "mon-grafana");
    expect(isWrappedSecret(g.inputs.uploads)).toBe(true);
    expect(upload(g, "/etc/grafana/admin-password")).toMatchObject({ content: pw, owner: "472", permissions: "0400" });
    expect(JSON.stringify(g.inputs.envs)).not.toContain(pw);
    expect(JSON.stringify(g.inputs.envs)).toContain("GF_SECURITY_ADMIN_PASSWORD__FILE=/etc/grafana/admin-password");
  });

  it("uses a given admin password, still secret", async () => {
    const { m, reg } = await build(args({ grafanaAdminPassword: "given-h5-password" }));
    expect(await pulumi.isSecret(m.grafanaAdminPassword)).toBe(true);
    expect(await valueOf(m.grafanaAdminPassword)).toBe("given-h5-password");
    expect(reg.some((r) => r.type.includes("GeneratedPassword"))).toBe(false);
  });

  it("ships the exporter's one-file bundle and the CloudSpec (secret, 0400) to a node container that runs it", async () => {
    const { reg } = await build(args());
    const e = byName(reg, "mon-exporter");
    expect(isWrappedSecret(e.inputs.uploads)).toBe(true);
    const spec = upload(e, "/etc/kvm-cloud/cloud.json");
    expect(spec.permissions).toBe("0400");
    expect(JSON.parse(spec.content).inventory.postgresUrl).toContain(PG_PASSWORD);
    // One bundled file: the container installs nothing at start.
    expect(uploads(e).map((u) => u.file).sort()).toEqual([`/opt/kvm-cloud-exporter/${EXPORTER_FILE}`, "/etc/kvm-cloud/cloud.json"].sort());
    const cmd = (e.inputs.command as string[]).join(" ");
    expect(cmd).toContain(`node /opt/kvm-cloud-exporter/${EXPORTER_FILE}`);
    expect(cmd).not.toContain("npm");
    expect(cmd).toContain("--dhcp-range 192.0.2.100-192.0.2.200");
    // The exporter is reached on the component's network only: no published port.
    expect(e.inputs.ports).toBeUndefined();
    for (const r of reg.filter((x) => x.name !== "mon-exporter")) {
      expect([r.name, plainInputsText(r).includes(PG_PASSWORD)]).toEqual([r.name, false]);
    }
  });

  it("installs node exporters on the hosts it has a connection for, bound to their address", async () => {
    const { reg } = await build(args());
    const installs = reg.filter((r) => r.name.startsWith("mon-node-exporter-")).map((r) => r.name);
    expect(installs).toEqual(["mon-node-exporter-node1", "mon-node-exporter-node2"]);
    const create = String(byName(reg, "mon-node-exporter-node2").inputs.script);
    expect(create).toContain("--web.listen-address=192.0.2.22:9100");
    expect(create).not.toContain("h5-monitoring-key");
    const conn = byName(reg, "mon-node-exporter-node1").inputs.connection as Record<string, unknown>;
    expect(isWrappedSecret(conn) || isWrappedSecret(conn.privateKey)).toBe(true);
    // Unguarded unless asked: a guard left by an earlier run is removed.
    expect(create).toContain("nft delete table inet kvmcloud_nodeexporter");
    expect(create).not.toContain("@allowed");
  });

  it("guards every node exporter it installs to nodeExporterClients, with either runtime", async () => {
    for (const runtime of ["docker", "packages"] as const) {
      const { reg } = await build(args({ runtime, nodeExporterClients: ["192.0.2.50/32"] }));
      for (const n of ["node1", "node2"]) {
        const create = String(byName(reg, `mon-node-exporter-${n}`).inputs.script);
        expect(create).toContain("table inet kvmcloud_nodeexporter");
        expect(create).toContain("elements = { 192.0.2.50/32 }");
        expect(create).toContain("tcp dport { 9100 } ip saddr != @allowed reject with tcp reset");
        expect(String(byName(reg, `mon-node-exporter-${n}`).inputs.deleteScript)).toContain("nft delete table inet kvmcloud_nodeexporter");
      }
    }
  });

  describe('with runtime "packages"', () => {
    it("runs Debian's Prometheus and the exporter under systemd through RemoteCommands, with no Docker and no Grafana", async () => {
      const { reg, m } = await build(args({ runtime: "packages", bindAddress: "192.0.2.50" }));
      expect(reg.filter((r) => r.type.startsWith("docker:"))).toEqual([]);
      expect(reg.some((r) => r.type.includes("GeneratedPassword"))).toBe(false);
      for (const n of ["mon-prometheus", "mon-exporter"]) expect(byName(reg, n).type).toBe(REMOTE_COMMAND);
      const prom = String(byName(reg, "mon-prometheus").inputs.script);
      expect(prom).toContain("--web.listen-address=192.0.2.50:9090");
      expect(prom).toContain("promtool check rules");
      // Prometheus scrapes the exporter and itself on the host: the exporter listens on loopback only.
      const config = parse(await valueOf(m.prometheusConfig));
      const targets = (job: string) => config.scrape_configs.find((j: { job_name: string }) => j.job_name === job).static_configs.flatMap((c: { targets: string[] }) => c.targets);
      expect(targets("kvmcloud")).toEqual(["127.0.0.1:9810"]);
      expect(targets("prometheus")).toEqual(["192.0.2.50:9090"]);
      expect(await valueOf(m.grafanaUrl)).toBeUndefined();
      expect(await valueOf(m.grafanaAdminPassword)).toBeUndefined();
      expect(JSON.parse(await valueOf(m.grafanaDashboard)).title).toBe(JSON.parse(readDashboardText()).title);
    });

    it("sends the CloudSpec and the bundle on the exporter's stdin, a secret, and nowhere else", async () => {
      const { reg } = await build(args({ runtime: "packages" }));
      const e = byName(reg, "mon-exporter");
      expect(isWrappedSecret(e.inputs.stdin)).toBe(true);
      const [specLine, bundleB64] = String(unwrapSecrets(e.inputs.stdin)).split("\n");
      expect(JSON.parse(Buffer.from(specLine, "base64").toString()).inventory.postgresUrl).toContain(PG_PASSWORD);
      expect(zlib.gunzipSync(Buffer.from(bundleB64, "base64")).toString()).toBe(exporterBundle().content);
      expect(String(e.inputs.script)).toContain("--dhcp-range 192.0.2.100-192.0.2.200 --listen 127.0.0.1:9810");
      for (const r of reg) {
        expect([r.name, plainInputsText(r).includes(PG_PASSWORD)]).toEqual([r.name, false]);
      }
    });

    it.each(["grafanaImage", "grafanaPort", "grafanaAdminPassword", "dockerSshOptions", "installDocker"] as const)("refuses %s, a Docker runtime setting, before registering anything", (key) => {
      const reg = installComponentMocks();
      const value = { grafanaImage: "grafana/grafana:11", grafanaPort: 3001, grafanaAdminPassword: "pw-123456789012", dockerSshOptions: ["-i", "k"], installDocker: false }[key];
      expect(() => new Monitoring("mon", args({ runtime: "packages", [key]: value }))).toThrow(new RegExp(`${key}: .*unset with runtime "packages"`));
      expect(reg.filter((r) => r.type !== "kvmcloud:index:Monitoring")).toEqual([]);
    });
  });

  it.each<[string, Partial<MonitoringArgs>, RegExp]>([
    ["an unknown runtime", { runtime: "podman" as never }, /runtime: "podman".*"docker" or "packages"/],
    ["allowed clients with Docker", { allowedClients: ["192.0.2.2/32"] }, /allowedClients: .*unset unless runtime is "packages"/],
    ["an allowed client that is no network", { runtime: "packages", allowedClients: ["192.0.2.2"] }, /allowedClients\[0\]: "192.0.2.2"/],
    ["a node exporter client that is no network", { nodeExporterClients: ["192.0.2.50"] }, /nodeExporterClients\[0\]: "192.0.2.50"/],
    ["a host name that is no DNS label", { hosts: [{ name: "Node_1", address: "192.0.2.21" }] }, /hosts\[0\]\.name: "Node_1"/],
    ["two hosts of one name", { hosts: [{ name: "n", address: "192.0.2.21" }, { name: "n", address: "192.0.2.22" }] }, /hosts\[1\]\.name: "n".*no other host/],
    ["a DHCP range backwards", { dhcpRange: { start: "192.0.2.200", end: "192.0.2.100" } }, /dhcpRange: "192.0.2.200-192.0.2.100".*start <= end/],
    ["a Ceph manager without port", { cephManagers: [{ host: "ceph1", address: "192.0.2.11" }] }, /cephManagers\[0\]\.address: "192.0.2.11".*host:port/],
    ["a bad scrape interval", { scrapeIntervalSeconds: 0 }, /scrapeIntervalSeconds: 0/],
    ["a bad alert pending time", { alertPendingFor: "soon" }, /pendingFor: "soon"/],
    ["a cloud without nodes", { cloud: { ...cloud, nodes: [] } }, /cloud\.nodes/],
    ["a Prometheus port out of range", { prometheusPort: 70000 }, /prometheusPort: 70000.*an integer 1-65535/],
    ["Grafana on Prometheus' port", { prometheusPort: 3000 }, /grafanaPort: 3000.*a port other than prometheusPort 3000/],
    ["a bind address that is no address", { bindAddress: "mgmt" }, /bindAddress: "mgmt".*an IPv4 address/],
    ["an image reference with a space", { exporterImage: "node 20" }, /exporterImage: "node 20".*a Docker image reference/],
  ])("rejects %s before registering anything", (_what, bad, msg) => {
    const reg = installComponentMocks();
    expect(() => new Monitoring("mon", args(bad))).toThrow(msg);
    expect(reg.filter((r) => r.type !== "kvmcloud:index:Monitoring")).toEqual([]);
  });
});
