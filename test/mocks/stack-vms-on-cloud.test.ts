import * as pulumi from "@pulumi/pulumi";
import { installComponentMocks } from "../helpers/component-mocks";
import { isWrappedSecret, settle, valueOf } from "../helpers/pulumi-mocks";

/**
 * stacks/index.ts with `kvm-cloud:cloudSpec`: VMs on a cloud that already
 * runs. The spec stays a secret, the VMs get the image and sizes as given,
 * and bad config fails naming the field before anything is registered.
 */
jest.setTimeout(60_000);

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nvms-on-cloud-key\n-----END OPENSSH PRIVATE KEY-----\n";
const ssh = (host: string) => ({ host, user: "root", privateKey: KEY });
const SPEC = {
  nodes: [
    { name: "node1", ssh: ssh("192.0.2.21"), libvirtUri: "qemu+ssh://root@192.0.2.21/system" },
    { name: "node2", ssh: ssh("192.0.2.22"), libvirtUri: "qemu+ssh://root@192.0.2.22/system" },
  ],
  ceph: { pool: "libvirt-pool", monitors: ["192.0.2.11"], secretUuid: "0b6a2cbe-3b1c-4a8e-9d1f-3d8f6a0c2e11" },
  dhcp: { ssh: ssh("192.0.2.1"), leaseFile: "/var/lib/misc/dnsmasq.leases", domain: "example.internal", range: { start: "192.0.2.100", end: "192.0.2.199" } },
  inventory: { postgresUrl: "postgres://kvmcloud:pg-secret-1@192.0.2.3/kvmcloud", redisUrl: "redis://:redis-secret-1@192.0.2.3:6379/0" },
};

function load(config: Record<string, unknown>) {
  const text = Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
  pulumi.runtime.setAllConfig(text, ["kvm-cloud:cloudSpec"]);
  const reg = installComponentMocks({ stdoutFor: () => undefined });
  let stack: Record<string, any> = {};
  const run = () => jest.isolateModules(() => (stack = require("../../stacks/index")));
  return { reg, run, stack: () => stack };
}

const good = {
  "kvm-cloud:cloudSpec": SPEC,
  "kvm-cloud:image": "libvirt-pool/tiny@base",
  "kvm-cloud:vms": [
    { name: "app-1", vcpus: 1, memoryMiB: 192, diskGiB: 1 },
    { name: "app-2", vcpus: 2, memoryMiB: 256, diskGiB: 2, node: "node2" },
  ],
};

describe("stacks/index.ts with a cloudSpec", () => {
  it("registers only the VMs, on the given image and sizes, with the cloud kept secret", async () => {
    const l = load(good);
    l.run();
    await settle();
    const vms = l.reg.filter((r) => r.type === "pulumi-nodejs:dynamic/kvmcloud:VirtualMachine");
    expect(l.reg.map((r) => r.type).filter((t) => t !== "pulumi-nodejs:dynamic/kvmcloud:VirtualMachine")).toEqual([]);
    expect(vms.map((r) => r.name)).toEqual(["app-1", "app-2"]);
    expect(vms[1].inputs).toMatchObject({ name: "app-2", vcpus: 2, memoryMiB: 256, diskGiB: 2, node: "node2", image: "libvirt-pool/tiny@base" });
    expect(isWrappedSecret(vms[0].inputs.cloud)).toBe(true);
    const out = (await valueOf(l.stack().virtualMachines)) as { name: string }[];
    expect(out.map((v) => v.name)).toEqual(["app-1", "app-2"]);
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ["vcpus 0", { ...good, "kvm-cloud:vms": [{ name: "a", vcpus: 0, memoryMiB: 192, diskGiB: 1 }] }, /^vms\[0\]\.vcpus: 0 is not allowed/],
    ["an unknown node", { ...good, "kvm-cloud:vms": [{ name: "a", vcpus: 1, memoryMiB: 192, diskGiB: 1, node: "node9" }] }, /^vms\[0\]\.node: "node9" .*node1, node2/],
    ["an image that is no snapshot", { ...good, "kvm-cloud:image": "tiny" }, /^image: "tiny" is not allowed; expected an RBD snapshot/],
    ["a spec that is no JSON", { ...good, "kvm-cloud:cloudSpec": "{oops" }, /^cloudSpec: .*not shown: secret.*expected a CloudSpec as JSON/],
    ["a spec without nodes", { ...good, "kvm-cloud:cloudSpec": { ...SPEC, nodes: [] } }, /^cloud\.nodes: 0 is not allowed/],
  ])("%s fails with the field named, before anything is registered, and no secret in the message", async (_what, config, message) => {
    const l = load(config);
    let thrown: Error | undefined;
    try {
      l.run();
    } catch (e) {
      thrown = e as Error;
    }
    expect(thrown?.message).toMatch(message);
    expect(thrown?.message).not.toMatch(/PRIVATE KEY|pg-secret|redis-secret/);
    await settle();
    expect(l.reg).toHaveLength(0);
  });
});
