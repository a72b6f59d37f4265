import { ceph, cephArgv, cephJson, CephTarget } from "./ceph-cli";
import { CephFiles, writeIfChanged } from "./ceph-files";
import { run } from "./exec";

/**
 * What the cloud needs inside a running cluster: the RBD pool, the libvirt
 * client identity and the mgr's metrics endpoint. Each piece is checked first,
 * so a second run costs three read-only calls.
 */
export interface ResourceOptions extends CephTarget {
  readonly files: CephFiles;
  readonly pool: string;
  readonly client: string;
  readonly log: (s: string) => void;
}

const PG_NUM = "32";

async function ensurePool(o: ResourceOptions): Promise<void> {
  const pools = await cephJson<Array<{ pool_name: string; application_metadata?: Record<string, unknown> }>>(o, ["osd", "pool", "ls", "detail"]);
  const pool = pools.find((p) => p.pool_name === o.pool);
  if (!pool) {
    o.log(`ceph: creating pool ${o.pool}`);
    // Size and min_size come from osd_pool_default_* in ceph.conf (3 and 2);
    // the single-host CRUSH rule spreads the replicas over OSDs.
    await ceph(o, ["osd", "pool", "create", o.pool, PG_NUM, PG_NUM, "replicated"]);
  }
  if (!pool?.application_metadata || !("rbd" in pool.application_metadata)) {
    await run(cephArgv(o, "rbd", "pool", "init", o.pool), { timeoutMs: 180_000 });
  }
}

/** Capabilities of the cloud's RBD client: images in one pool, nothing else. */
function clientCaps(pool: string): Record<string, string> {
  return { mon: "profile rbd", osd: `profile rbd pool=${pool}`, mgr: `profile rbd pool=${pool}` };
}

/** Ensures client.<client> with the right caps, writes its keyring and returns its key. */
async function ensureClient(o: ResourceOptions): Promise<string> {
  const entity = `client.${o.client}`;
  const want = clientCaps(o.pool);
  const capArgs = Object.entries(want).flat();
  const got = await run(cephArgv(o, "ceph", "auth", "get", entity, "-f", "json"), { allowFail: true, timeoutMs: 30_000 });
  let key: string;
  if (got.code === 0) {
    const [e] = JSON.parse(got.stdout) as Array<{ key: string; caps: Record<string, string> }>;
    key = e.key;
    if (JSON.stringify(e.caps) !== JSON.stringify(Object.fromEntries(Object.entries(want).sort()))) {
      o.log(`ceph: resetting caps of ${entity}`);
      await ceph(o, ["auth", "caps", entity, ...capArgs]);
    }
  } else if (/ENOENT|failed to find/.test(got.stderr)) {
    o.log(`ceph: creating ${entity}`);
    const [e] = await cephJson<Array<{ key: string }>>(o, ["auth", "get-or-create", entity, ...capArgs]);
    key = e.key;
  } else {
    throw new Error(`ceph auth get ${entity} failed (exit ${got.code}): ${got.stderr.trim()}`);
  }
  writeIfChanged(o.files.clientKeyring(o.client), `[${entity}]\n\tkey = ${key}\n`, 0o600);
  return key;
}

/**
 * Enables the prometheus exporter on all of the namespace's addresses (its
 * default, `::`, fails where IPv6 is off). A failure only costs metrics.
 */
async function ensurePrometheus(o: ResourceOptions): Promise<void> {
  const modules = await cephJson<{ enabled_modules?: string[] }>(o, ["mgr", "module", "ls"]);
  if (modules.enabled_modules?.includes("prometheus")) {
    return;
  }
  try {
    await ceph(o, ["config", "set", "mgr", "mgr/prometheus/server_addr", "0.0.0.0"]);
    await ceph(o, ["mgr", "module", "enable", "prometheus"]);
  } catch (e) {
    o.log(`ceph: prometheus module not enabled (metrics unavailable): ${(e as Error).message}`);
  }
}

/** Pool, client and metrics; returns the client's key. */
export async function ensureCephResources(o: ResourceOptions): Promise<string> {
  const [, key] = await Promise.all([ensurePool(o), ensureClient(o), ensurePrometheus(o)]);
  return key;
}
