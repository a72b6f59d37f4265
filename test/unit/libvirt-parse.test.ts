import * as fs from "fs";
import * as path from "path";
import { parseDomainXmlFacts, parseNodeInfo, parseSurveyedDomains } from "../../lib/vm/virsh-output";
import { renderDomainXml } from "../../lib/vm/domain-xml";

// Captured from a lab node (libvirt 9.0, Debian 12) with a VM made by the provider.
const fixture = (f: string) => fs.readFileSync(path.join(__dirname, "../fixtures/virsh", f), "utf8");

describe("virsh output parsers", () => {
  it("reads CPUs and memory from nodeinfo", () => {
    expect(parseNodeInfo(fixture("nodeinfo.txt"))).toEqual({ cpus: 2, memoryMiB: Math.floor(9398492 / 1024) });
    expect(() => parseNodeInfo("error: failed to connect")).toThrow(/virsh nodeinfo: unexpected output/);
  });

  it("reads every domain of a node's survey, its name from its definition, with its state", () => {
    // Two domains made by hand: one running, one whose name `virsh list` would split at its space.
    const text = fixture("survey.txt");
    const domains = parseSurveyedDomains(text, "0123456789abcdef");
    expect(domains.map((x) => [x.name, x.state])).toEqual([
      ["fixture-running", "running"],
      ["fixture outside; list", "shut off"],
    ]);
    expect(domains[1].facts).toMatchObject({ memoryMiB: 96, vcpus: 1, macs: ["52:54:00:0f:00:01"], uuid: "7d1c3a52-55c4-4f4e-9a43-0c1b2f3e4d01", metadata: {} });
    // Another call's marker finds nothing: a marker inside a definition would not be this call's.
    expect(parseSurveyedDomains(text, "fedcba9876543210")).toEqual([]);
  });

  it("leaves out a domain undefined between the listing and its turn", () => {
    const [running] = parseSurveyedDomains(fixture("survey.txt"), "0123456789abcdef");
    const m = "00ff00ff00ff00ff";
    // virsh printed the markers only: its dumpxml and domstate failed (the reasons went to stderr).
    const text = `@@D-${m}@@@@S-${m}@@@@D-${m}@@<domain type='qemu'><name>${running.name}</name><memory unit='KiB'>65536</memory><vcpu>1</vcpu></domain>\n@@S-${m}@@running\n`;
    expect(parseSurveyedDomains(text, m).map((x) => x.name)).toEqual(["fixture-running"]);
  });

  it("reads a live domain's sizes, MAC, RBD volumes and kvm-cloud metadata from dumpxml", () => {
    const f = parseDomainXmlFacts(fixture("dumpxml-running.xml"));
    expect(f).toMatchObject({ name: "fixture-vm", vcpus: 1, maxVcpus: 2, memoryMiB: 192, maxMemoryMiB: 384, macs: ["52:54:00:3f:55:de"] });
    expect(f.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(f.rbdVolumes).toEqual(["libvirt-pool/fixture-vm-root", "libvirt-pool/fixture-vm-seed"]);
    expect(f.metadata).toEqual({ name: "fixture-vm", stack: "dev", image: "libvirt-pool/kvmcloud-tiny@base", createdAt: "2026-11-22T00:32:55.070Z" });
  });

  it("round-trips what renderDomainXml writes", () => {
    const xml = renderDomainXml({
      name: "web-1", domainType: "qemu", vcpus: 3, maxVcpus: 6, memoryMiB: 1024, maxMemoryMiB: 2048, mac: "52:54:00:aa:bb:cc", bridge: "br0",
      rbd: { pool: "p", monitors: ["10.0.0.1"], clientName: "libvirt", secretUuid: "3f0e8a34-1c2b-4d5e-9f60-718293a4b5c6" },
      diskImage: "web-1-root", metadata: { name: "web-1" },
    });
    expect(parseDomainXmlFacts(xml)).toMatchObject({ vcpus: 3, maxVcpus: 6, memoryMiB: 1024, maxMemoryMiB: 2048, macs: ["52:54:00:aa:bb:cc"], rbdVolumes: ["p/web-1-root"], metadata: { name: "web-1" } });
  });

  it("gives foreign domains empty metadata and counts a vcpu without current", () => {
    const f = parseDomainXmlFacts("<domain type='kvm'><name>x</name><uuid>u</uuid><memory unit='GiB'>2</memory><vcpu>4</vcpu><metadata><other:x xmlns:other='urn:o'><other:a>1</other:a></other:x></metadata></domain>");
    expect(f).toMatchObject({ vcpus: 4, maxVcpus: 4, memoryMiB: 2048, maxMemoryMiB: 2048, macs: [], metadata: {} });
  });
});
