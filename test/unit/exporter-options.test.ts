import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseExporterOptions } from "../../lib/monitoring/exporter/options";

describe("parseExporterOptions", () => {
  const env = { KVMCLOUD_CLOUD_SPEC: "/etc/kvm-cloud/cloud.json", KVMCLOUD_DHCP_RANGE: "10.0.100.10-10.0.100.250" };

  it("reads the environment, with defaults for the listener and the scrape bound", () => {
    expect(parseExporterOptions([], env)).toEqual({
      cloudSpecFile: "/etc/kvm-cloud/cloud.json",
      dhcpRange: { start: "10.0.100.10", end: "10.0.100.250" },
      listenAddress: "0.0.0.0",
      port: 9810,
      scrapeTimeoutMs: 8000,
    });
  });

  it("lets flags (both spellings) win over the environment", () => {
    const o = parseExporterOptions(["--listen", "10.0.0.2:9900", "--scrape-timeout=4", "--cloud-spec", "/tmp/c.json"], env);
    expect([o.listenAddress, o.port, o.scrapeTimeoutMs, o.cloudSpecFile]).toEqual(["10.0.0.2", 9900, 4000, "/tmp/c.json"]);
  });

  it.each([
    [[], { ...env, KVMCLOUD_CLOUD_SPEC: undefined }, /--cloud-spec \/ KVMCLOUD_CLOUD_SPEC.*path of a CloudSpec/],
    [[], { ...env, KVMCLOUD_DHCP_RANGE: "10.0.100.250-10.0.100.10" }, /KVMCLOUD_DHCP_RANGE: "10.0.100.250-10.0.100.10".*FIRST <= LAST/],
    [[], { ...env, KVMCLOUD_DHCP_RANGE: "10.0.100.10" }, /KVMCLOUD_DHCP_RANGE \(end\)/],
    [["--listen", "9810"], env, /--listen \/ KVMCLOUD_EXPORTER_LISTEN: "9810".*ADDRESS:PORT/],
    [["--scrape-timeout", "0"], env, /KVMCLOUD_SCRAPE_TIMEOUT: "0".*1-120/],
    [["--verbose"], env, /exporter arguments: "--verbose".*one of --cloud-spec/],
    [["--listen"], env, /--listen: undefined.*a value after the flag/],
  ])("rejects %j with a message naming the flag", (argv, e, msg) => {
    expect(() => parseExporterOptions(argv as string[], e)).toThrow(msg);
  });
});

describe("npm run exporter", () => {
  const main = path.join(__dirname, "..", "..", "lib", "monitoring", "exporter", "main.ts");
  const tsNode = path.join(__dirname, "..", "..", "node_modules", ".bin", "ts-node");

  it("refuses a missing spec file by name, without starting", () => {
    const r = spawnSync(tsNode, ["--transpile-only", main, "--cloud-spec", "/nonexistent/cloud.json", "--dhcp-range", "10.0.0.10-10.0.0.20"], { encoding: "utf8", timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/cannot read the CloudSpec at \/nonexistent\/cloud.json: ENOENT/);
  });

  it("refuses a spec it cannot parse or that fails validation without echoing its secrets", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kvmcloud-exporter-spec-"));
    try {
      const broken = path.join(dir, "broken.json");
      fs.writeFileSync(broken, '{ "nodes": [ { "ssh": { "privateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\\nh5-leak-me\\n" } ');
      const bad = path.join(dir, "bad.json");
      fs.writeFileSync(bad, JSON.stringify({ nodes: [{ name: "node1", ssh: { host: "10.0.0.21", privateKey: "h5-leak-me-too" }, libvirtUri: "qemu:///system" }] }));
      const start = (file: string) => spawnSync(tsNode, ["--transpile-only", main, "--cloud-spec", file, "--dhcp-range", "10.0.0.10-10.0.0.20"], { encoding: "utf8", timeout: 60_000 });
      const r1 = start(broken);
      expect(r1.status).toBe(2);
      expect(r1.stderr).toMatch(/cannot read the CloudSpec at .*broken.json: not valid JSON/);
      const r2 = start(bad);
      expect(r2.status).toBe(2);
      expect(r2.stderr).toMatch(/cloud\.nodes\[0\]\.ssh\.privateKey: "\[secret\]"/);
      expect(r1.stderr + r2.stderr).not.toMatch(/h5-leak-me/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
