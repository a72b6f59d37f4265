import { CloudSpec } from "../../lib/vm/cloud-spec";
import { cloudAccess } from "../../lib/vm/cloud-access";
import { removeHostEntry } from "../../lib/vm/dhcp-host-ops";
import { LabDescription } from "../../lab/description";
import { output, run, waitFor } from "../../lab/exec";
import { httpGet, rbdOnNode, ssh, virsh } from "./lab-client";
import { haDomainConfigPath, vmLocationId, vmResourceId } from "../../lib/ha/virtual-domain";

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
  /** The guest kernel's /proc/cmdline. */
  readonly cmdline: string;
}

export async function guestInfo(ip: string): Promise<GuestInfo> {
  const r = await httpGet(ip, "/cgi-bin/info", 3000);
  return JSON.parse(r.body) as GuestInfo;
}

/** Polls `probe` until `ok` holds for its value (lab/exec.ts waitFor); a timeout names the last value seen. */
export function eventually<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 60_000, everyMs = 500): Promise<T> {
  return waitFor(
    what,
    async () => {
      const v = await probe();
      if (ok(v)) return v;
      throw new Error(`last value ${JSON.stringify(v)}`);
    },
    timeoutMs,
    everyMs,
  );
}

/** Queries the lab's inventory database over the same connection code the provider uses. */
export function withPg<T>(cloud: CloudSpec, fn: (q: (sql: string, params?: unknown[]) => Promise<Array<Record<string, unknown>>>) => Promise<T>): Promise<T> {
  return cloudAccess(cloud).withInventory((inv) => fn(async (sql, params) => (await inv.sql.query(sql, params)).rows));
}

export function redisGet(cloud: CloudSpec, key: string): Promise<string | null> {
  return cloudAccess(cloud).withInventory((inv) => inv.cache.get(key));
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
    const r = await run(virsh(n.clientUri, "domstate", name), { allowFail: true });
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
  const entry = `${d.dhcp.hostsDir}/${name}`;
  if ((await ssh(d, d.dhcp.host, ["timeout", "10", "test", "-e", entry], { allowFail: true })).code === 0) left.push(`DHCP entry ${entry}`);
  return left;
}

/** Removes anything a test VM may have left, whatever state a failed test left it in. */
export async function scrub(d: LabDescription, cloud: CloudSpec, name: string): Promise<void> {
  // An ha VM's resource first: Pacemaker stops it as an orphan, and would start again a domain destroyed under it.
  for (const n of d.nodes) {
    const script = 'cibadmin --delete --scope constraints --xml-text "<rsc_location id=\'$1\'/>"; cibadmin --delete --scope resources --xml-text "<primitive id=\'$2\'/>"; rm -f "$3"';
    await ssh(d, n.sshHost, ["timeout", "60", "sh", "-c", script, "scrub", vmLocationId(name), vmResourceId(name), haDomainConfigPath(name)], { allowFail: true });
  }
  for (const n of d.nodes) {
    await run(virsh(n.clientUri, "destroy", name), { allowFail: true });
    await run(virsh(n.clientUri, "undefine", name), { allowFail: true });
  }
  for (const img of [`${name}-root`, `${name}-seed`]) await rbdOnNode(d, d.nodes[0].name, ["rm", "--no-progress", `${d.ceph.pool}/${img}`], { allowFail: true });
  await cloudAccess(cloud).onDhcp((r) => removeHostEntry(r, d.dhcp.hostsDir, name)).catch(() => undefined);
  await cloudAccess(cloud).withInventory(async (inv) => {
    await inv.sql.query("DELETE FROM vms WHERE name = $1", [name]).catch(() => undefined);
    await inv.cache.del(`vm:${name}`);
  });
}

export async function vcpuCount(uri: string, name: string): Promise<number> {
  return Number((await output(virsh(uri, "vcpucount", name, "--live", "--current"))).trim());
}
