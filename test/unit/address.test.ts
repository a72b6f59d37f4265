import { pickAddress, renderDhcpHostEntry } from "../../lib/vm/address";

describe("pickAddress", () => {
  const range = { start: "10.0.0.10", end: "10.0.0.13" };

  it("takes the lowest address nothing holds, whatever the order of what is taken", () => {
    expect(pickAddress(range, [])).toBe("10.0.0.10");
    expect(pickAddress(range, ["10.0.0.11", "10.0.0.10"])).toBe("10.0.0.12");
    expect(pickAddress(range, ["10.0.0.10", "10.0.0.12"])).toBe("10.0.0.11");
  });

  it("ignores taken addresses outside the range", () => {
    expect(pickAddress(range, ["10.0.0.9", "10.0.0.14"])).toBe("10.0.0.10");
  });

  it("names the range, the count and the field when every address is held", () => {
    expect(() => pickAddress(range, ["10.0.0.10", "10.0.0.11", "10.0.0.12", "10.0.0.13"])).toThrow(
      "no free address in the DHCP range 10.0.0.10-10.0.0.13: all 4 are held by VMs or current leases (cloud.dhcp.range; widen the range or delete VMs)",
    );
  });
});

describe("renderDhcpHostEntry", () => {
  it("is one dnsmasq dhcp-host line with the MAC in lower case", () => {
    expect(renderDhcpHostEntry({ mac: "52:54:00:AB:CD:EF", ip: "10.0.0.10", name: "web-1" })).toBe("52:54:00:ab:cd:ef,10.0.0.10,web-1\n");
  });
});
