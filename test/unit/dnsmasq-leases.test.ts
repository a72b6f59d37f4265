import { leaseForMac, parseDnsmasqLeases } from "../../lib/dnsmasq/leases";

const FILE = [
  "1763770000 52:54:00:aa:bb:01 10.77.100.11 web-1 01:52:54:00:aa:bb:01",
  "1763770100 52:54:00:AA:BB:02 10.77.100.12 * *",
  "0 52:54:00:aa:bb:03 10.77.100.13 db-1 *",
  "duid 00:01:00:01:2c:aa:bb:cc:52:54:00:aa:bb:01",
  "1763770200 1234 2001:db8::5 v6host 00:02",
  "garbage",
  "",
].join("\n");

describe("dnsmasq lease file", () => {
  it("reads IPv4 leases with hostnames and skips DHCPv6 and junk", () => {
    const leases = parseDnsmasqLeases(FILE);
    expect(leases.map((l) => l.ip)).toEqual(["10.77.100.11", "10.77.100.12", "10.77.100.13"]);
    expect(leases[0]).toEqual({ expiresAt: 1763770000, mac: "52:54:00:aa:bb:01", ip: "10.77.100.11", hostname: "web-1", clientId: "01:52:54:00:aa:bb:01" });
    expect(leases[1].hostname).toBeUndefined();
  });

  it("finds the live lease of a MAC in any letter case, and not an expired one", () => {
    const leases = parseDnsmasqLeases(FILE);
    expect(leaseForMac(leases, "52:54:00:AA:BB:01", 1763769000)?.ip).toBe("10.77.100.11");
    expect(leaseForMac(leases, "52:54:00:aa:bb:01", 1763771000)).toBeUndefined();
    expect(leaseForMac(leases, "52:54:00:aa:bb:03", 2000000000)?.hostname).toBe("db-1");
    expect(leaseForMac(leases, "52:54:00:ff:ff:ff", 0)).toBeUndefined();
  });
});
