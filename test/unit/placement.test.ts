import { NodeCapacity, placeMany, placeVm, PlacementError } from "../../lib/vm/placement";
import { ValidationError } from "../../lib/core/errors";

const node = (name: string, memoryMiB: number, allocatedMemoryMiB = 0, extra: Partial<NodeCapacity> = {}): NodeCapacity => ({
  name, vcpus: 4, memoryMiB, allocatedMemoryMiB, allocatedVcpus: 0, reachable: true, ...extra,
});

describe("placeVm", () => {
  it("picks the node with the most free memory, not the most total memory", () => {
    const nodes = [node("kvm-1", 8192, 7000), node("kvm-2", 4096, 0), node("kvm-3", 6144, 3000)];
    expect(placeVm(nodes, { memoryMiB: 512, vcpus: 1 })).toBe("kvm-2");
  });

  it("breaks ties by name whatever the input order", () => {
    const a = [node("kvm-2", 4096), node("kvm-1", 4096)];
    expect(placeVm(a, { memoryMiB: 512, vcpus: 1 })).toBe("kvm-1");
    expect(placeVm([...a].reverse(), { memoryMiB: 512, vcpus: 1 })).toBe("kvm-1");
  });

  it("skips unreachable nodes even when they have the most room", () => {
    const nodes = [node("kvm-1", 65536, 0, { reachable: false }), node("kvm-2", 2048)];
    expect(placeVm(nodes, { memoryMiB: 512, vcpus: 1 })).toBe("kvm-2");
  });

  it("puts nothing on a drained node, and says so when one is asked for", () => {
    const nodes = [node("kvm-1", 65536, 0, { drained: true }), node("kvm-2", 2048)];
    expect(placeVm(nodes, { memoryMiB: 512, vcpus: 1 })).toBe("kvm-2");
    expect(() => placeVm(nodes, { memoryMiB: 512, vcpus: 1, node: "kvm-1" })).toThrow(/on pinned node kvm-1: in standby \(drained\)/);
    expect(() => placeVm([nodes[0]], { memoryMiB: 512, vcpus: 1 })).toThrow(/kvm-1: in standby \(drained\)/);
  });

  it("accepts an exact fit", () => {
    expect(placeVm([node("kvm-1", 1024, 512)], { memoryMiB: 512, vcpus: 1 })).toBe("kvm-1");
  });

  it("overcommits vCPUs but refuses a guest wider than the host", () => {
    const busy = node("kvm-1", 4096, 0, { allocatedVcpus: 40 });
    expect(placeVm([busy], { memoryMiB: 512, vcpus: 4 })).toBe("kvm-1");
    expect(() => placeVm([busy], { memoryMiB: 512, vcpus: 5 })).toThrow(/4 host CPUs, 5 vCPUs needed/);
  });

  it("lists each node's free memory when nothing fits", () => {
    const nodes = [node("kvm-2", 4096, 3072), node("kvm-1", 2048, 0), node("kvm-3", 8192, 0, { reachable: false, unreachableReason: "ssh timeout" })];
    let msg = "";
    try {
      placeVm(nodes, { memoryMiB: 4096, vcpus: 1, name: "db-1" });
    } catch (e) {
      expect(e).toBeInstanceOf(PlacementError);
      msg = (e as Error).message;
    }
    expect(msg).toContain("VM db-1 (4096 MiB, 1 vCPUs)");
    expect(msg).toContain("kvm-1: 2048 MiB free");
    expect(msg).toContain("kvm-2: 1024 MiB free");
    expect(msg).toContain("kvm-3: unreachable (ssh timeout)");
    expect(msg.indexOf("kvm-1")).toBeLessThan(msg.indexOf("kvm-2"));
  });

  it("uses a pinned node even when another has more room", () => {
    const nodes = [node("kvm-1", 1024), node("kvm-2", 65536)];
    expect(placeVm(nodes, { memoryMiB: 512, vcpus: 1, node: "kvm-1" })).toBe("kvm-1");
  });

  it("rejects an unknown pinned node as bad input, listing the known ones", () => {
    const nodes = [node("kvm-2", 1024), node("kvm-1", 1024)];
    const f = () => placeVm(nodes, { memoryMiB: 512, vcpus: 1, node: "kvm-9" });
    expect(f).toThrow(ValidationError);
    expect(f).toThrow(/kvm-1, kvm-2/);
  });

  it("names the pinned node and why when it cannot take the VM", () => {
    const down = [node("kvm-1", 4096, 0, { reachable: false, unreachableReason: "libvirtd down" })];
    expect(() => placeVm(down, { memoryMiB: 512, vcpus: 1, node: "kvm-1" })).toThrow(/pinned node kvm-1: unreachable \(libvirtd down\)/);
    const full = [node("kvm-1", 4096, 4000)];
    expect(() => placeVm(full, { memoryMiB: 512, vcpus: 1, node: "kvm-1" })).toThrow(/pinned node kvm-1: 96 MiB free, 512 MiB needed/);
  });

  it("rejects nonsense requests", () => {
    expect(() => placeVm([node("kvm-1", 4096)], { memoryMiB: 0, vcpus: 1 })).toThrow(ValidationError);
    expect(() => placeVm([node("kvm-1", 4096)], { memoryMiB: 512, vcpus: -1 })).toThrow(ValidationError);
  });

  it("fails clearly with no nodes", () => {
    expect(() => placeVm([], { memoryMiB: 512, vcpus: 1 })).toThrow(/no nodes known/);
  });
});

describe("placeMany", () => {
  it("charges each placement before the next, spreading a batch", () => {
    const nodes = [node("kvm-1", 4096), node("kvm-2", 4096)];
    const wants = Array.from({ length: 8 }, () => ({ memoryMiB: 1024, vcpus: 1 }));
    const placed = placeMany(nodes, wants);
    expect(placed).toEqual(["kvm-1", "kvm-2", "kvm-1", "kvm-2", "kvm-1", "kvm-2", "kvm-1", "kvm-2"]);
    expect(nodes[0].allocatedMemoryMiB).toBe(0);
  });

  it("fails on the VM that no longer fits, though each alone would", () => {
    const nodes = [node("kvm-1", 4096), node("kvm-2", 4096)];
    const wants = Array.from({ length: 9 }, () => ({ memoryMiB: 1024, vcpus: 1 }));
    expect(() => placeMany(nodes, wants)).toThrow(/VM #9 of 9: .*kvm-1: 0 MiB free/);
  });

  it("counts pinned VMs against their node", () => {
    const nodes = [node("kvm-1", 4096), node("kvm-2", 3072)];
    const placed = placeMany(nodes, [{ memoryMiB: 2048, vcpus: 1, node: "kvm-1" }, { memoryMiB: 1024, vcpus: 1 }]);
    expect(placed).toEqual(["kvm-1", "kvm-2"]);
  });
});
