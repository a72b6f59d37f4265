import { CloudSpec } from "../../lib/vm/cloud-spec";
import { cephDfArgv } from "../../lib/monitoring/exporter/collect-ceph";
import { DOMSTATS_ARGV, NODEINFO_ARGV } from "../../lib/monitoring/exporter/collect-libvirt";
import { Sql } from "../../lib/inventory/vm-rows";
import { OPERATIONS_TABLE, VM_TABLE } from "../../lib/inventory/schema";
import { Exporter } from "../../lib/monitoring/exporter/server";
import { Answers, fixture, fixtureAccess } from "./fixture-runner";

/**
 * The exporter wired to output captured from the lab (test/fixtures/monitoring)
 * and to inventory rows shaped as node-postgres returns them.
 */

export const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n-----END OPENSSH PRIVATE KEY-----\n";
export const PG_PASSWORD = "pg-secret-Zq81";
export const cloud: CloudSpec = {
  nodes: [
    { name: "node1", ssh: { host: "10.77.0.21", privateKey: KEY }, libvirtUri: "qemu+tcp://10.77.0.21/system" },
    { name: "node2", ssh: { host: "10.77.0.22", privateKey: KEY }, libvirtUri: "qemu+tcp://10.77.0.22/system" },
  ],
  ceph: { pool: "libvirt-pool", monitors: ["10.77.0.11"], clientName: "libvirt", secretUuid: "e3c3dc52-76b2-435c-8343-1128a6764eee" },
  dhcp: { ssh: { host: "10.77.0.1", privateKey: KEY }, leaseFile: "/var/lib/misc/dnsmasq.leases", domain: "lab.kvmcloud", range: { start: "10.77.100.10", end: "10.77.100.250" } },
  inventory: { postgresUrl: `postgres://kvmcloud:${PG_PASSWORD}@10.77.0.3:5432/kvmcloud`, redisUrl: "redis://:x@10.77.0.3:6379/0" },
};
export const dhcpRange = { start: "10.77.100.10", end: "10.77.100.250" };
/** The fixtures' capture time: the guest's lease (expiry 1795310078) was an hour from then. */
export const CAPTURED_MS = (1795310078 - 3000) * 1000;

export const key = (argv: readonly string[]) => argv.join(" ");
export function answers(node1Domstats = fixture("virsh-domstats-node1.txt")): Answers {
  return {
    "10.77.0.21": {
      [key(NODEINFO_ARGV)]: fixture("virsh-nodeinfo-node1.txt"),
      [key(DOMSTATS_ARGV)]: node1Domstats,
      [key(cephDfArgv("libvirt"))]: fixture("ceph-df.json"),
    },
    "10.77.0.22": {
      [key(NODEINFO_ARGV)]: fixture("virsh-nodeinfo-node1.txt"),
      [key(DOMSTATS_ARGV)]: fixture("virsh-domstats-node2-empty.txt"),
      [key(cephDfArgv("libvirt"))]: fixture("ceph-df.json"),
    },
    "10.77.0.1": { [key(["cat", "--", cloud.dhcp.leaseFile])]: fixture("dnsmasq.leases") },
  };
}

/** Rows as node-postgres returns them: bigserial ids as strings, timestamps as Dates. */
const at = new Date(CAPTURED_MS - 60_000);
const row = (r: Record<string, unknown>) => ({ domain_uuid: null, created_at: at, updated_at: at, ...r });
const VMS = [
  row({ name: "h5-fix-da996f", stack: "dev", node: "node1", vcpus: 1, memory_mib: 192, disk_gib: 1, image: "libvirt-pool/kvmcloud-tiny@base", state: "running", mac: "52:54:00:c9:3c:db", ip: "10.77.100.99", domain_uuid: "6f1c2b9e-3d4a-4e5f-8a7b-9c0d1e2f3a4b" }),
  row({ name: "web-2", stack: "dev", node: "node2", vcpus: 2, memory_mib: 1024, disk_gib: 10, image: "libvirt-pool/kvmcloud-tiny@base", state: "running", mac: "52:54:00:00:00:02", ip: null }),
  row({ name: "idle-3", stack: "dev", node: "node2", vcpus: 1, memory_mib: 256, disk_gib: 1, image: "libvirt-pool/kvmcloud-tiny@base", state: "stopped", mac: "52:54:00:00:00:03", ip: null }),
];
const OPS = [
  { id: "1", operation: "create", outcome: "ok", step: null, duration_ms: 14200 },
  { id: "2", operation: "create", outcome: "error", step: "lease", duration_ms: 300000 },
  { id: "3", operation: "delete", outcome: "ok", step: null, duration_ms: 900 },
];

/** The inventory's Postgres as the exporter queries it; any other statement fails, so a changed query breaks its test. */
export function inventory(ops = OPS): Sql & { statements: string[] } {
  const statements: string[] = [];
  const result = (rows: Array<Record<string, unknown>>) => ({ rows, rowCount: rows.length });
  return {
    statements,
    async query(text, params) {
      statements.push(text);
      if (new RegExp(`^SELECT \\* FROM ${VM_TABLE} ORDER BY name$`).test(text)) return result(VMS);
      if (new RegExp(`FROM ${OPERATIONS_TABLE} WHERE id > \\$1 ORDER BY id LIMIT \\$2$`).test(text)) {
        return result(ops.filter((o) => Number(o.id) > Number(params![0])).slice(0, Number(params![1])));
      }
      throw new Error(`unexpected SQL: ${text}`);
    },
  };
}

export function exporter(opts: { down?: string[]; sql?: Sql; node1Domstats?: string; timeoutMs?: number; nowMs?: number } = {}) {
  const lines: string[] = [];
  const access = fixtureAccess(cloud, answers(opts.node1Domstats), opts.sql ?? inventory(), opts.down);
  const e = new Exporter(
    { cloud, dhcpRange, access, timeoutMs: opts.timeoutMs ?? 5000, now: () => opts.nowMs ?? CAPTURED_MS },
    (l) => lines.push(l),
  );
  return { e, lines };
}

/** One scrape's exposition text over the fixtures. */
export function exporterOutputFromFixtures(): Promise<string> {
  return exporter().e.collect();
}
