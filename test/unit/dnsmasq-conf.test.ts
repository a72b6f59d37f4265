import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DnsmasqConfig, renderDnsmasqConf } from "../../lib/dnsmasq/dnsmasq-conf";
import { renderDhcpHostEntry } from "../../lib/vm/address";

const base: DnsmasqConfig = {
  interface: "br0",
  listenAddress: "192.0.2.1",
  domain: "cloud.example",
  upstreamServers: ["198.51.100.53"],
  rangeStart: "192.0.2.100",
  rangeEnd: "192.0.2.200",
  netmask: "255.255.255.0",
  leaseTime: "12h",
  leaseFile: "/var/lib/misc/kvmcloud.leases",
  reservations: [{ mac: "52:54:00:00:00:10", ip: "192.0.2.10", name: "lb" }],
};

function dnsmasqAccepts(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dnsmasq-conf-"));
  try {
    fs.writeFileSync(path.join(dir, "dnsmasq.conf"), text);
    return execFileSync("dnsmasq", ["--test", `--conf-file=${path.join(dir, "dnsmasq.conf")}`], { stdio: "pipe" }).toString() +
      "";
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe("renderDnsmasqConf", () => {
  it("is accepted by the real dnsmasq --test", () => {
    expect(() => dnsmasqAccepts(renderDnsmasqConf(base))).not.toThrow();
  });

  it("is accepted by the real dnsmasq --test with a hosts directory holding a VM's entry", () => {
    const hosts = fs.mkdtempSync(path.join(os.tmpdir(), "dnsmasq-hosts-"));
    try {
      fs.writeFileSync(path.join(hosts, "web-1"), renderDhcpHostEntry({ mac: "52:54:00:AA:00:01", ip: "192.0.2.150", name: "web-1" }));
      const text = renderDnsmasqConf({ ...base, hostsDir: hosts });
      expect(text.split("\n")).toContain(`dhcp-hostsdir=${hosts}`);
      expect(() => dnsmasqAccepts(text)).not.toThrow();
    } finally {
      fs.rmSync(hosts, { recursive: true, force: true });
    }
  });

  it("serves the range, the domain, the router and each reservation", () => {
    const text = renderDnsmasqConf(base);
    const lines = text.split("\n");
    expect(lines).toContain("dhcp-range=192.0.2.100,192.0.2.200,255.255.255.0,12h");
    expect(lines).toContain("domain=cloud.example");
    expect(lines).toContain("expand-hosts");
    expect(lines).toContain("dhcp-option=option:router,192.0.2.1");
    expect(lines).toContain("server=198.51.100.53");
    expect(lines).toContain("dhcp-host=52:54:00:00:00:10,192.0.2.10,lb");
    expect(lines).toContain("dhcp-leasefile=/var/lib/misc/kvmcloud.leases");
  });

  it("is deterministic whatever the order of reservations", () => {
    const two = [
      { mac: "52:54:00:00:00:11", ip: "192.0.2.11", name: "b" },
      { mac: "52:54:00:00:00:10", ip: "192.0.2.10", name: "a" },
    ];
    expect(renderDnsmasqConf({ ...base, reservations: two })).toBe(renderDnsmasqConf({ ...base, reservations: [...two].reverse() }));
  });

  it.each([
    [{ rangeEnd: "192.0.2.50" }, /rangeEnd: "192.0.2.50".*not below rangeStart/],
    [{ rangeStart: "10.0.0.5" }, /rangeStart: "10.0.0.5".*subnet/],
    [{ netmask: "255.0.255.0" }, /netmask/],
    [{ leaseTime: "forever" }, /leaseTime: "forever".*12h/],
    [{ hostsDir: "etc/hosts.d" }, /^hostsDir: "etc\/hosts.d" is not allowed; expected an absolute path without spaces or commas/],
    [{ domain: "Bad_Domain" }, /domain: "Bad_Domain"/],
    [{ reservations: [{ mac: "52:54:00:00:00:10", ip: "192.0.2.150", name: "x" }] }, /reservations\[0\]\.ip: "192.0.2.150".*outside the DHCP range/],
    [{ reservations: [{ mac: "52-54-00-00-00-10", ip: "192.0.2.10", name: "x" }] }, /reservations\[0\]\.mac/],
    [
      { reservations: [{ mac: "52:54:00:00:00:10", ip: "192.0.2.10", name: "x" }, { mac: "52:54:00:00:00:11", ip: "192.0.2.10", name: "y" }] },
      /reservations\[1\]\.ip: "192.0.2.10".*not reserved twice/,
    ],
  ])("rejects %j naming the field", (patch, message) => {
    expect(() => renderDnsmasqConf({ ...base, ...patch } as DnsmasqConfig)).toThrow(message);
  });
});
