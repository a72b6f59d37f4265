import { DnsmasqServer, DnsmasqServerArgs } from "../../components/dnsmasq-server";
import { installMocks, isWrappedSecret, plainInputsText, Registered, settle, valueOf, REMOTE_COMMAND, unwrapSecrets } from "../helpers/pulumi-mocks";

/**
 * DnsmasqServer under Pulumi's mocks: what the host gets, when its scripts
 * run again, that the SSH key stays secret, and that bad args fail before
 * anything is registered.
 */
const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nh4a-test-key\n-----END OPENSSH PRIVATE KEY-----\n";

const args: DnsmasqServerArgs = {
  connection: { host: "192.0.2.1", privateKey: KEY },
  interface: "br0",
  listenAddress: "192.0.2.1",
  netmask: "255.255.255.0",
  domain: "cloud.example",
  upstreamServers: ["198.51.100.53"],
  rangeStart: "192.0.2.100",
  rangeEnd: "192.0.2.200",
  reservations: [{ mac: "52:54:00:00:00:10", ip: "192.0.2.10", name: "lb" }],
  natInterface: "eth1",
};

async function build(a: DnsmasqServerArgs): Promise<{ reg: Registered[]; server: DnsmasqServer }> {
  const reg = installMocks();
  const server = new DnsmasqServer("dns", a);
  await valueOf(server.range);
  await settle();
  return { reg, server };
}

const commands = (reg: Registered[]) => reg.filter((r) => r.type === REMOTE_COMMAND);
const byName = (reg: Registered[], name: string) => reg.find((r) => r.name === name)!;
const script = (r: Registered) => String(r.inputs.script);

describe("DnsmasqServer", () => {
  it("gives the host dnsmasq with the rendered config and a NAT out of the uplink", async () => {
    const { reg, server } = await build(args);
    expect(reg.find((r) => r.type === "kvmcloud:index:DnsmasqServer")?.name).toBe("dns");
    expect(commands(reg).map((r) => r.name).sort()).toEqual(["dns-dnsmasq", "dns-routing"]);
    const dnsmasq = script(byName(reg, "dns-dnsmasq"));
    expect(dnsmasq).toContain("dhcp-range=192.0.2.100,192.0.2.200,255.255.255.0,12h");
    expect(dnsmasq).toContain("dhcp-host=52:54:00:00:00:10,192.0.2.10,lb");
    expect(dnsmasq).toContain("dhcp-authoritative");
    const routing = script(byName(reg, "dns-routing"));
    expect(routing).toContain("ip saddr 192.0.2.0/24 ip daddr != 192.0.2.0/24 oifname \"eth1\" masquerade");
    expect(routing).toContain("net.ipv4.ip_forward=1");
    expect(await valueOf(server.address)).toBe("192.0.2.1");
    expect(await valueOf(server.domain)).toBe("cloud.example");
    expect(await valueOf(server.leaseFile)).toBe("/var/lib/misc/dnsmasq.kvmcloud.leases");
    expect(await valueOf(server.range)).toEqual({ start: "192.0.2.100", end: "192.0.2.200" });
  });

  it("runs the dnsmasq script again when a reservation changes, and leaves routing alone", async () => {
    const before = await build(args);
    const after = await build({ ...args, reservations: [{ mac: "52:54:00:00:00:11", ip: "192.0.2.11", name: "lb" }] });
    const trig = (reg: Registered[], n: string) => JSON.stringify(unwrapSecrets([byName(reg, n).inputs.script, byName(reg, n).inputs.stdin]));
    expect(trig(after.reg, "dns-dnsmasq")).not.toBe(trig(before.reg, "dns-dnsmasq"));
    expect(trig(after.reg, "dns-routing")).toBe(trig(before.reg, "dns-routing"));
  });

  it("keeps the SSH private key secret in every command", async () => {
    const { reg } = await build(args);
    for (const c of commands(reg)) {
      const conn = c.inputs.connection as Record<string, unknown>;
      const key = isWrappedSecret(conn) ? conn : conn.privateKey;
      expect(isWrappedSecret(key)).toBe(true);
      expect(String(c.inputs.script)).not.toContain("h4a-test-key");
    }
  });

  it("without natInterface turns forwarding on and removes an old NAT table", async () => {
    const { reg } = await build({ ...args, natInterface: undefined });
    const routing = script(byName(reg, "dns-routing"));
    expect(routing).not.toContain("masquerade");
    expect(routing).toContain("nft delete table ip kvmcloud_nat");
  });

  it.each<[string, Partial<DnsmasqServerArgs>, RegExp]>([
    ["a reservation inside the range", { reservations: [{ mac: "52:54:00:00:00:10", ip: "192.0.2.150", name: "lb" }] }, /reservations\[0\]\.ip: "192.0.2.150".*outside the DHCP range 192.0.2.100-192.0.2.200/],
    ["a range outside the subnet", { rangeEnd: "198.51.100.9" }, /rangeEnd: "198.51.100.9"/],
    ["NAT out of the VM interface", { natInterface: "br0" }, /natInterface: "br0".*the uplink/],
    ["a bad lease time", { leaseTime: "forever" }, /leaseTime: "forever"/],
  ])("fails on %s before registering anything", async (_what, patch, message) => {
    const reg = installMocks();
    expect(() => new DnsmasqServer("dns", { ...args, ...patch })).toThrow(message);
    await settle();
    expect(reg).toHaveLength(0);
  });

});
