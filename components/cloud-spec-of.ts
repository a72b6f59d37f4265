import * as pulumi from "@pulumi/pulumi";
import { CloudSpec, DEFAULT_DOMAIN_TYPE, DEFAULT_LEASE_TIMEOUT_SECONDS, validateCloudSpec } from "../lib/vm/cloud-spec";
import { CephCluster } from "./ceph-cluster";
import { HostConnection } from "./connection";
import { DnsmasqServer } from "./dnsmasq-server";
import { InventoryDatabase } from "./inventory-database";
import { KvmNode } from "./kvm-node";

/** The parts of a running cloud a CloudSpec is read from, and the settings beside them. */
export interface CloudSpecParts {
  readonly nodes: readonly KvmNode[];
  readonly ceph: CephCluster;
  readonly dns: DnsmasqServer;
  readonly dnsConnection: HostConnection;
  readonly inventory: InventoryDatabase;
  /** Default "kvm". */
  readonly domainType?: "kvm" | "qemu";
  readonly knownHosts?: pulumi.Input<string>;
  /** Default 300. */
  readonly leaseTimeoutSeconds?: number;
  /** Nodes in the HA cluster's standby: placement puts no new VM there. Default none. */
  readonly drained?: readonly string[];
  /** What whoever takes the spec must wait for besides the parts' outputs (e.g. the migration mesh). */
  readonly dependsOn?: readonly pulumi.Input<unknown>[];
}

const ssh = (conn: HostConnection) => ({ host: conn.host, port: conn.port, user: conn.user, privateKey: conn.privateKey });

/**
 * The CloudSpec (what VirtualMachine and the exporter take) of a cloud built
 * by these components: one construction for the whole Cloud and the
 * services stack. A secret: it holds SSH keys and the inventory's URLs.
 */
export function cloudSpecOf(p: CloudSpecParts): pulumi.Output<CloudSpec> {
  const spec = pulumi.output({
    nodes: p.nodes.map((n) => ({ name: n.name, ssh: ssh(n.connection), libvirtUri: n.libvirtUri, bridge: n.bridge, drained: n.name.apply((x) => ((p.drained ?? []).includes(x) ? true : undefined)) })),
    ceph: { pool: p.ceph.pool, monitors: p.ceph.monitorAddresses, clientName: p.ceph.clientName, secretUuid: p.nodes[0].secretUuid },
    dhcp: { ssh: ssh(p.dnsConnection), leaseFile: p.dns.leaseFile, domain: p.dns.domain, range: p.dns.range, hostsDir: p.dns.hostsDir },
    inventory: { postgresUrl: p.inventory.postgresUrl, redisUrl: p.inventory.redisUrl },
    domainType: p.domainType ?? DEFAULT_DOMAIN_TYPE,
    knownHosts: p.knownHosts,
    leaseTimeoutSeconds: p.leaseTimeoutSeconds ?? DEFAULT_LEASE_TIMEOUT_SECONDS,
  });
  return pulumi.secret(pulumi.all([spec, ...(p.dependsOn ?? [])]).apply(([s]) => validateCloudSpec(s as CloudSpec)));
}
