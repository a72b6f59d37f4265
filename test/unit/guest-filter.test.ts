import { GUEST_FILTER_UUID, renderGuestFilterXml } from "../../lib/kvm-node/guest-filter";
import { renderGuestFilterScript } from "../../lib/kvm-node/node-script";
import { renderDomainXml } from "../../lib/vm/domain-xml";
import { asArray, parseXml, XmlNode } from "../../lib/core/xml";
import { shellcheck } from "../helpers/shellcheck";

/** The guests' nwfilter; the lab's guest-traffic test shows libvirt enforcing it. */
describe("guest traffic filter", () => {
  describe("clean", () => {
    const f = parseXml(renderGuestFilterXml("clean")).filter as XmlNode;
    const rules = asArray(f.rule as XmlNode | XmlNode[]);
    const priority = (r: XmlNode) => Number(r["@_priority"]);
    const find = (action: string, direction: string, match: XmlNode) => {
      const hits = rules.filter((r) => r["@_action"] === action && r["@_direction"] === direction && Object.entries(match).every(([el, a]) => JSON.stringify(r[el]) === JSON.stringify(a)));
      expect(hits).toHaveLength(1);
      return priority(hits[0]);
    };

    it("holds every rule in the root chain: libvirt builds each sub-chain at every start, a dozen ebtables runs each", () => {
      expect(f["@_name"]).toBe("kvmcloud-guest");
      expect(f["@_chain"]).toBe("root");
      expect(f.filterref).toBeUndefined();
      expect(rules.length).toBeGreaterThan(5);
    });

    it("lists the rules in libvirt's order, by priority", () => {
      const ps = rules.map(priority);
      expect(ps).toEqual([...ps].sort((a, b) => a - b));
      for (const p of ps) expect(p >= -1000 && p <= 1000).toBe(true);
    });

    it("drops what the guest sends from another MAC before anything else", () => {
      expect(find("drop", "out", { mac: { "@_match": "no", "@_srcmacaddr": "$MAC" } })).toBe(Math.min(...rules.map(priority)));
    });

    it("drops DHCP server replies before the unaddressed DHCP client is let through", () => {
      const server = find("drop", "out", { ip: { "@_protocol": "udp", "@_srcportstart": "67", "@_srcportend": "67" } });
      const client = find("accept", "out", { ip: { "@_srcipaddr": "0.0.0.0", "@_protocol": "udp" } });
      expect(server).toBeLessThan(client);
    });

    it("accepts IPv4 and ARP only after the drops of other addresses", () => {
      const ipv4 = find("accept", "inout", { mac: { "@_protocolid": "ipv4" } });
      expect(find("drop", "out", { ip: { "@_match": "no", "@_srcipaddr": "$IP" } })).toBeLessThan(ipv4);
      const arp = find("accept", "inout", { mac: { "@_protocolid": "arp" } });
      expect(find("drop", "out", { arp: { "@_match": "no", "@_arpsrcmacaddr": "$MAC" } })).toBeLessThan(arp);
      expect(find("drop", "out", { arp: { "@_match": "no", "@_arpsrcipaddr": "$IP" } })).toBeLessThan(arp);
    });

    it("lets QEMU's RARP announce of the guest's own MAC through, so a migrated guest is found at once", () => {
      const out = rules.find((r) => r["@_direction"] === "out" && r.rarp) as XmlNode;
      expect(out["@_action"]).toBe("accept");
      expect(out.rarp).toMatchObject({ "@_srcmacaddr": "$MAC", "@_arpsrcmacaddr": "$MAC", "@_opcode": "Request_Reverse" });
    });

    it("ends in a drop of anything else, both ways", () => {
      const last = rules[rules.length - 1];
      expect(last).toMatchObject({ "@_action": "drop", "@_direction": "inout" });
      expect(Object.keys(last).filter((k) => !k.startsWith("@_"))).toEqual(["mac"]);
      expect(last.mac).toBe("");
    });
  });

  it("open: the same name with no rule, so domains still migrate to such a node", () => {
    expect(parseXml(renderGuestFilterXml("open"))).toEqual({ filter: { "@_name": "kvmcloud-guest", "@_chain": "root", uuid: GUEST_FILTER_UUID } });
  });

  it("refuses an unknown policy naming the field and the choices", () => {
    expect(() => renderGuestFilterXml("strict" as never)).toThrow(/^guestTraffic: "strict" is not allowed; expected "clean" or "open"/);
  });

  it("carries one UUID everywhere, since libvirt refuses to redefine a filter under another", () => {
    for (const policy of ["clean", "open"] as const) expect((parseXml(renderGuestFilterXml(policy)).filter as XmlNode).uuid).toBe(GUEST_FILTER_UUID);
    expect(GUEST_FILTER_UUID).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("the node script defines it, keeping the UUID of a filter of that name made before, and is shellcheck-clean", () => {
    const text = renderGuestFilterScript("clean");
    expect(text).toContain("virsh nwfilter-define /etc/kvmcloud/libvirt/nwfilter-kvmcloud-guest.xml >/dev/null");
    expect(text).toContain(`sed "s#<uuid>${GUEST_FILTER_UUID}</uuid>#<uuid>$have</uuid>#"`);
    expect(shellcheck(text)).toBe("");
  });

  it("every domain's interface references it", () => {
    const xml = renderDomainXml({
      name: "vm1",
      domainType: "qemu",
      vcpus: 1,
      memoryMiB: 128,
      rbd: { pool: "vms", monitors: ["192.0.2.11"], clientName: "libvirt", secretUuid: "8f14e45f-ceea-467f-a0e6-0a2f1c3b4d5e" },
      diskImage: "vm1-root",
      mac: "52:54:00:12:34:56",
      bridge: "br0",
    });
    const iface = ((parseXml(xml).domain as XmlNode).devices as XmlNode).interface as XmlNode;
    // No IP parameter: libvirt learns the address (the lease is not known when the domain is defined).
    expect(iface.filterref).toEqual({ "@_filter": "kvmcloud-guest" });
  });
});
