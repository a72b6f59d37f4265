import { CloudSpec } from "../../lib/cloud/cloud-spec";
import { LabDescription } from "../../lab/description";
import { output, run } from "../../lab/exec";
import { httpGet, rbdOnNode, virsh } from "./lab-client";

/**
 * What the VM tests look at from outside the provider: libvirt on every
 * node, RBD, the inventory's Postgres row and Redis key, and the guest's own
 * HTTP answers. Runs inside the manager namespace.
 */

export interface GuestInfo {
  readonly hostname: string;
  readonly vcpus: number;
  readonly memoryKiB: number;
  readonly disks: Record<string, number>;
}

export async function guestInfo(ip: string): Promise<GuestInfo> {
  const r = await httpGet(ip, "/cgi-bin/info", 3000);
  return JSON.parse(r.body) as GuestInfo;
}

/** Polls `probe` until `ok` holds for its value; bounded by count and time. */
export async function eventually<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 60_000, everyMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError = "";
  for (let i = 0; i < 10_000 && Date.now() < deadline; i++) {
    try {
      last = await probe();
      if (ok(last)) return last;
    } catch (e) {
      lastError = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`${what}: not reached in ${timeoutMs} ms (last: ${JSON.stringify(last)}${lastError ? `, error: ${lastError}` : ""})`);
}

export async function withPg<T>(cloud: CloudSpec, fn: (q: (sql: string, params?: unknown[]) => Promise<Array<Record<string, unknown>>>) => Promise<T>): Promise<T> {
  const { Client } = await import("pg");
  const c = new Client({ connectionString: cloud.inventory.postgresUrl });
  await c.connect();
  try {
    return await fn(async (sql, params) => (await c.query(sql, params)).rows);
  } finally {
    await c.end();
  }
}

export async function redisGet(cloud: CloudSpec, key: string): Promise<string | null> {
  const Redis = (await import("ioredis")).default;
  const r = new Redis(cloud.inventory.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await r.connect();
  try {
    return await r.get(key);
  } finally {
    r.disconnect();
  }
}

export async function inventoryRow(cloud: CloudSpec, name: string): Promise<Record<string, unknown> | undefined> {
  return withPg(cloud, async (q) => {
    const exists = await q("SELECT to_regclass('public.vms') AS t");
    if (!exists[0].t) return undefined;
    return (await q("SELECT name, stack, vcpus, memory_mib, disk_gib, image, node, mac::text AS mac, host(ip) AS ip, state, domain_uuid::text AS domain_uuid, created_at, updated_at FROM vms WHERE name = $1", [name]))[0];
  });
}

/** Which nodes define a domain of this name. */
export async function nodesWithDomain(d: LabDescription, name: string): Promise<string[]> {
  const found: string[] = [];
  for (const n of d.nodes) {
    const r = await run(virsh(n.libvirtUri, "domstate", name), { allowFail: true });
    if (r.code === 0) found.push(n.name);
  }
  return found;
}

export async function rbdImages(d: LabDescription): Promise<string[]> {
  return (await rbdOnNode(d, d.nodes[0].name, ["ls", d.ceph.pool])).stdout.split("\n").map((s) => s.trim()).filter(Boolean);
}

/** Everything a VM of that name could have left anywhere; empty when it left nothing. */
export async function leftovers(d: LabDescription, cloud: CloudSpec, name: string): Promise<string[]> {
  const left: string[] = [];
  for (const n of await nodesWithDomain(d, name)) left.push(`domain on ${n}`);
  for (const img of await rbdImages(d)) if (img === `${name}-root` || img === `${name}-seed`) left.push(`RBD image ${img}`);
  if (await inventoryRow(cloud, name)) left.push("inventory row");
  if ((await redisGet(cloud, `vm:${name}`)) !== null) left.push("cache key");
  return left;
}

/** Removes anything a test VM may have left, whatever state a failed test left it in. */
export async function scrub(d: LabDescription, cloud: CloudSpec, name: string): Promise<void> {
  for (const n of d.nodes) {
    await run(virsh(n.libvirtUri, "destroy", name), { allowFail: true });
    await run(virsh(n.libvirtUri, "undefine", name), { allowFail: true });
  }
  for (const img of [`${name}-root`, `${name}-seed`]) await rbdOnNode(d, d.nodes[0].name, ["rm", "--no-progress", `${d.ceph.pool}/${img}`], { allowFail: true });
  await withPg(cloud, (q) => q("DELETE FROM vms WHERE name = $1", [name]).catch(() => []));
  const Redis = (await import("ioredis")).default;
  const r = new Redis(cloud.inventory.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await r.connect();
  await r.del(`vm:${name}`);
  r.disconnect();
}

export async function vcpuCount(uri: string, name: string): Promise<number> {
  return Number((await output(virsh(uri, "vcpucount", name, "--live", "--current"))).trim());
}
