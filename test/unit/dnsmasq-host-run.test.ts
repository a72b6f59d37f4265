import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DnsmasqConfig } from "../../lib/dnsmasq/dnsmasq-conf";
import { renderDnsmasqSetupScript, renderRoutingScript } from "../../lib/dnsmasq/dnsmasq-host";

/**
 * The dnsmasq host's scripts run for real on a scratch host: private mount
 * and network namespaces, /etc as an overlay whose changes land in the test's
 * directory, a stub systemctl and dpkg-query (no systemd, no apt here). The
 * real dnsmasq checks the config and the real nft loads the NAT table (in the
 * scratch network namespace only). Needs root.
 */
const CONF: DnsmasqConfig = {
  interface: "br0",
  listenAddress: "192.0.2.1",
  domain: "cloud.example",
  upstreamServers: [],
  rangeStart: "192.0.2.100",
  rangeEnd: "192.0.2.200",
  netmask: "255.255.255.0",
  leaseTime: "12h",
  leaseFile: "/var/lib/misc/h4a.leases",
  hostsDir: "/etc/kvmcloud/h4a-hosts",
  reservations: [],
};
const isRoot = process.getuid?.() === 0;

(isRoot ? describe : describe.skip)("dnsmasq host scripts on a scratch host", () => {
  let dir: string;
  let r: { status: number | null; out: string };
  const read = (f: string) => fs.readFileSync(path.join(dir, f), "utf8");

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "h4a-dnsrun-"));
    for (const d of ["bin", "upper", "work", "var-upper", "var-work"]) fs.mkdirSync(path.join(dir, d));
    fs.writeFileSync(path.join(dir, "bin/systemctl"), `#!/bin/sh\necho "$*" >> ${dir}/systemctl.log\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(dir, "bin/dpkg-query"), "#!/bin/sh\necho 'install ok installed'\n", { mode: 0o755 });
    fs.writeFileSync(path.join(dir, "setup.sh"), renderDnsmasqSetupScript({ dnsmasq: CONF, configPath: "/etc/dnsmasq.d/h4a.conf" }));
    fs.writeFileSync(path.join(dir, "setup-bad.sh"), renderDnsmasqSetupScript({ dnsmasq: CONF, configPath: "/etc/dnsmasq.d/h4a.conf" }).replace("dhcp-authoritative", "dhcp-range=broken"));
    fs.writeFileSync(path.join(dir, "routing.sh"), renderRoutingScript({ sourceCidr: "192.0.2.0/24", outInterface: "eth9" }));
    fs.writeFileSync(path.join(dir, "no-nat.sh"), renderRoutingScript(undefined));
    const driver = `
      set -uo pipefail
      mount -t overlay h4a -o lowerdir=/etc,upperdir=${dir}/upper,workdir=${dir}/work /etc
      mount -t overlay h4a -o lowerdir=/var/lib,upperdir=${dir}/var-upper,workdir=${dir}/var-work /var/lib
      export PATH=${dir}/bin:$PATH
      bash ${dir}/setup.sh; echo "setup1=$?"
      bash ${dir}/setup.sh; echo "setup2=$?"
      bash ${dir}/setup-bad.sh; echo "bad=$?"
      cp /etc/dnsmasq.d/h4a.conf ${dir}/h4a.conf
      bash ${dir}/routing.sh; echo "routing1=$?"
      bash ${dir}/routing.sh; echo "routing2=$?"
      nft list table ip kvmcloud_nat > ${dir}/nat.txt
      sysctl -n net.ipv4.ip_forward > ${dir}/forward.txt
      bash ${dir}/no-nat.sh; echo "nonat=$?"
      nft list tables > ${dir}/tables.txt
    `;
    const res = spawnSync("unshare", ["-m", "-n", "--propagation", "private", "bash", "-c", driver], { encoding: "utf8", timeout: 60_000 });
    r = { status: res.status, out: res.stdout + res.stderr };
  }, 70_000);

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("installs the checked config and restarts dnsmasq once, not on a rerun", () => {
    expect(r.out).toContain("setup1=0");
    expect(r.out).toContain("setup2=0");
    expect(read("systemctl.log").split("\n").filter((l) => l.startsWith("restart"))).toEqual(["restart dnsmasq"]);
    expect(read("systemctl.log")).toContain("enable --now dnsmasq.service");
    // The VMs' hosts directory exists before dnsmasq watches it.
    expect(fs.statSync(path.join(dir, "upper/kvmcloud/h4a-hosts")).isDirectory()).toBe(true);
    expect(read("h4a.conf")).toContain("dhcp-hostsdir=/etc/kvmcloud/h4a-hosts\n");
  });

  it("keeps the working config when dnsmasq rejects the new one", () => {
    expect(r.out).toContain("bad=1");
    expect(r.out).toContain("kvm-cloud: new /etc/dnsmasq.d/h4a.conf failed its check; the old one stays");
    expect(read("h4a.conf")).toContain("dhcp-authoritative");
    expect(fs.readdirSync(path.join(dir, "upper/dnsmasq.d"))).toEqual(["h4a.conf"]);
  });

  it("loads the masquerade table and turns forwarding on, idempotently", () => {
    expect(r.out).toContain("routing1=0");
    expect(r.out).toContain("routing2=0");
    expect(read("nat.txt")).toMatch(/ip saddr 192\.0\.2\.0\/24 ip daddr != 192\.0\.2\.0\/24 oifname "eth9" masquerade/);
    expect(read("nat.txt").match(/masquerade/g)).toHaveLength(1);
    expect(read("forward.txt").trim()).toBe("1");
    expect(read("systemctl.log")).toContain("enable --now kvmcloud-nat.service");
    expect(fs.readFileSync(path.join(dir, "upper/sysctl.d/60-kvmcloud-forward.conf"), "utf8")).toBe("net.ipv4.ip_forward = 1\n");
  });

  it("without NAT removes the table and the unit again", () => {
    expect(r.out).toContain("nonat=0");
    expect(read("tables.txt")).not.toContain("kvmcloud_nat");
    expect(read("systemctl.log")).toContain("disable --now kvmcloud-nat.service");
  });
});
