import { diffVm } from "../../lib/vm/vm-diff";
import { VmArgs, VmCurrent } from "../../lib/vm/vm-model";
import { ValidationError } from "../../lib/core/errors";

const old: VmCurrent = {
  name: "web-1", vcpus: 2, memoryMiB: 1024, diskGiB: 10, image: "pool/tiny@base", node: "kvm-1",
  state: "running", sshAuthorizedKeys: ["ssh-ed25519 A a", "ssh-ed25519 B b"], userData: { packages: ["nginx"], timezone: "UTC" },
};
const same: VmArgs = { name: "web-1", vcpus: 2, memoryMiB: 1024, diskGiB: 10, image: "pool/tiny@base", state: "running", sshAuthorizedKeys: ["ssh-ed25519 A a", "ssh-ed25519 B b"], userData: { packages: ["nginx"], timezone: "UTC" } };

describe("diffVm", () => {
  it("reports nothing for identical inputs and an omitted node", () => {
    expect(diffVm(old, same)).toEqual({ replaces: [], updates: [], restartNeeded: false, actions: [] });
  });

  it("replaces a VM whose ha changes, and moves an ha VM in place", () => {
    expect(diffVm(old, { ...same, ha: true }).replaces).toEqual(["ha"]);
    expect(diffVm({ ...old, ha: true }, same).replaces).toEqual(["ha"]);
    expect(diffVm({ ...old, ha: true }, { ...same, ha: true, node: "kvm-2" }).actions).toEqual([{ kind: "migrate", from: "kvm-1", to: "kvm-2" }]);
  });

  it("leaves an ha VM declared on a drained node where Pacemaker moved it, and moves a plain VM as asked", () => {
    const moved = { ...old, ha: true, node: "kvm-2" };
    expect(diffVm(moved, { ...same, ha: true, node: "kvm-1" }, ["kvm-1"])).toEqual({ replaces: [], updates: [], restartNeeded: false, actions: [] });
    expect(diffVm(moved, { ...same, ha: true, node: "kvm-1" }, []).actions).toEqual([{ kind: "migrate", from: "kvm-2", to: "kvm-1" }]);
    expect(diffVm({ ...old, node: "kvm-2" }, { ...same, node: "kvm-1" }, ["kvm-1"]).actions).toEqual([{ kind: "migrate", from: "kvm-2", to: "kvm-1" }]);
  });

  it("refuses to resize an ha VM's vcpus or memory in place, naming the field", () => {
    expect(() => diffVm({ ...old, ha: true }, { ...same, ha: true, vcpus: 3 })).toThrow(ValidationError);
    expect(() => diffVm({ ...old, ha: true }, { ...same, ha: true, memoryMiB: 2048 })).toThrow(/memoryMiB.*for an ha VM/);
  });

  it("treats key order and userData key order as no change", () => {
    const d = diffVm(old, { ...same, sshAuthorizedKeys: ["ssh-ed25519 B b", "ssh-ed25519 A a"], userData: { timezone: "UTC", packages: ["nginx"] } });
    expect(d.replaces).toEqual([]);
  });

  it("treats a missing state as running", () => {
    expect(diffVm(old, { ...same, state: undefined }).updates).toEqual([]);
  });

  it.each([
    ["name", { name: "web-2" }],
    ["image", { image: "pool/tiny@v2" }],
    ["sshAuthorizedKeys", { sshAuthorizedKeys: ["ssh-ed25519 A a"] }],
    ["userData", { userData: { packages: ["nginx", "curl"], timezone: "UTC" } }],
  ])("replaces on a %s change", (field, change) => {
    const d = diffVm(old, { ...same, ...change });
    expect(d.replaces).toEqual([field]);
    expect(d.updates).toEqual([]);
  });

  it("flags seed changes with a cloud-init-changed action", () => {
    expect(diffVm(old, { ...same, userData: undefined }).actions).toEqual([{ kind: "cloud-init-changed" }]);
    expect(diffVm(old, { ...same, image: "pool/tiny@v2" }).actions).toEqual([]);
  });

  it("does not object to a smaller disk when the VM is replaced anyway", () => {
    expect(diffVm(old, { ...same, image: "pool/tiny@v2", diskGiB: 5 }).replaces).toEqual(["image"]);
  });

  it("grows the disk in place and refuses to shrink it", () => {
    expect(diffVm(old, { ...same, diskGiB: 20 })).toEqual({
      replaces: [], updates: ["diskGiB"], restartNeeded: false, actions: [{ kind: "resize-disk", fromGiB: 10, toGiB: 20 }],
    });
    let err: unknown;
    try {
      diffVm(old, { ...same, diskGiB: 9 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe("diskGiB");
    expect((err as Error).message).toMatch(/only grow/);
  });

  it("grows vcpus and memory live up to the domain maximum", () => {
    const d = diffVm({ ...old, maxVcpus: 4, maxMemoryMiB: 4096 }, { ...same, vcpus: 4, memoryMiB: 4096 });
    expect(d.restartNeeded).toBe(false);
    expect(d.updates).toEqual(["vcpus", "memoryMiB"]);
    expect(d.actions).toEqual([
      { kind: "set-vcpus", from: 2, to: 4, live: true },
      { kind: "set-memory", from: 1024, to: 4096, live: true },
    ]);
  });

  it("needs a restart beyond the maximum, which defaults to the current size", () => {
    const d = diffVm({ ...old, maxVcpus: 4 }, { ...same, vcpus: 5 });
    expect(d.actions).toEqual([{ kind: "set-vcpus", from: 2, to: 5, live: false }]);
    expect(d.restartNeeded).toBe(true);
    expect(diffVm(old, { ...same, memoryMiB: 2048 }).restartNeeded).toBe(true);
  });

  it("needs a restart to shrink a running or suspended guest", () => {
    expect(diffVm({ ...old, maxMemoryMiB: 4096 }, { ...same, memoryMiB: 512 }).restartNeeded).toBe(true);
    const s = diffVm({ ...old, state: "suspended" }, { ...same, state: "suspended", vcpus: 1 });
    expect(s.restartNeeded).toBe(true);
  });

  it("changes anything without a restart when the guest is off", () => {
    const stopped = diffVm({ ...old, state: "stopped" }, { ...same, state: "stopped", vcpus: 8, memoryMiB: 512 });
    expect(stopped.restartNeeded).toBe(false);
    expect(stopped.actions.every((a) => !("live" in a) || a.live)).toBe(true);
  });

  it("stops first when the update stops the guest, so no restart is needed", () => {
    const d = diffVm(old, { ...same, state: "stopped", vcpus: 8 });
    expect(d.restartNeeded).toBe(false);
    expect(d.actions).toEqual([
      { kind: "set-state", from: "running", to: "stopped" },
      { kind: "set-vcpus", from: 2, to: 8, live: true },
    ]);
  });

  it("changes config before starting a stopped guest", () => {
    const d = diffVm({ ...old, state: "stopped" }, { ...same, state: "running", memoryMiB: 2048 });
    expect(d.restartNeeded).toBe(false);
    expect(d.actions.map((a) => a.kind)).toEqual(["set-memory", "set-state"]);
    expect(d.updates).toEqual(["memoryMiB", "state"]);
  });

  it("migrates only when a different node is named", () => {
    expect(diffVm(old, { ...same, node: "kvm-1" }).actions).toEqual([]);
    const d = diffVm(old, { ...same, node: "kvm-2" });
    expect(d.updates).toEqual(["node"]);
    expect(d.actions).toEqual([{ kind: "migrate", from: "kvm-1", to: "kvm-2" }]);
  });

  it("maps state changes to set-state", () => {
    expect(diffVm(old, { ...same, state: "suspended" }).actions).toEqual([{ kind: "set-state", from: "running", to: "suspended" }]);
  });
});
