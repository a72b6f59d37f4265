import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { EXPORTER_MAIN, exporterBundle, REPO_ROOT } from "../../lib/exporter/bundle";
import { parseExposition, value } from "../helpers/exposition";

/**
 * The files the Monitoring component ships to the exporter's node container:
 * complete (plain node runs them, nothing missing), and a service that keeps
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
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "kvmcloud-exporter-bundle-"));
  for (const f of bundle.files) {
    fs.mkdirSync(path.dirname(path.join(dir, f.path)), { recursive: true });
    fs.writeFileSync(path.join(dir, f.path), f.content);
  }
  fs.writeFileSync(path.join(dir, "package.json"), bundle.packageJson);
  // What `npm install` gives the container, taken from this checkout.
  fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(dir, "node_modules"));
});

afterAll(() => {
  child?.kill("SIGKILL");
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("the exporter bundle", () => {
  it("holds main and everything it imports, as JavaScript, and names its npm packages", () => {
    const paths = bundle.files.map((f) => f.path);
    expect(paths).toEqual(expect.arrayContaining([EXPORTER_MAIN, "lib/exporter/scrape.js", "lib/transport/ssh-runner.js", "lib/parse/virsh-domstats.js", "lib/cloud/cloud-spec.js"]));
    expect(paths.every((p) => p.endsWith(".js"))).toBe(true);
    // Nothing of Pulumi, the lab or the tests travels to the monitoring host.
    expect(paths.filter((p) => /^(components|lab|test|stacks|dynamic-providers)\//.test(p))).toEqual([]);
    const deps = JSON.parse(bundle.packageJson).dependencies;
    expect(Object.keys(deps)).toEqual(expect.arrayContaining(["pg", "prom-client", "ssh2"]));
    expect(Object.keys(deps)).not.toContain("@pulumi/pulumi");
    expect(exporterBundle()).toEqual(bundle);
  });

  it("runs under plain node: --help", () => {
    const r = spawnSync(process.execPath, [path.join(dir, EXPORTER_MAIN), "--help"], { encoding: "utf8", timeout: 30_000 });
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
      dhcp: { ssh: ssh(1), leaseFile: "/var/lib/misc/dnsmasq.leases", domain: "cloud.example" },
      inventory: { postgresUrl: "postgres://kvmcloud:pg-pw-h5@127.0.0.1:1/kvmcloud", redisUrl: "redis://:x@127.0.0.1:1/0" },
    }), { mode: 0o600 });
    const port = await freePort();
    child = spawn(process.execPath, [path.join(dir, EXPORTER_MAIN), "--cloud-spec", spec, "--dhcp-range", "10.0.100.10-10.0.100.20", "--listen", `127.0.0.1:${port}`, "--scrape-timeout", "3"], { stdio: ["ignore", "pipe", "pipe"] });
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
