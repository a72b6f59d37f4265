import { isMac } from "../../lib/core/network";
import { HOSTS, nicMac } from "../../lab/topology";

describe("the lab hosts' NIC MACs", () => {
  it("are valid, locally administered, distinct, and the same on every call (like a real NIC's)", () => {
    const macs = HOSTS.map(nicMac);
    for (const m of macs) {
      expect(isMac(m)).toBe(true);
      // Bit 1 of the first octet: locally administered, so no vendor's address is taken.
      expect(parseInt(m.slice(0, 2), 16) & 0b11).toBe(0b10);
    }
    expect(new Set(macs).size).toBe(HOSTS.length);
    expect(HOSTS.map(nicMac)).toEqual(macs);
    expect(nicMac(HOSTS.find((h) => h.name === "node1")!)).toBe("02:6b:63:4d:00:15");
  });
});
