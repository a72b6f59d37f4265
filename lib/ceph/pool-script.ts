import { quote } from "../core/shell";
import { check } from "../core/errors";
import { checkPoolName } from "./ceph-cluster";
import { bashScript, waitForCephStep } from "../core/script";
import { checkCephUser } from "./ceph-user";

/**
 * What the cloud needs inside the running cluster: the RBD pool, a cephx
 * client limited to it, and the manager's Prometheus module. The client's key
 * is the only thing on stdout (Pulumi stores it as a secret); everything
 * else goes to stderr.
 */
export interface CephPoolOptions {
  readonly pool: string;
  readonly pgCount: number;
  readonly replicaSize: number;
  readonly clientName: string;
}

/** Capabilities of the cloud's RBD client: images in one pool, nothing else. */
export function rbdClientCaps(pool: string): Record<string, string> {
  return { mon: "profile rbd", osd: `profile rbd pool=${pool}`, mgr: `profile rbd pool=${pool}` };
}

export function renderCephPoolScript(o: CephPoolOptions): string {
  checkPoolName("pool", o.pool);
  check(Number.isInteger(o.pgCount) && o.pgCount >= 1 && (o.pgCount & (o.pgCount - 1)) === 0, "pgCount", o.pgCount, "a power of two");
  check(Number.isInteger(o.replicaSize) && o.replicaSize >= 1 && o.replicaSize <= 10, "replicaSize", o.replicaSize, "an integer from 1 to 10");
  checkCephUser("clientName", o.clientName);
  const pool = quote(o.pool);
  const entity = quote(`client.${o.clientName}`);
  const caps = Object.entries(rbdClientCaps(o.pool)).map(([k, v]) => `${k} ${quote(v)}`).join(" ");
  const minSize = o.replicaSize - Math.floor(o.replicaSize / 2);
  const sizeOne = o.replicaSize === 1;
  return bashScript(`Ceph RBD pool ${o.pool}, client.${o.clientName} and the mgr Prometheus module`, [
    "exec 3>&1 1>&2",
    waitForCephStep(),
    `if ! ceph osd pool ls | grep -xF ${pool} >/dev/null; then`,
    `  ceph osd pool create ${pool} ${o.pgCount} ${o.pgCount} replicated`,
    "fi",
    ...(sizeOne ? ["ceph config set global mon_allow_pool_size_one true"] : []),
    `if [ "$(ceph osd pool get ${pool} size -f json | grep -o '"size": *[0-9]*' | grep -o '[0-9]*$')" != ${o.replicaSize} ]; then`,
    `  ceph osd pool set ${pool} size ${o.replicaSize}${sizeOne ? " --yes-i-really-mean-it" : ""}`,
    "fi",
    `ceph osd pool set ${pool} min_size ${minSize}`,
    `if ! ceph osd pool application get ${pool} 2>/dev/null | grep '"rbd"' >/dev/null; then`,
    // Waits for the pool's PGs; bounded so a cluster without OSDs fails instead of hanging.
    `  timeout 600 rbd pool init ${pool}`,
    "fi",
    `ceph auth get-or-create ${entity} ${caps} >/dev/null`,
    `ceph auth caps ${entity} ${caps}`,
    "ceph config set mgr mgr/prometheus/server_addr 0.0.0.0",
    "ceph mgr module enable prometheus",
    `ceph auth get-key ${entity} >&3`,
  ]);
}
