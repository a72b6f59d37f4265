import { GUEST_FILTER_UUID, renderGuestFilterXml } from "../../lib/kvm-node/guest-filter";
import { renderGuestFilterScript } from "../../lib/kvm-node/node-script";
import { renderDomainXml } from "../../lib/vm/domain-xml";
import { parseXml, XmlNode } from "../../lib/core/xml";
import { shellcheck } from "../helpers/shellcheck";

/** The guests' nwfilter; the lab's guest-traffic test shows libvirt enforcing it. */
describe("guest traffic filter", () => {
  it("clean: libvirt's clean-traffic, and DHCP server replies dropped before its IPv4 chain accepts them", () => {
    const f = parseXml(renderGuestFilterXml("clean")).filter as XmlNode;
    expect(f["@_name"]).toBe("kvmcloud-guest");
    expect(f["@_chain"]).toBe("root");
    expect(f.filterref).toEqual({ "@_filter": "clean-traffic" });
    const rule = f.rule as XmlNode;
    expect(rule).toMatchObject({ "@_action": "drop", "@_direction": "out", ip: { "@_protocol": "udp", "@_srcportstart": "67", "@_srcportend": "67" } });
    // clean-traffic's no-ip-spoofing chain runs at -710 and returns on the guest's own address.
    expect(Number(rule["@_priority"])).toBeLessThan(-710);
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
