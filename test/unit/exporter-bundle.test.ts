import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { exporterBundle } from "../../lib/monitoring/exporter/bundle";
import { parseExposition, value } from "../helpers/exposition";

/**
 * The one file the Monitoring component ships to the monitoring host:
 * complete (plain node runs it from an empty directory: no npm install, no
 * node_modules), and a service that keeps
 * answering with source_up 0 when nothing of the cloud is reachable. Only
 * 127.0.0.1 ports that refuse connections are used: no lab or outside traffic.
 */

jest.setTimeout(60_000);

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n-----END OPENSSH PRIVATE KEY-----\n";
const bundle = exporterBundle();
let dir = "";
let child: ChildProcess | undefined;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get(url, { timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    }).on("error", reject);
  });
}

beforeAll(() => {
  // Outside the checkout, so that no node_modules above it can serve a require().
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "kvmcloud-exporter-bundle-"));
  fs.writeFileSync(path.join(dir, bundle.fileName), bundle.content);
});

const MAIN = () => path.join(dir, bundle.fileName);

afterAll(() => {
  child?.kill("SIGKILL");
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("the exporter bundle", () => {
  it("is one file that requires nothing but Node.js itself, and carries no Pulumi", () => {
    const required = [...bundle.content.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
    const builtins = new Set(require("module").builtinModules as string[]);
    // Only built-ins and the optional native parts that their packages require inside a try.
    const outside = required.filter((r) => !builtins.has(r.replace(/^node:/, "").split("/")[0]));
    expect(outside.every((r) => ["pg-native", "cpu-features"].includes(r) || r.endsWith(".node"))).toBe(true);
    expect(bundle.content).not.toMatch(/@pulumi\/pulumi/);
    expect(bundle.sha256).toMatch(/^[0-9a-f]{64}$/);
    // Small enough to travel on a RemoteCommand's stdin and sit in state.
    expect(bundle.content.length).toBeLessThan(1_500_000);
  });

  it("runs under plain node: --help", () => {
    const r = spawnSync(process.execPath, [MAIN(), "--help"], { encoding: "utf8", timeout: 30_000 });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--cloud-spec FILE/);
  });

  it("serves metrics with every source down when nothing answers, and keeps running", async () => {
    const spec = path.join(dir, "cloud.json");
    const ssh = (port: number) => ({ host: "127.0.0.1", port, privateKey: KEY });
    fs.writeFileSync(spec, JSON.stringify({
      nodes: [{ name: "node1", ssh: ssh(1), libvirtUri: "qemu+ssh://root@127.0.0.1/system" }],
      ceph: { pool: "rbd", monitors: ["127.0.0.1"], secretUuid: "e3c3dc52-76b2-435c-8343-1128a6764eee" },
      dhcp: { ssh: ssh(1), leaseFile: "/var/lib/misc/dnsmasq.leases", domain: "cloud.example", range: { start: "192.0.2.100", end: "192.0.2.199" } },
      inventory: { postgresUrl: "postgres://kvmcloud:pg-pw-h5@127.0.0.1:1/kvmcloud", redisUrl: "redis://:x@127.0.0.1:1/0" },
    }), { mode: 0o600 });
    const port = await freePort();
    child = spawn(process.execPath, [MAIN(), "--cloud-spec", spec, "--dhcp-range", "10.0.100.10-10.0.100.20", "--listen", `127.0.0.1:${port}`, "--scrape-timeout", "3"], { stdio: ["ignore", "pipe", "pipe"] });
    let log = "";
    child.stderr!.on("data", (b: Buffer) => (log += b.toString()));
    const deadline = Date.now() + 20_000;
    while (!log.includes("kvm-cloud exporter on") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const text = await get(`http://127.0.0.1:${port}/metrics`);
    const m = parseExposition(text);
    expect(value(m, "kvmcloud_node_up", { node: "node1" })).toBe(0);
    for (const source of ["inventory", "operations", "libvirt", "dhcp", "ceph"]) {
      expect([source, value(m, "kvmcloud_scrape_source_up", { source })]).toEqual([source, 0]);
    }
    expect(value(parseExposition(await get(`http://127.0.0.1:${port}/metrics`)), "kvmcloud_scrape_errors_total", { source: "libvirt", target: "node1" })).toBe(2);
    expect(child.exitCode).toBeNull();
    expect(log).toMatch(/libvirt node1 failed/);
    expect(log).not.toContain("pg-pw-h5");
    expect(log).not.toContain("not-a-real-key");
  });
});
