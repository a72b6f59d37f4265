import { parseCephDf } from "../../lib/ceph/ceph-df";
import { parseDomStats } from "../../lib/kvm-node/virsh-domstats";
import { fixture } from "../helpers/fixture-runner";

/** The parsers against output captured from the lab (see test/fixtures/monitoring/README.md). */

describe("parseDomStats", () => {
  it("reads a running guest's state, CPU, memory, disks and NIC", () => {
    const [d, ...rest] = parseDomStats(fixture("virsh-domstats-node1.txt"));
    expect(rest).toEqual([]);
    expect(d.name).toBe("h5-fix-da996f");
    expect(d.state).toBe("running");
    expect(d.running).toBe(true);
    expect(d.cpuSeconds).toBeCloseTo(6.43, 6);
    expect(d.vcpus).toBe(1);
    expect(d.memoryBytes).toBe(192 * 1024 * 1024);
    expect(d.disks).toEqual([
      { device: "vda", readBytes: 10283008, writtenBytes: 0 },
      { device: "sda", readBytes: 22708, writtenBytes: 0 },
    ]);
    expect(d.interfaces).toEqual([{ device: "vnet0", receiveBytes: 2197, transmitBytes: 1661 }]);
  });

  it("reads a destroyed guest as shut off, without I/O counters it does not have", () => {
    const [d] = parseDomStats(fixture("virsh-domstats-shutoff.txt"));
    expect(d.state).toBe("shutoff");
    expect(d.running).toBe(false);
    expect(d.disks).toEqual([]);
    expect(d.interfaces).toEqual([]);
  });

  it("reads a node without domains as none, and several domains in order", () => {
    expect(parseDomStats(fixture("virsh-domstats-node2-empty.txt"))).toEqual([]);
    const two = fixture("virsh-domstats-node1.txt") + fixture("virsh-domstats-shutoff.txt").replace(/h5-fix-da996f/g, "other");
    expect(parseDomStats(two).map((d) => [d.name, d.state])).toEqual([
      ["h5-fix-da996f", "running"],
      ["other", "shutoff"],
    ]);
  });
});

describe("parseCephDf", () => {
  it("reads the cloud's pool usage as client.libvirt sees it", () => {
    const df = parseCephDf(fixture("ceph-df.json"));
    const pool = df.pools.find((p) => p.name === "libvirt-pool")!;
    expect(pool).toEqual({ name: "libvirt-pool", storedBytes: 10338520, usedBytes: 31113216, maxAvailableBytes: 1725389184, objects: 17, usedRatio: expect.closeTo(0.005975, 5) });
    expect(df.totalBytes).toBe(6442450944);
  });

  it("says what is wrong with an answer that is not ceph df's", () => {
    expect(() => parseCephDf("Error EACCES: access denied")).toThrow(/not JSON/);
    expect(() => parseCephDf("{}")).toThrow(/no stats or pools/);
  });
});
