import * as pulumi from "@pulumi/pulumi";
import { cephClusterShape, CloudConfig, CloudHost, dnsmasqSettings, validateCloudConfig } from "../lib/cloud/cloud-config";
import { CloudSpec } from "../lib/vm/cloud-spec";
import { BaseImage, baseImageOnNodes } from "./base-image";
import { CephCluster } from "./ceph-cluster";
import { cloudSpecOf } from "./cloud-spec-of";
import { connectionTo, HostConnection } from "./connection";
import { DnsmasqServer } from "./dnsmasq-server";
import { HaCluster } from "./ha-cluster";
import { DEFAULT_QUORUM_DEVICE } from "../lib/ha/ha-cluster";
import { InventoryDatabase } from "./inventory-database";
import { KvmNode } from "./kvm-node";
import { kvmNodesOnCeph } from "./kvm-nodes";

/**
 * The cloud's shape (`config`) decides which resources exist, so it is plain
 * data, validated as a whole before anything is registered; only the secrets
 * beside it are Inputs.
 */
export interface CloudArgs {
  /** Every host and setting of the cloud (see lib/cloud/cloud-config.ts). No default. */
  readonly config: CloudConfig;
  /** Private key text that logs in to every host. A secret. No default. */
  readonly sshPrivateKey: pulumi.Input<string>;
  /**
   * known_hosts text for every host: every component's connection and the VM
   * provider then refuse any other host key, and a host it does not list fails
   * the preview. Default none: any host key is accepted (trust on every use).
   */
  readonly knownHosts?: pulumi.Input<string>;
  /** Inventory passwords. Default: generated once and kept in state. Secrets. */
  readonly postgresPassword?: pulumi.Input<string>;
  readonly redisPassword?: pulumi.Input<string>;
}

/** SSH access to every host of the cloud, for components the stack adds (load balancer, monitoring). */
export interface CloudConnections {
  readonly dns: HostConnection;
  readonly database: HostConnection;
  readonly loadBalancer?: HostConnection;
  readonly ceph: Readonly<Record<string, HostConnection>>;
  readonly nodes: Readonly<Record<string, HostConnection>>;
}

/**
 * A whole kvm-cloud from one config: the VM network's dnsmasq, Ceph, the KVM
 * nodes with migration access between them, the inventory database and the
 * base image, yielding `cloud`, the value every VirtualMachine takes. The
 * load balancer is not made here: its backends are VMs, which need `cloud`
 * first; the stack puts one on `connections.loadBalancer`.
 */
export class Cloud extends pulumi.ComponentResource {
  /** What VirtualMachine's `cloud` takes. Secret (keys, URLs); depends on every part of the cloud. */
  public readonly cloud: pulumi.Output<CloudSpec>;
  /** The base image's "pool/image@snap", VirtualMachine's `image`. */
  public readonly imageSpec: pulumi.Output<string>;
  public readonly dns: DnsmasqServer;
  public readonly ceph: CephCluster;
  public readonly nodes: readonly KvmNode[];
  public readonly inventory: InventoryDatabase;
  public readonly baseImage: BaseImage;
  /** The nodes' HA cluster, when the config has an `ha` section. */
  public readonly ha?: HaCluster;
  public readonly connections: CloudConnections;

  constructor(name: string, args: CloudArgs, opts: pulumi.ComponentResourceOptions = {}) {
    // Before super(): a bad config must fail before anything is registered.
    validateCloudConfig(args.config);
    // Also before super(): a host that plain knownHosts does not list fails here.
    const connections = Cloud.connectionsOf(args);
    super("kvmcloud:index:Cloud", name, {}, opts);
    const c = args.config;
    this.connections = connections;
    this.dns = this.dnsServer(name, c);
    this.ceph = this.cephCluster(name, c);
    const { nodes, byName, mesh } = kvmNodesOnCeph(name, c.nodes, connections.nodes, this.ceph, { parent: this });
    this.nodes = nodes;
    this.inventory = this.inventoryDatabase(name, args);
    this.baseImage = baseImageOnNodes(`${name}-image`, c.baseImage, byName, this.ceph, { parent: this });
    this.imageSpec = this.baseImage.spec;
    if (c.ha) {
      this.ha = new HaCluster(
        `${name}-ha`,
        {
          nodes,
          clusterName: c.ha.clusterName,
          tokenMs: c.ha.tokenMs,
          drain: c.ha.drain,
          quorumDevice: (c.ha.quorumDevice ?? DEFAULT_QUORUM_DEVICE) === "database" ? { connection: connections.database, address: c.database.address } : undefined,
          // The first Ceph host holds the admin keyring (CephCluster bootstraps there).
          fencing: { cephAdmin: connections.ceph[c.ceph.hosts[0].name], ceph: this.ceph },
          inventory: { postgresUrl: this.inventory.postgresUrl, redisUrl: this.inventory.redisUrl },
        },
        { parent: this },
      );
    }
    this.cloud = cloudSpecOf({
      nodes,
      ceph: this.ceph,
      dns: this.dns,
      dnsConnection: connections.dns,
      inventory: this.inventory,
      domainType: c.domainType,
      knownHosts: args.knownHosts,
      leaseTimeoutSeconds: c.leaseTimeoutSeconds,
      drained: c.ha?.drain,
      // Through this component's urn, whoever takes `cloud` depends on every part of the cloud
      // (Pulumi expands a component dependency to its children), e.g. libvirt set up on the nodes.
      dependsOn: [this.urn, mesh.libvirtUris],
    });
    this.registerOutputs({ cloud: this.cloud, imageSpec: this.imageSpec });
  }

  private static connectionsOf(args: CloudArgs): CloudConnections {
    const c = args.config;
    const conn = (h: CloudHost) => connectionTo(h, { defaults: c.ssh, privateKey: args.sshPrivateKey, knownHosts: args.knownHosts });
    return {
      dns: conn(c.dns),
      database: conn(c.database),
      loadBalancer: c.loadBalancer ? conn(c.loadBalancer) : undefined,
      ceph: Object.fromEntries(c.ceph.hosts.map((h) => [h.name, conn(h)])),
      nodes: Object.fromEntries(c.nodes.map((n) => [n.name, conn(n)])),
    };
  }

  private dnsServer(name: string, c: CloudConfig): DnsmasqServer {
    return new DnsmasqServer(
      `${name}-dns`,
      { connection: this.connections.dns, ...dnsmasqSettings(c), natInterface: c.dns.natInterface },
      { parent: this },
    );
  }

  private cephCluster(name: string, c: CloudConfig): CephCluster {
    const shape = cephClusterShape(c.ceph);
    return new CephCluster(`${name}-ceph`, { ...shape, hosts: shape.hosts.map((h) => ({ ...h, connection: this.connections.ceph[h.name] })) }, { parent: this });
  }

  private inventoryDatabase(name: string, args: CloudArgs): InventoryDatabase {
    const db = args.config.database;
    return new InventoryDatabase(
      `${name}-inventory`,
      {
        connection: this.connections.database,
        dockerSshOptions: db.dockerSshOptions ? [...db.dockerSshOptions] : undefined,
        runtime: db.runtime,
        postgresVersion: db.postgresVersion,
        postgresPort: db.postgresPort,
        redisPort: db.redisPort,
        database: db.database,
        allowedClients: inventoryClients(args.config),
        postgresPassword: args.postgresPassword,
        redisPassword: args.redisPassword,
      },
      { parent: this },
    );
  }
}

/**
 * The inventory's allowed clients: the config's list and, with `ha`, every
 * KVM node, whose Pacemaker alert agent writes there. No list: any client.
 */
function inventoryClients(c: CloudConfig): readonly string[] | undefined {
  const given = c.database.allowedClients;
  if (given === undefined || !c.ha) return given;
  return [...new Set([...given, ...c.nodes.map((n) => `${n.address}/32`)])];
}
