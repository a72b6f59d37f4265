import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DnsmasqConfig, renderDnsmasqConf } from "../../lib/dnsmasq/dnsmasq-conf";
import { networkCidr, renderNatRuleset } from "../../lib/dnsmasq/nat";
import { DNSMASQ_DROP_IN, renderDnsmasqSetupScript, renderNatUnit, renderRoutingScript } from "../../lib/dnsmasq/dnsmasq-host";
import { writtenFile } from "../helpers/written-file";
import { remoteInvocation, stdinPayload, writeFileStep } from "../../lib/core/script";
import { shellcheck } from "../helpers/shellcheck";

/**
 * The dnsmasq host's rendered texts, each proven by its real program:
 * dnsmasq --test, nft -c (a check, nothing is loaded), shellcheck.
 */
const base: DnsmasqConfig = {
  interface: "br0",
  listenAddress: "192.0.2.1",
  domain: "cloud.example",
  upstreamServers: ["198.51.100.53", "198.51.100.54"],
  rangeStart: "192.0.2.100",
  rangeEnd: "192.0.2.200",
  netmask: "255.255.255.0",
  leaseTime: "12h",
  leaseFile: "/var/lib/misc/kvmcloud.leases",
  reservations: [
    { mac: "52:54:00:00:00:10", ip: "192.0.2.10", name: "lb" },
    { mac: "52:54:00:00:00:11", ip: "192.0.2.11", name: "db" },
  ],
};

function withFile<T>(name: string, text: string, fn: (file: string) => T): T {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "h4a-"));
  try {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return fn(file);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const dnsmasqTest = (text: string) => withFile("dnsmasq.conf", text, (f) => spawnSync("dnsmasq", ["--test", "-C", f], { encoding: "utf8" }));

describe("dnsmasq.conf variants under the real dnsmasq --test", () => {
  it.each<[string, Partial<DnsmasqConfig>]>([
    ["two upstreams and reservations", {}],
    ["no upstream, not authoritative", { upstreamServers: [], authoritative: false }],
    ["infinite leases, no reservations", { leaseTime: "infinite", reservations: [] }],
    ["a /16 with another router and no DNS port", { netmask: "255.255.0.0", rangeStart: "192.0.100.10", rangeEnd: "192.0.100.250", router: "192.0.0.254", dnsPort: 0, reservations: [] }],
  ])("%s", (_what, patch) => {
    const r = dnsmasqTest(renderDnsmasqConf({ ...base, ...patch }));
    expect(r.stderr + r.stdout).toMatch(/syntax check OK/);
    expect(r.status).toBe(0);
  });

  it("rejects what dnsmasq would reject too (the test harness can fail)", () => {
    const r = dnsmasqTest(renderDnsmasqConf(base) + "dhcp-range=nonsense\n");
    expect(r.status).not.toBe(0);
  });

  it("is authoritative by default and only then", () => {
    expect(renderDnsmasqConf(base).split("\n")).toContain("dhcp-authoritative");
    expect(renderDnsmasqConf({ ...base, authoritative: false }).split("\n")).not.toContain("dhcp-authoritative");
  });
});

describe("renderNatRuleset", () => {
  const nftCheck = (text: string) => withFile("nat.nft", text, (f) => spawnSync("nft", ["-c", "-f", f], { encoding: "utf8" }));

  it("is accepted by the real nft -c", () => {
    const r = nftCheck(renderNatRuleset({ sourceCidr: "10.77.0.0/16", outInterface: "eth0" }));
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("replaces only its own table: declare, delete, redefine", () => {
    const lines = renderNatRuleset({ sourceCidr: "10.77.0.0/16", outInterface: "enp1s0", table: "h4a_nat" }).split("\n");
    expect(lines.slice(1, 4)).toEqual(["table ip h4a_nat", "delete table ip h4a_nat", "table ip h4a_nat {"]);
    expect(lines).toContain('    ip saddr 10.77.0.0/16 ip daddr != 10.77.0.0/16 oifname "enp1s0" masquerade');
  });

  it("derives the VM network from address and netmask", () => {
    expect(networkCidr("192.0.2.1", "255.255.255.0")).toBe("192.0.2.0/24");
    expect(networkCidr("10.77.0.1", "255.255.0.0")).toBe("10.77.0.0/16");
    expect(networkCidr("10.77.200.9", "255.255.252.0")).toBe("10.77.200.0/22");
  });

  it.each<[object, RegExp]>([
    [{ sourceCidr: "10.77.0.1/16", outInterface: "eth0" }, /sourceCidr: "10.77.0.1\/16".*no host bits/],
    [{ sourceCidr: "10.77.0.0/33", outInterface: "eth0" }, /sourceCidr/],
    [{ sourceCidr: "10.77.0.0/16", outInterface: 'eth0" accept' }, /outInterface: .*interface name/],
    [{ sourceCidr: "10.77.0.0/16", outInterface: "eth0", table: "Bad-Table" }, /table: "Bad-Table"/],
  ])("rejects %j naming the field", (o, message) => {
    expect(() => renderNatRuleset(o as never)).toThrow(message);
  });
});

describe("dnsmasq host scripts", () => {
  it("has systemd restart a dnsmasq that dies (Debian's unit never does), with a drop-in systemd's verifier accepts", () => {
    const dropIn = writtenFile(renderDnsmasqSetupScript({ dnsmasq: base }), DNSMASQ_DROP_IN);
    expect(dropIn).toMatch(/^Restart=on-failure$/m);
    // Verified as part of a unit: a drop-in alone is no unit file.
    const unit = `[Unit]\nDescription=x\n[Service]\nExecStart=/bin/true\n${dropIn.replace(/^\[Service\]\n/m, "")}`;
    const r = withFile("kcl-dnsmasq-check.service", unit, (f) => spawnSync("systemd-analyze", ["verify", "--man=no", f], { encoding: "utf8", timeout: 30_000 }));
    expect((r.stdout + r.stderr).split("\n").filter((l) => l.includes("kcl-dnsmasq-check"))).toEqual([]);
  });

  const scripts: Array<[string, string]> = [
    ["setup", renderDnsmasqSetupScript({ dnsmasq: base })],
    ["routing with NAT", renderRoutingScript({ sourceCidr: "192.0.2.0/24", outInterface: "eth1" })],
    ["routing without NAT", renderRoutingScript(undefined)],
  ];

  it("the shellcheck harness does flag a bad script", () => {
    expect(shellcheck("#!/bin/bash\nrm -rf $1/*\n")).toMatch(/SC2086/);
  });

  it.each(scripts)("%s is shellcheck-clean and strict", (_what, text) => {
    expect(text.split("\n").slice(0, 5)).toContain("set -euo pipefail");
    expect(shellcheck(text)).toBe("");
  });

  it.each(scripts)("%s goes over SSH as a shellcheck-clean POSIX command line", (_what, text) => {
    // SC2016: the script is single-quoted on purpose; bash expands it remotely.
    expect(shellcheck(remoteInvocation(text) + "\n", "sh").split("\n").filter((l) => l && !l.includes("SC2016"))).toEqual([]);
  });

  it("runs the invocation as the script with bash, and carries stdin", () => {
    const out = execFileSync("sh", ["-c", remoteInvocation(`set -euo pipefail\nIFS= read -r a\nIFS= read -r b\necho "$a|$b|$0"`)], {
      input: stdinPayload(["x y", "it's"]),
      encoding: "utf8",
    });
    expect(out).toBe("x y|it's|kvmcloud\n");
  });

  it("checks the new config with dnsmasq --test before it replaces the old one, restarting only on change", () => {
    const text = renderDnsmasqSetupScript({ dnsmasq: base, configPath: "/etc/dnsmasq.d/h4a.conf" });
    expect(text).toMatch(/if ! dnsmasq --test --conf-file=\/etc\/dnsmasq.d\/.h4a.conf.kvmcloud-new >&2; then/);
    expect(text.indexOf("dnsmasq --test")).toBeLessThan(text.indexOf("mv -f /etc/dnsmasq.d/.h4a.conf.kvmcloud-new /etc/dnsmasq.d/h4a.conf"));
    expect(text).toMatch(/mv -f \S+ \/etc\/dnsmasq.d\/h4a.conf\n  systemctl restart dnsmasq\nfi/);
  });

  it("loads the NAT table now and at boot", () => {
    const text = renderRoutingScript({ sourceCidr: "192.0.2.0/24", outInterface: "eth1" });
    expect(text).toContain("systemctl enable --now kvmcloud-nat.service");
    expect(renderNatUnit()).toContain("ExecStart=/usr/sbin/nft -f /etc/kvmcloud/nat.nft");
  });

  it("never echoes a secret that is not one line", () => {
    expect(() => stdinPayload(["ok", "AQ-secret\nsecond"])).toThrow(/stdin\[1\]: "\[secret\]"/);
  });
});

describe("the write-file step, run for real", () => {
  it("writes atomically, reports a change once, and leaves an unchanged file alone", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "h4a-write-"));
    try {
      const file = path.join(dir, "a.conf");
      const step = writeFileStep(file, "one 'two' $three\n", { mode: "0600", onChange: ["echo changed"] });
      const run = () => execFileSync("bash", ["-c", `set -euo pipefail\n${step}`], { encoding: "utf8" });
      expect(run()).toBe("changed\n");
      expect(run()).toBe("");
      expect(fs.readFileSync(file, "utf8")).toBe("one 'two' $three\n");
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(fs.readdirSync(dir)).toEqual(["a.conf"]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
