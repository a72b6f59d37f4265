import { inNetns, run, waitFor } from "./exec";
import { LabDescription } from "./description";
import { labSshArgv } from "./ssh-client";
import { CEPH, hostByName, NODES } from "./topology";

/** A node fenced while it was down is let back in when it rejoins the HA cluster, some seconds after it boots. */
const READY_MS = 180_000;

/**
 * Every KVM node reads the VM pool as the cloud's cephx client, waiting while
 * one cannot: a node that the HA cluster fenced (its address in Ceph's OSD
 * blocklist) is usable only once Pacemaker has unfenced it on its return, and
 * a lab that says "up" before that hands its user a node whose every RBD
 * call fails.
 */
export async function nodesReachCeph(ssh: Pick<LabDescription["ssh"], "privateKeyPath" | "knownHostsPath" | "port" | "user">): Promise<void> {
  await Promise.all(
    NODES.map((node) =>
      waitFor(
        `${node.name} to read Ceph pool ${CEPH.pool} (a node the HA cluster fenced is unfenced when it rejoins: 'crm_mon -1' on a node says where that stands)`,
        async () => {
          const r = await run(inNetns(hostByName("mgr").ns, labSshArgv(ssh, node.address, ["timeout", "20", "rbd", "--id", CEPH.client, "ls", CEPH.pool])), { allowFail: true, timeoutMs: 30_000 });
          if (r.code !== 0) throw new Error(`rbd ls on ${node.name}: ${r.stderr.trim().split("\n").pop()}`);
          return true;
        },
        READY_MS,
        2_000,
      ),
    ),
  );
}
