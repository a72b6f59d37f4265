import { check } from "../core/errors";
import { checkPoolName } from "../ceph/ceph-cluster";
import { checkIPv4, UUID } from "../core/network";
import { buildXml } from "../core/xml";

export interface RbdPoolOptions {
  /** libvirt pool name (default: the Ceph pool name). */
  readonly name?: string;
  /** Ceph pool holding VM disks. */
  readonly cephPool: string;
  /** Monitor addresses; port 3300 (msgr v2). */
  readonly monitors: readonly string[];
  readonly clientName: string;
  readonly secretUuid: string;
}

/** Pure: an RBD storage pool, so `virsh vol-list` shows the cloud's disks. */
export function renderRbdPoolXml(o: RbdPoolOptions): string {
  checkPoolName("cephPool", o.cephPool);
  check(o.monitors.length > 0, "monitors", o.monitors, "at least one monitor address");
  o.monitors.forEach((m, i) => checkIPv4(`monitors[${i}]`, m));
  check(UUID.test(o.secretUuid), "secretUuid", o.secretUuid, "a lower-case UUID");
  return buildXml({
    pool: {
      "@_type": "rbd",
      name: o.name ?? o.cephPool,
      source: {
        name: o.cephPool,
        host: o.monitors.map((m) => ({ "@_name": m, "@_port": "3300" })),
        auth: { "@_type": "ceph", "@_username": o.clientName, secret: { "@_uuid": o.secretUuid } },
      },
    },
  });
}
