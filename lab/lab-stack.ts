import * as fs from "fs";
import * as path from "path";
import { CloudConfig } from "../lib/cloud/cloud-config";
import { CEPH_MIN_OSD_MEMORY_TARGET } from "../lib/ceph/ceph-conf";
import { prefixToNetmask } from "../lib/core/network";
import { createEngineStack } from "./engine-stack";
import { run, succeeds } from "./exec";
import { guestImagePath } from "./guest-image";
import { onHost } from "./host-exec";
import { hostDevice } from "./netns";
import { LabPaths, labPaths } from "./paths";
import { CEPH, CEPH_HOSTS, DHCP, hostByName, LabHost, NETWORK, NODES, POSTGRES, PREFIX_LENGTH, REDIS, vethNames } from "./topology";

/**
 * The lab's cloud, built by the product as a user builds one: `pulumi up` of
 * the kvm-cloud program with `kvm-cloud:cloud` (stacks/whole-cloud.ts: the
 * Cloud component and Monitoring), under the real engine run inside the
 * manager namespace, on the bare Debian hosts. Its config is Pulumi.lab.yaml's
 * (a unit test keeps the two equal) with the base image read from this
 * checkout's guest image file: dnsmasq on `dns`; the inventory (Debian's
 * PostgreSQL and Redis) and the monitoring (Debian's Prometheus, the kvm-cloud
 * exporter) on `db`; a Ceph monitor and an OSD on a file per host, the manager
 * on the first, on `ceph1`-`ceph3`; KvmNode and the migration mesh on `node1`
 * and `node2`; a node exporter on every one of these; node1 imports the base
 * image. The file's VMs and load balancer are left to the tests, which make
 * their own. The stack lives in the state directory, so a second lab:up is a
 * no-change `up`; its outputs go into the lab's description.
 */

export const LAB_STACK = "lab";

export function labStackDir(p: LabPaths): string {
  return path.join(p.state, "engine", "cloud");
}

/** Pure: the lab's `kvm-cloud:cloud`, from its fixed topology, importing the given guest image file (default: this checkout's). */
export function labCloudConfig(guest: { readonly diskPath: string; readonly sha256?: string } = { diskPath: guestImagePath(labPaths()) }): CloudConfig {
  const dns = hostByName("dns");
  const db = hostByName("db");
  return {
    ssh: { user: "root" },
    network: {
      gateway: dns.address,
      netmask: prefixToNetmask(PREFIX_LENGTH),
      domain: DHCP.domain,
      dhcpRange: { start: DHCP.rangeStart, end: DHCP.rangeEnd },
      leaseTime: DHCP.leaseTime,
    },
    dns: { address: dns.address, interface: hostDevice(dns) },
    database: {
      address: db.address,
      runtime: "packages",
      postgresPort: POSTGRES.port,
      redisPort: REDIS.port,
      database: POSTGRES.database,
      // Pulumi, the provider and the tests run in mgr, the exporter on db; the guests share the segment and are kept out.
      // lb: the packages runtime's test runs a second exporter there, which reads the inventory too.
      allowedClients: [`${hostByName("mgr").address}/32`, `${db.address}/32`, `${hostByName("lb").address}/32`],
    },
    ceph: {
      publicNetwork: `${NETWORK}/${PREFIX_LENGTH}`,
      pool: CEPH.pool,
      clientName: CEPH.client,
      osdFileSizeGiB: CEPH.osdFileSizeGiB,
      confOverrides: {
        // The hosts share the machine's disk, whose free share says nothing
        // about the cluster; Ceph's default (30 %) would keep it in HEALTH_WARN.
        mon: { mon_data_avail_warn: 10 },
        // At Ceph's default (debug) the cluster log gains a pgmap line every
        // few seconds, growing the hosts' disks for as long as the lab runs.
        global: { mon_cluster_log_file_level: "info" },
        osd: { osd_memory_target: CEPH_MIN_OSD_MEMORY_TARGET },
      },
      hosts: CEPH_HOSTS.map((h) => ({ name: h.name, address: h.address, osdFiles: [CEPH.osdFile] })),
    },
    nodes: NODES.map((n) => ({
      name: n.name,
      address: n.address,
      prefixLength: PREFIX_LENGTH,
      gateway: dns.address,
      nic: vethNames(n).hostSide,
      // Lab-only: ifupdown is not on this machine (hosts install only what it has); networkd is part of systemd.
      networkBackend: "networkd",
      // Lab-only: the machine's kernel runs no AppArmor.
      securityDriver: "none",
    })),
    // Short intervals, alerts firing at once: the tests see an alert within seconds.
    monitoring: { scrapeIntervalSeconds: 5, evaluationIntervalSeconds: 10, alertPendingFor: "0s", nodeExporterClients: [`${db.address}/32`] },
    // No nested KVM on the lab machine: the exporter reads the same TCG cloud the provider runs.
    domainType: "qemu",
    leaseTimeoutSeconds: 180,
    // Corosync + Pacemaker on both nodes, corosync-qnetd on the database host: the defaults.
    ha: {},
    // node1 (the first node) reads the file through a read-only bind mount of the lab's image directory.
    baseImage: { source: guest.diskPath, format: "raw", ...(guest.sha256 && { sha256: guest.sha256 }), name: CEPH.baseImage, snapshot: CEPH.baseSnapshot },
  };
}

/** What the lab reads from the whole stack's outputs (stacks/whole-cloud.ts). */
export interface LabCloud {
  readonly dhcp: { readonly domain: string; readonly range: { start: string; end: string }; readonly leaseFile: string; readonly hostsDir: string };
  readonly inventory: { readonly postgresUrl: string; readonly redisUrl: string };
  readonly ceph: { readonly fsid: string; readonly monitors: readonly string[]; readonly pool: string; readonly clientName: string; readonly clientKey: string };
  readonly nodes: ReadonlyArray<{
    readonly name: string;
    readonly address: string;
    readonly bridge: string;
    readonly libvirtUri: string;
    readonly secretUuid: string;
    readonly vcpus: number;
    readonly memoryMiB: number;
  }>;
  readonly monitoringUrls: { readonly prometheus: string };
  readonly baseImage: string;
  readonly baseImageSizeBytes: number;
}

export async function ensureLabCloud(
  p: LabPaths,
  knownHostsFile: string,
  guest: { readonly diskPath: string; readonly sha256: string },
  log: (l: string) => void = () => undefined,
): Promise<LabCloud> {
  const s = await createEngineStack(labStackDir(p), LAB_STACK, { keep: true, netns: hostByName("mgr").ns });
  // The key's text goes through stdin, never a command line.
  await s.pulumi(["config", "set", "--secret", "kvm-cloud:sshPrivateKey"], { input: fs.readFileSync(p.sshKey, "utf8") });
  s.setConfig({ "kvm-cloud:cloud": labCloudConfig(guest), "kvm-cloud:knownHosts": fs.readFileSync(knownHostsFile, "utf8") });
  const r = await s.program("up", [], { timeoutMs: 900_000, allowFail: true });
  if (r.code !== 0) {
    throw new Error(`pulumi up of the lab's stack (${labStackDir(p)}) failed:\n${(r.stdout + r.stderr).split("\n").slice(-30).join("\n")}`);
  }
  const changes = /Resources:\n((?:\s+.+\n)+)/.exec(r.stdout)?.[1].trim().replace(/\s+/g, " ") ?? "";
  log(`cloud: pulumi up of the whole stack on the bare hosts: ${changes}`);
  return JSON.parse((await s.pulumi(["stack", "output", "--json", "--show-secrets"])).stdout) as LabCloud;
}

/** A real DNS query from the dns host's namespace proves dnsmasq answers, not just that it lives. */
export async function dnsmasqHealthy(h: LabHost = hostByName("dns")): Promise<string | undefined> {
  const ok = await succeeds(onHost(h, ["busybox", "nslookup", "localhost", h.address]), { timeoutMs: 5000 });
  return ok ? undefined : `dnsmasq on ${h.address} does not answer DNS`;
}

/** SELECT 1 as the inventory user, from a client in the db host's namespace. */
export async function postgresHealthy(url: string, h: LabHost = hostByName("db")): Promise<string | undefined> {
  const u = new URL(url);
  const password = decodeURIComponent(u.password);
  u.password = "";
  const r = await run(onHost(h, ["psql", "-X", "-tA", "-c", "SELECT 1", u.toString()]), {
    allowFail: true,
    timeoutMs: 10_000,
    env: { ...process.env, PGCONNECT_TIMEOUT: "5", PGPASSWORD: password },
  });
  return r.code === 0 && r.stdout.trim() === "1" ? undefined : `postgres does not answer: ${r.stderr.trim().split("\n").pop()}`;
}

/** PING with the password, from a client in the db host's namespace. */
export async function redisHealthy(url: string, h: LabHost = hostByName("db")): Promise<string | undefined> {
  const u = new URL(url);
  const r = await run(onHost(h, ["redis-cli", "-h", u.hostname, "-p", u.port || String(REDIS.port), "PING"]), {
    allowFail: true,
    env: { ...process.env, REDISCLI_AUTH: decodeURIComponent(u.password) },
    timeoutMs: 5000,
  });
  return r.code === 0 && r.stdout.trim() === "PONG" ? undefined : `redis does not answer PING: ${(r.stdout + r.stderr).trim()}`;
}
