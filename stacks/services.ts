import * as pulumi from "@pulumi/pulumi";
import { connectionTo } from "../components/connection";
import { CephCluster } from "../components/ceph-cluster";
import { DnsmasqServer } from "../components/dnsmasq-server";
import { InventoryDatabase } from "../components/inventory-database";
import { baseImageOnNodes } from "../components/base-image";
import { cloudSpecOf } from "../components/cloud-spec-of";
import { kvmNodesOnCeph } from "../components/kvm-nodes";
import {
  cephClusterShape,
  checkCephSection,
  checkDatabaseHost,
  checkDnsSections,
  checkNodesSection,
  checkSshDefaults,
  checkVmSettings,
  CloudConfig,
  DatabaseHost,
  dnsmasqSettings,
} from "../lib/cloud/cloud-config";
import { resolveBaseImageSection } from "../lib/cloud/base-image-section";
import { checkMonitoringSection, MonitoringSection } from "../lib/cloud/monitoring-section";
import { check } from "../lib/core/errors";
import { cloudMonitoring } from "./cloud-monitoring";

/**
 * Some of the cloud's services on their hosts, for a cloud whose other parts
 * were built by other means (the lab's, until the whole stack builds it):
 * `kvm-cloud:services` holds any of the whole config's `dns` (with the
 * `network` it serves), `database`, `ceph`, `nodes` (which need `ceph`:
 * KVM nodes with the migration mesh), `baseImage` (which needs `nodes`) and
 * `monitoring` (which needs all but the image) sections, shaped and checked as
 * there, and `ssh` defaults. Hosts are reached with the secret `kvm-cloud:sshPrivateKey`
 * and checked against `kvm-cloud:knownHosts` when given. The outputs are what
 * a CloudSpec takes from them.
 */
export const SERVICES_KEY = "kvm-cloud:services";

export interface ServicesConfig {
  readonly ssh?: CloudConfig["ssh"];
  readonly network?: CloudConfig["network"];
  readonly dns?: CloudConfig["dns"];
  readonly database?: DatabaseHost;
  readonly ceph?: CloudConfig["ceph"];
  readonly nodes?: CloudConfig["nodes"];
  /** Imported by a node (needs `nodes`): the image VMs are cloned from. */
  readonly baseImage?: CloudConfig["baseImage"];
  /**
   * With all of dns, database, ceph and nodes: Monitoring on the database host
   * (its runtime), node exporters on every host, as the whole stack makes it.
   */
  readonly monitoring?: MonitoringSection;
  /** The CloudSpec's settings the exporter reads the cloud with (monitoring only). Defaults as in the whole config. */
  readonly domainType?: CloudConfig["domainType"];
  readonly leaseTimeoutSeconds?: number;
}

export function validateServicesConfig(s: ServicesConfig): void {
  check(typeof s === "object" && s !== null, "services", s, "an object with any of dns (and network), database, ceph and nodes");
  check(s.dns !== undefined || s.database !== undefined || s.ceph !== undefined || s.nodes !== undefined, "services", Object.keys(s), 'at least one of "dns", "database", "ceph" or "nodes"');
  checkSshDefaults(s.ssh);
  if (s.dns !== undefined) {
    check(typeof s.network === "object" && s.network !== null, "network", s.network, 'the "network" section the dns host serves');
    checkDnsSections({ dns: s.dns, network: s.network! });
  }
  if (s.database !== undefined) checkDatabaseHost("database", s.database);
  if (s.ceph !== undefined) checkCephSection(s.ceph);
  if (s.nodes !== undefined) {
    check(s.ceph !== undefined, "nodes", "[without ceph]", 'a "ceph" section beside it: the nodes keep VM disks there');
    checkNodesSection(s.nodes);
  }
  if (s.baseImage !== undefined) {
    check(s.nodes !== undefined, "baseImage", "[without nodes]", 'a "nodes" section beside it: a node imports it');
    resolveBaseImageSection(s.baseImage, s.nodes!, s.ceph!);
  }
  if (s.monitoring !== undefined) {
    const missing = (["dns", "database", "ceph", "nodes"] as const).filter((k) => s[k] === undefined);
    check(missing.length === 0, "monitoring", `[without ${missing.join(", ")}]`, 'the "dns", "database", "ceph" and "nodes" sections beside it: it watches the whole cloud');
    checkMonitoringSection(s.monitoring);
    checkVmSettings(s);
  }
}

export function services(config: pulumi.Config) {
  const s = config.requireObject<ServicesConfig>("services");
  validateServicesConfig(s);
  const knownHosts = config.get("knownHosts");
  const privateKey = config.requireSecret("sshPrivateKey");
  const conn = (h: { address: string; user?: string; port?: number }) => connectionTo(h, { defaults: s.ssh, privateKey, knownHosts });
  // Every host's key is looked up before anything is registered.
  const dnsConnection = s.dns && conn(s.dns);
  const dbConnection = s.database && conn(s.database);
  const cephConnections = s.ceph && Object.fromEntries(s.ceph.hosts.map((h) => [h.name, conn(h)]));
  const nodeConnections = s.nodes && Object.fromEntries(s.nodes.map((n) => [n.name, conn(n)]));

  const dns =
    s.dns && new DnsmasqServer("kvmcloud-dns", { connection: dnsConnection!, ...dnsmasqSettings({ dns: s.dns, network: s.network! }), natInterface: s.dns.natInterface });
  const db = s.database;
  const inventory =
    db &&
    new InventoryDatabase("kvmcloud-inventory", {
      runtime: db.runtime,
      postgresVersion: db.postgresVersion,
      postgresPort: db.postgresPort,
      redisPort: db.redisPort,
      database: db.database,
      dockerSshOptions: db.dockerSshOptions ? [...db.dockerSshOptions] : undefined,
      allowedClients: db.allowedClients,
      connection: dbConnection!,
      postgresPassword: config.getSecret("postgresPassword"),
      redisPassword: config.getSecret("redisPassword"),
    });
  const cephShape = s.ceph && cephClusterShape(s.ceph);
  const ceph =
    cephShape && new CephCluster("kvmcloud-ceph", { ...cephShape, hosts: cephShape.hosts.map((h) => ({ ...h, connection: cephConnections![h.name] })) });
  const kvm = s.nodes && kvmNodesOnCeph("kvmcloud", s.nodes, nodeConnections!, ceph!);
  const baseImage = s.baseImage && baseImageOnNodes("kvmcloud-image", s.baseImage, kvm!.byName, ceph!);
  const monitoring =
    s.monitoring &&
    cloudMonitoring({
      config: { dns: s.dns!, database: s.database!, ceph: s.ceph!, nodes: s.nodes!, monitoring: s.monitoring },
      connections: { dns: dnsConnection!, database: dbConnection!, ceph: cephConnections!, nodes: nodeConnections! },
      cloud: cloudSpecOf({
        nodes: kvm!.nodes,
        ceph: ceph!,
        dns: dns!,
        dnsConnection: dnsConnection!,
        inventory: inventory!,
        domainType: s.domainType,
        knownHosts,
        leaseTimeoutSeconds: s.leaseTimeoutSeconds,
        dependsOn: [kvm!.mesh.libvirtUris],
      }),
      dhcpRange: dns!.range,
    });
  return {
    /** The DHCP host's settings, as a CloudSpec's `dhcp` takes them. */
    dhcp: dns && { host: dns.address, domain: dns.domain, range: dns.range, leaseFile: dns.leaseFile, hostsDir: dns.hostsDir },
    /** Inventory URLs carry passwords: secret outputs (`pulumi stack output --show-secrets`). */
    inventory: inventory && { postgresUrl: inventory.postgresUrl, redisUrl: inventory.redisUrl },
    /** The cluster as KVM nodes and a CloudSpec need it; the client's key is a secret. */
    ceph: ceph && { fsid: ceph.fsid, monitors: ceph.monitorAddresses, pool: ceph.pool, clientName: ceph.clientName, clientKey: ceph.clientKey },
    /** The KVM nodes as a CloudSpec and placement need them; libvirtUri is the migration target (qemu+ssh between nodes). */
    nodes:
      kvm &&
      kvm.nodes.map((n) => ({ name: n.name, address: n.address, bridge: n.bridge, libvirtUri: n.libvirtUri, secretUuid: n.secretUuid, vcpus: n.vcpus, memoryMiB: n.memoryMiB })),
    /** VirtualMachine's `image` ("pool/image@snapshot") and the image's size. */
    baseImage: baseImage && { spec: baseImage.spec, sizeBytes: baseImage.sizeBytes },
    monitoring: monitoring && { prometheusUrl: monitoring.prometheusUrl },
  };
}
