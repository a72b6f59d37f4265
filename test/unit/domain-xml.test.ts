import { DomainSpec, METADATA_NS, renderDomainXml } from "../../lib/vm/domain-xml";
import { renderCephSecretXml } from "../../lib/kvm-node/libvirt-secret";
import { renderRbdPoolXml } from "../../lib/kvm-node/libvirt-pool";
import { asArray, parseXml, XmlNode } from "../../lib/core/xml";

const spec: DomainSpec = {
  name: "web-1",
  domainType: "qemu",
  vcpus: 2,
  maxVcpus: 4,
  memoryMiB: 256,
  rbd: { pool: "libvirt-pool", monitors: ["10.77.0.11", "10.77.0.12"], clientName: "libvirt", secretUuid: "3f0e8a34-1c2b-4d5e-9f60-718293a4b5c6" },
  diskImage: "web-1-root",
  seedImage: "web-1-seed",
  mac: "52:54:00:12:34:56",
  bridge: "br0",
  metadata: { name: "web-1", image: "libvirt-pool/tiny@base", note: "<&'\">" },
};

const dom = (s: DomainSpec) => parseXml(renderDomainXml(s)).domain as XmlNode;

describe("renderDomainXml", () => {
  it("boots from an RBD disk with cephx auth on every monitor", () => {
    const devices = dom(spec).devices as XmlNode;
    const [disk, seed] = asArray(devices.disk as XmlNode[]);
    const source = disk.source as XmlNode;
    expect(disk["@_device"]).toBe("disk");
    expect(source["@_protocol"]).toBe("rbd");
    expect(source["@_name"]).toBe("libvirt-pool/web-1-root");
    expect(asArray(source.host as XmlNode[]).map((h) => h["@_name"])).toEqual(["10.77.0.11", "10.77.0.12"]);
    expect(((disk.auth as XmlNode).secret as XmlNode)["@_uuid"]).toBe(spec.rbd.secretUuid);
    expect((disk.target as XmlNode)["@_bus"]).toBe("virtio");
    expect(seed["@_device"]).toBe("cdrom");
    expect((seed.source as XmlNode)["@_name"]).toBe("libvirt-pool/web-1-seed");
    expect(seed).toHaveProperty("readonly");
  });

  it("puts the NIC on the bridge with the given MAC and sizes CPU and memory", () => {
    const d = dom(spec);
    const nic = (d.devices as XmlNode).interface as XmlNode;
    expect((nic.mac as XmlNode)["@_address"]).toBe("52:54:00:12:34:56");
    expect((nic.source as XmlNode)["@_bridge"]).toBe("br0");
    expect(d["@_type"]).toBe("qemu");
    expect(d.vcpu).toEqual({ "@_placement": "static", "@_current": "2", "#text": "4" });
    expect(d.currentMemory).toEqual({ "@_unit": "MiB", "#text": "256" });
  });

  it("keeps metadata in its own namespace, escaped", () => {
    const meta = (dom(spec).metadata as XmlNode)["kvmcloud:vm"] as XmlNode;
    expect(meta["@_xmlns:kvmcloud"]).toBe(METADATA_NS);
    expect(meta["kvmcloud:note"]).toBe("<&'\">");
  });

  it("leaves the seed out when there is none", () => {
    expect(asArray((dom({ ...spec, seedImage: undefined }).devices as XmlNode).disk as XmlNode[])).toHaveLength(1);
  });

  it.each([
    [{ vcpus: 0 }, /vcpus: 0 .*1-64/],
    [{ maxVcpus: 1 }, /maxVcpus: 1 .*from vcpus \(2\)/],
    [{ memoryMiB: 32 }, /memoryMiB: 32 .*64-1048576/],
    [{ mac: "not-a-mac" }, /mac: "not-a-mac"/],
    [{ name: "bad name" }, /name: "bad name"/],
    [{ diskImage: "a/b" }, /diskImage: "a\/b"/],
  ])("rejects %j naming the field", (patch, message) => {
    expect(() => renderDomainXml({ ...spec, ...patch } as DomainSpec)).toThrow(message);
  });
});

describe("libvirt secret and pool XML", () => {
  it("describes the cephx secret without the key", () => {
    const s = parseXml(renderCephSecretXml({ uuid: spec.rbd.secretUuid, clientName: "libvirt" })).secret as XmlNode;
    expect(s.uuid).toBe(spec.rbd.secretUuid);
    expect(s.usage).toEqual({ "@_type": "ceph", name: "client.libvirt secret" });
    expect(s["@_private"]).toBe("yes");
  });

  it("describes an RBD pool on the monitors", () => {
    const p = parseXml(renderRbdPoolXml({ cephPool: "libvirt-pool", monitors: ["10.77.0.11"], clientName: "libvirt", secretUuid: spec.rbd.secretUuid })).pool as XmlNode;
    expect(p["@_type"]).toBe("rbd");
    expect(((p.source as XmlNode).auth as XmlNode)["@_username"]).toBe("libvirt");
    expect(() => renderRbdPoolXml({ cephPool: "p", monitors: [], clientName: "libvirt", secretUuid: spec.rbd.secretUuid })).toThrow(/monitors/);
  });
});
