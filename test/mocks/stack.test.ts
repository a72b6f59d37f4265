import * as pulumi from "@pulumi/pulumi";
import { validateCloudSpec } from "../../lib/vm/cloud-spec";
import { cloudStdout, dependenciesOf, installComponentMocks, resourceName } from "../helpers/component-mocks";
import { copy, stackFileConfig } from "../helpers/dev-config";
import { Registered, settle, unwrapSecrets, valueOf, REMOTE_COMMAND } from "../helpers/pulumi-mocks";

/**
 * The stack program under Pulumi's mocks with the config of Pulumi.dev.yaml
 * (and Pulumi.lab.yaml): the resource graph of the reference topology, VMs
 * that depend on the KVM nodes and the Ceph pool, a load balancer in front of
 * the VMs, outputs with their secrets kept secret, and bad config failing
 * with the field named before anything is registered.
 */
jest.setTimeout(60_000);

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nh4b-stack-key\n-----END OPENSSH PRIVATE KEY-----\n";
const STATS_PASSWORD = "h4b-stats-password-0001";
const SECRET_KEYS = ["kvm-cloud:sshPrivateKey", "kvm-cloud:lbStatsPassword"];

type Config = Record<string, unknown>;

function setConfig(config: Config): void {
  const text = Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
  pulumi.runtime.setAllConfig({ ...text, "kvm-cloud:sshPrivateKey": KEY, "kvm-cloud:lbStatsPassword": STATS_PASSWORD }, SECRET_KEYS);
}

interface Loaded {
  readonly reg: Registered[];
  readonly stack: Record<string, any>;
  /** Each VirtualMachine's name and args, as the program passed them. */
  readonly vms: { name: string; args: Record<string, any> }[];
}

async function loadStack(config: Config): Promise<Loaded> {
  setConfig(config);
  const reg = installComponentMocks({ stdoutFor: cloudStdout });
  const vms: Loaded["vms"] = [];
  let stack: Record<string, any> = {};
  jest.isolateModules(() => {
    // The real class, recording what the program gives it.
    jest.doMock("../../dynamic-providers/virtual-machine", () => {
      const real = jest.requireActual("../../dynamic-providers/virtual-machine");
      class RecordedVirtualMachine extends real.VirtualMachine {
        constructor(name: string, args: Record<string, any>, opts?: pulumi.CustomResourceOptions) {
          super(name, args, opts);
          vms.push({ name, args });
        }
      }
      return { ...real, VirtualMachine: RecordedVirtualMachine };
    });
    stack = require("../../stacks/index");
  });
  if (stack.virtualMachines) await valueOf(stack.virtualMachines);
  await settle();
  return { reg, stack, vms };
}

const dev = stackFileConfig("dev");

function devWith(change: (c: Record<string, any>) => void): Config {
  const c = copy(dev) as Record<string, any>;
  change(c);
  return c;
}

const hostOf = (r: Registered) => String((unwrapSecrets(r.inputs.connection) as { host?: string } | undefined)?.host);

describe("stacks/index.ts with Pulumi.dev.yaml", () => {
  let loaded: Loaded;
  beforeAll(async () => {
    loaded = await loadStack(dev);
  });

  it("gives each host of the reference topology its resources", () => {
    const hosts = new Set(loaded.reg.filter((r) => r.type === REMOTE_COMMAND).map(hostOf));
    // 1 dnsmasq host, 3 Ceph hosts, 2 KVM nodes, 1 database/monitoring host, 1 load balancer host.
    expect([...hosts].sort()).toEqual(["192.0.2.1", "192.0.2.11", "192.0.2.12", "192.0.2.13", "192.0.2.21", "192.0.2.22", "192.0.2.3", "192.0.2.4"]);
    expect(loaded.reg.filter((r) => r.type === REMOTE_COMMAND && hostOf(r) === "192.0.2.4").map((r) => r.name)).toEqual(["monitoring-node-exporter-lb", "lb-haproxy"]);
    expect(loaded.reg.filter((r) => r.type === "kvmcloud:index:KvmNode")).toHaveLength(2);
  });

  it("declares the example VMs on the cloud's base image, pinned where asked", () => {
    const vms = loaded.reg.filter((r) => r.type === "pulumi-nodejs:dynamic/kvmcloud:VirtualMachine");
    expect(vms.map((r) => r.name)).toEqual(["web-1", "web-2", "worker-1"]);
    const worker = unwrapSecrets(vms[2].inputs) as Record<string, unknown>;
    expect(worker).toMatchObject({ name: "worker-1", vcpus: 2, memoryMiB: 2048, diskGiB: 20, node: "node2", image: "libvirt-pool/debian-12@base" });
    expect(worker.sshAuthorizedKeys).toEqual([expect.stringMatching(/^ssh-ed25519 /)]);
    expect(validateCloudSpec(worker.cloud as never)).toBeTruthy();
  });

  it("makes every VM depend on both KVM nodes, the Ceph pool and the base image", async () => {
    expect(loaded.vms).toHaveLength(3);
    for (const vm of loaded.vms) {
      const deps = new Set([...(await dependenciesOf(pulumi.output(vm.args.cloud))), ...(await dependenciesOf(pulumi.output(vm.args.image)))].map(resourceName));
      for (const part of ["kvmcloud-node1-libvirt-ceph", "kvmcloud-node2-libvirt-ceph", "kvmcloud-ceph-pool", "kvmcloud-image-import"]) {
        expect(deps).toContain(part);
      }
    }
  });

  it("puts the VMs' addresses behind the load balancer, round robin with HTTP checks", () => {
    const stdin = String(unwrapSecrets(loaded.reg.find((r) => r.name === "lb-haproxy")!.inputs.stdin));
    expect(stdin).toMatch(/server web-1 192\.0\.2\.1\d\d:80 weight 1/);
    expect(stdin).toMatch(/server web-2 192\.0\.2\.1\d\d:80 weight 1/);
    expect(stdin).not.toContain("worker-1");
    expect(stdin).toContain("balance roundrobin");
    expect(stdin).toContain("http-check send meth GET uri /");
  });

  it("outputs every VM's name, IP and node, the load balancer's address and the monitoring URLs", async () => {
    const vms = (await valueOf(loaded.stack.virtualMachines)) as { name: string; ip: string; node: string }[];
    expect(vms.map((v) => [v.name, v.node])).toEqual([["web-1", "node1"], ["web-2", "node1"], ["worker-1", "node2"]]);
    vms.forEach((v) => expect(v.ip).toMatch(/^192\.0\.2\.\d+$/));
    expect(await valueOf(loaded.stack.loadBalancerAddress)).toBe("192.0.2.4");
    expect(await valueOf(loaded.stack.loadBalancerUrls)).toEqual({ web: "http://192.0.2.4:80" });
    expect(await valueOf(loaded.stack.monitoringUrls.haproxyMetrics)).toBe("http://192.0.2.4:8404/metrics");
    expect(await valueOf(loaded.stack.monitoringUrls.prometheus)).toBe("http://192.0.2.3:9090");
    // Pulumi.dev.yaml's monitoring runs from Debian's packages, which have no Grafana.
    expect(await valueOf(loaded.stack.monitoringUrls.grafana)).toBeUndefined();
    expect(await valueOf(loaded.stack.baseImage)).toBe("libvirt-pool/debian-12@base");
  });

  it("keeps secrets secret: inventory URLs and the stats password; plain outputs carry no key or password", async () => {
    expect(await pulumi.isSecret(loaded.stack.inventory.postgresUrl)).toBe(true);
    expect(await pulumi.isSecret(loaded.stack.inventory.redisUrl)).toBe(true);
    const lb = loaded.reg.find((r) => r.name === "lb-haproxy")!;
    expect(pulumi.runtime.isRpcSecret(lb.inputs.stdin)).toBe(true);
    const plain = JSON.stringify(
      await Promise.all(["virtualMachines", "loadBalancerUrls", "nodes", "baseImage", "cephMonitors"].map((k) => valueOf(loaded.stack[k]))),
    );
    for (const secret of ["h4b-stack-key", STATS_PASSWORD, "generated-"]) expect(plain).not.toContain(secret);
    for (const k of ["virtualMachines", "nodes", "loadBalancerUrls"]) expect(await pulumi.isSecret(loaded.stack[k])).toBe(false);
  });
});

describe("stacks/index.ts with Pulumi.lab.yaml", () => {
  it("points the same program at the lab's addresses, with TCG guests", async () => {
    const { reg, vms } = await loadStack(stackFileConfig("lab"));
    const hosts = new Set(reg.filter((r) => r.type === REMOTE_COMMAND).map(hostOf));
    expect([...hosts].every((h) => h.startsWith("10.77.0."))).toBe(true);
    expect(hosts).toContain("10.77.0.21");
    const spec = await valueOf(pulumi.output(vms[0].args.cloud));
    expect(spec.domainType).toBe("qemu");
    expect(spec.ceph.monitors).toEqual(["10.77.0.11", "10.77.0.12", "10.77.0.13"]);
    expect(spec.dhcp.domain).toBe("lab.kvmcloud");
  });
});

describe("bad stack config", () => {
  it.each<[string, Config, RegExp]>([
    ["a missing dnsmasq host", devWith((c) => delete c["kvm-cloud:cloud"].dns.address), /^cloud\.dns\.address: undefined is not allowed; expected an IPv4 address/],
    ["a Ceph host without an address", devWith((c) => delete c["kvm-cloud:cloud"].ceph.hosts[2].address), /^cloud\.ceph\.hosts\[2\]\.address: undefined/],
    ["2 monitors", devWith((c) => (c["kvm-cloud:cloud"].ceph.monitors = 2)), /^cloud\.ceph\.monitors: 2 is not allowed; expected an odd number/],
    [
      "a static reservation inside the DHCP range",
      devWith((c) => (c["kvm-cloud:cloud"].network.reservations = [{ mac: "52:54:00:00:00:10", ip: "192.0.2.120", name: "printer" }])),
      /^cloud\.network\.reservations\[0\]\.ip: "192\.0\.2\.120" is not allowed; expected an address outside the DHCP range 192\.0\.2\.100-192\.0\.2\.200/,
    ],
    ["a VM pinned to an unknown node", devWith((c) => (c["kvm-cloud:vms"][2].node = "node7")), /^vms\[2\]\.node: "node7" .*node1, node2/],
    ["two VMs with one name", devWith((c) => (c["kvm-cloud:vms"][1].name = "web-1")), /^vms\[1\]\.name: "web-1" .*not used by another VM/],
    ["a frontend over an unknown VM", devWith((c) => (c["kvm-cloud:frontends"][0].vms = ["web-1", "web-9"])), /^frontends\[0\]\.vms\[1\]: "web-9" .*one of the VMs: web-1, web-2, worker-1/],
    ["a frontend on the stats port", devWith((c) => (c["kvm-cloud:frontends"][0].port = 8404)), /^frontends\[0\]\.port: 8404 .*already bound by stats\.port/],
    ["a stats client that is no network", devWith((c) => (c["kvm-cloud:cloud"].loadBalancer.statsClients = ["192.0.2.2"])), /^cloud\.loadBalancer\.statsClients\[0\]: "192\.0\.2\.2"/],
    ["frontends without a load balancer host", devWith((c) => delete c["kvm-cloud:cloud"].loadBalancer), /^cloud\.loadBalancer: undefined .*load balancer host/],
  ])("%s fails with the field named, before anything is registered", async (_what, config, message) => {
    setConfig(config);
    const reg = installComponentMocks({ stdoutFor: cloudStdout });
    expect(() => jest.isolateModules(() => require("../../stacks/index"))).toThrow(message);
    await settle();
    expect(reg).toHaveLength(0);
  });
});
