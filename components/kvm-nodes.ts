import * as pulumi from "@pulumi/pulumi";
import { CloudConfig } from "../lib/cloud/cloud-config";
import { CephCluster } from "./ceph-cluster";
import { HostConnection } from "./connection";
import { KvmNode } from "./kvm-node";
import { MigrationMesh } from "./migration-mesh";

/**
 * The `nodes` section of a cloud's config made real: one KvmNode per node on
 * the given Ceph cluster, and the MigrationMesh between them. Shared by the
 * whole Cloud and the services stack, so a node is set up one way.
 */
export function kvmNodesOnCeph(
  name: string,
  nodes: CloudConfig["nodes"],
  connections: Readonly<Record<string, HostConnection>>,
  ceph: CephCluster,
  opts: pulumi.ComponentResourceOptions = {},
): { nodes: KvmNode[]; byName: Map<string, KvmNode>; mesh: MigrationMesh } {
  const cephAccess = pulumi.output({ fsid: ceph.fsid, monitorAddresses: ceph.monitorAddresses, pool: ceph.pool, clientName: ceph.clientName, clientKey: ceph.clientKey });
  const made = nodes.map(
    (n) =>
      new KvmNode(
        `${name}-${n.name}`,
        {
          connection: connections[n.name],
          nodeName: n.name,
          address: n.address,
          prefixLength: n.prefixLength,
          gateway: n.gateway,
          nic: n.nic,
          bridge: n.bridge,
          networkBackend: n.networkBackend,
          securityDriver: n.securityDriver,
          guestTraffic: n.guestTraffic,
          dnsServers: n.dnsServers,
          ceph: cephAccess,
        },
        opts,
      ),
  );
  const mesh = new MigrationMesh(`${name}-migration`, { nodes: made }, opts);
  return { nodes: made, byName: new Map(nodes.map((n, i) => [n.name, made[i]])), mesh };
}
