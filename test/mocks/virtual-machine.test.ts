import * as pulumi from "@pulumi/pulumi";
import { CloudSpec } from "../../lib/vm/cloud-spec";
import { installMocks, isWrappedSecret, Registered, settle, unwrapSecrets, valueOf } from "../helpers/pulumi-mocks";

/**
 * The VirtualMachine resource as a program declares it, under Pulumi's
 * mocks: its own type token, the resource name as the default VM name, the
 * stack recorded, the cloud (with its keys and passwords) kept secret, and a
 * serialized provider that carries none of those secrets.
 */

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nvm-mocks-key-material\n-----END OPENSSH PRIVATE KEY-----\n";
const cloud: CloudSpec = {
  nodes: [{ name: "node1", ssh: { host: "192.0.2.21", privateKey: KEY }, libvirtUri: "qemu+ssh://root@192.0.2.21/system" }],
  ceph: { pool: "libvirt-pool", monitors: ["192.0.2.11"], secretUuid: "3f0e8a34-1c2b-4d5e-9f60-718293a4b5c6" },
  dhcp: { ssh: { host: "192.0.2.1", privateKey: KEY }, leaseFile: "/var/lib/misc/dnsmasq.leases", domain: "cloud.example", range: { start: "192.0.2.100", end: "192.0.2.199" } },
  inventory: { postgresUrl: "postgres://kvmcloud:pg-pass-42@192.0.2.3:5432/kvmcloud", redisUrl: "redis://:redis-pass-42@192.0.2.3:6379/0" },
};

// Closure serialization of the provider takes seconds when the machine is busy.
jest.setTimeout(60_000);

let reg: Registered[];
let vm: typeof import("../../dynamic-providers/virtual-machine");

beforeAll(() => {
  reg = installMocks();
  jest.isolateModules(() => {
    vm = require("../../dynamic-providers/virtual-machine");
  });
});

describe("VirtualMachine under mocks", () => {
  it("registers its own dynamic type with the name, stack and inputs", async () => {
    const web = new vm.VirtualMachine("web-1", { cloud: pulumi.secret(cloud), vcpus: 2, memoryMiB: 1024, diskGiB: 10, image: "libvirt-pool/ubuntu@base" });
    await valueOf(web.urn);
    await settle();
    const r = reg.find((x) => x.name === "web-1")!;
    expect(r.type).toBe("pulumi-nodejs:dynamic/kvmcloud:VirtualMachine");
    expect(r.inputs).toMatchObject({ name: "web-1", stack: "test", vcpus: 2, memoryMiB: 1024, diskGiB: 10, image: "libvirt-pool/ubuntu@base" });
    expect(await valueOf(web.name)).toBe("web-1");
  });

  it("keeps an explicit VM name apart from the resource name", async () => {
    const db = new vm.VirtualMachine("db", { cloud: pulumi.secret(cloud), name: "db-primary", vcpus: 1, memoryMiB: 512, diskGiB: 5, image: "p/i@s" });
    await valueOf(db.urn);
    await settle();
    expect(reg.find((x) => x.name === "db")!.inputs.name).toBe("db-primary");
  });

  it("keeps the cloud secret and serializes a provider without any secret in it", async () => {
    const r = reg.find((x) => x.name === "web-1")!;
    expect(isWrappedSecret(r.inputs.cloud)).toBe(true);
    const provider = unwrapSecrets(r.inputs.__provider) as string;
    expect(typeof provider).toBe("string");
    expect(provider).toContain("exports.handler");
    for (const secret of ["vm-mocks-key-material", "pg-pass-42", "redis-pass-42"]) expect(provider).not.toContain(secret);
  });

  it("serializes a thin shim that loads the implementation by package name, not lib/vm by value", () => {
    const provider = unwrapSecrets(reg.find((x) => x.name === "web-1")!.inputs.__provider) as string;
    // Was about 116 KB with lib/vm captured by value.
    expect(provider.length).toBeLessThan(4096);
    expect(provider).toContain('file: "virtual-machine-provider", name: "virtualMachineProvider"');
    expect(provider).toContain("require(`@kvm-cloud/dynamic-providers/${file}`)[name]");
    for (const code of ["createVm", "validateCloudSpec", "withSsh", "INSPECT_SCRIPT"]) expect(provider).not.toContain(code);
  });
});
