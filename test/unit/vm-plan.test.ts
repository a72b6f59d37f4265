import { UNKNOWN } from "../../lib/engine/unknown";
import { checkVmInputs, planVmDiff } from "../../lib/vm/vm-plan";

const cloud = {
  nodes: [
    { name: "node1", ssh: { host: "192.0.2.21", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----" }, libvirtUri: "qemu+ssh://root@192.0.2.21/system" },
    { name: "node2", ssh: { host: "192.0.2.22", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----" }, libvirtUri: "qemu+ssh://root@192.0.2.22/system" },
  ],
  ceph: { pool: "libvirt-pool", monitors: ["192.0.2.11"], secretUuid: "3f0e8a34-1c2b-4d5e-9f60-718293a4b5c6" },
  dhcp: { ssh: { host: "192.0.2.1", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----" }, leaseFile: "/var/lib/misc/dnsmasq.leases", domain: "cloud.example", range: { start: "192.0.2.100", end: "192.0.2.199" } },
  inventory: { postgresUrl: "postgres://u:p@192.0.2.3:5432/kvmcloud", redisUrl: "redis://:p@192.0.2.3:6379/0" },
};
const vm = { cloud, name: "web-1", vcpus: 1, memoryMiB: 512, diskGiB: 10, image: "libvirt-pool/base@v1", stack: "dev" };

describe("checkVmInputs", () => {
  it("fills defaults and the live-growth maximums of a new VM", () => {
    const { inputs, failures } = checkVmInputs({}, vm);
    expect(failures).toEqual([]);
    expect(inputs).toMatchObject({ state: "running", sshAuthorizedKeys: [], maxVcpus: 2, maxMemoryMiB: 1024 });
    expect(inputs.updatePlan).toBeUndefined();
  });

  it("reports each bad field as a failure on that property", () => {
    expect(checkVmInputs({}, { ...vm, node: "node3" }).failures).toEqual([{ property: "node", reason: expect.stringContaining("one of the known nodes: node1, node2") }]);
    expect(checkVmInputs({}, { ...vm, sshAuthorizedKeys: ["a\nb"] }).failures).toEqual([{ property: "sshAuthorizedKeys", reason: expect.stringContaining("sshAuthorizedKeys[0]") }]);
    expect(checkVmInputs({}, { ...vm, cloud: undefined }).failures).toEqual([{ property: "cloud", reason: expect.stringContaining("how to reach the cloud") }]);
  });

  it("waits for unknown values instead of failing on them (preview)", () => {
    const { failures, inputs } = checkVmInputs({}, { ...vm, image: UNKNOWN, cloud: UNKNOWN });
    expect(failures).toEqual([]);
    expect(inputs.maxVcpus).toBeUndefined();
  });

  it("keeps the domain's maximums and says which changes are live and which restart", () => {
    const olds = checkVmInputs({}, vm).inputs;
    const live = checkVmInputs(olds, { ...vm, vcpus: 2, memoryMiB: 1024 }).inputs;
    expect(live.updatePlan).toEqual(["vcpus 1 -> 2: live", "memoryMiB 512 -> 1024: live"]);
    expect(live).toMatchObject({ maxVcpus: 2, maxMemoryMiB: 1024 });
    const restart = checkVmInputs(olds, { ...vm, vcpus: 3 }).inputs;
    expect(restart.updatePlan).toEqual(["vcpus 1 -> 3: needs a guest restart"]);
    expect(restart.maxVcpus).toBe(6);
  });

  it("refuses a disk shrink on the diskGiB property", () => {
    const olds = checkVmInputs({}, vm).inputs;
    expect(checkVmInputs(olds, { ...vm, diskGiB: 5 }).failures).toEqual([{ property: "diskGiB", reason: expect.stringContaining("disks only grow in place") }]);
  });
});

describe("planVmDiff", () => {
  const outs = { ...checkVmInputs({}, vm).inputs, node: "node1", ip: "192.0.2.100" };
  const news = (patch: Record<string, unknown>) => checkVmInputs(outs, { ...vm, ...patch }).inputs;

  it("sees no change when nothing the VM is made of changed", () => {
    expect(planVmDiff(outs, news({}))).toMatchObject({ changes: false, replaces: [] });
  });

  it("replaces for image, keys and user-data, deleting first since the name stays", () => {
    expect(planVmDiff(outs, news({ image: "libvirt-pool/base@v2" }))).toEqual({ changes: true, replaces: ["image"], updates: [], deleteBeforeReplace: true });
    expect(planVmDiff(outs, news({ userData: { packages: ["nginx"] } })).replaces).toEqual(["userData"]);
  });

  it("replaces for a new name without deleting first", () => {
    expect(planVmDiff(outs, news({ name: "web-2" }))).toMatchObject({ replaces: ["name"], deleteBeforeReplace: false });
  });

  it("updates in place for sizes, node and state, and for a changed cloud", () => {
    expect(planVmDiff(outs, news({ vcpus: 2, node: "node2", state: "stopped" }))).toMatchObject({ changes: true, replaces: [], updates: ["vcpus", "node", "state"] });
    const moved = { ...cloud, inventory: { ...cloud.inventory, redisUrl: "redis://:q@192.0.2.3:6379/0" } };
    expect(planVmDiff(outs, news({ cloud: moved }))).toMatchObject({ changes: true, replaces: [], updates: ["cloud"] });
  });

  it("ignores the stale updatePlan of the last update", () => {
    expect(planVmDiff({ ...outs, updatePlan: ["vcpus 1 -> 2: live"] }, news({})).changes).toBe(false);
  });
});
