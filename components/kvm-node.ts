import * as pulumi from "@pulumi/pulumi";
import { RemoteCommand } from "../dynamic-providers/remote-command";
import { DEFAULT_CEPH_CLIENT } from "../lib/ceph/ceph-user";
import { BridgeOptions, DEFAULT_BRIDGE, NetworkBackend, validateBridgeOptions } from "../lib/kvm-node/bridge-config";
import { uuidFromSeed } from "../lib/core/derived-uuid";
import { checkGuestTraffic, DEFAULT_GUEST_TRAFFIC, GuestTraffic } from "../lib/kvm-node/guest-filter";
import { renderBridgeSetupScript } from "../lib/kvm-node/bridge-script";
import {
  checkSecurityDriver,
  DEFAULT_SECURITY_DRIVER,
  parseHostFacts,
  renderGuestFilterScript,
  renderHostFactsScript,
  renderKvmPackagesScript,
  renderLibvirtCephScript,
  renderLibvirtQemuConfScript,
  renderNodeCephClientScript,
  SecurityDriver,
} from "../lib/kvm-node/node-script";
import { migrationUri, parseMigrationKeys, renderMigrationKeyScript } from "../lib/kvm-node/migration-script";
import { stdinPayload } from "../lib/core/script";
import { check } from "../lib/core/errors";
import { checkDnsLabel, UUID } from "../lib/core/network";
import { HostConnection } from "./connection";
import { resolveArgs } from "./inputs";

/** How a node reaches the Ceph cluster (CephCluster's outputs fit here). */
export interface KvmNodeCephArgs {
  readonly fsid: string;
  readonly monitorAddresses: readonly string[];
  readonly pool: string;
  /** Default "libvirt". */
  readonly clientName?: string;
  /** The client's cephx key. Kept secret. */
  readonly clientKey: string;
}

export interface KvmNodeArgs {
  /** SSH access (root or a passwordless-sudo user). */
  readonly connection: HostConnection;
  /** The node's name in placement and outputs. Default: the component's name. */
  readonly nodeName?: pulumi.Input<string>;
  /** The host's address, moved from the NIC onto the bridge. No default. */
  readonly address: pulumi.Input<string>;
  /** Prefix length of that address. No default. */
  readonly prefixLength: pulumi.Input<number>;
  /** Default gateway kept on the bridge. Default: none. */
  readonly gateway?: pulumi.Input<string | undefined>;
  /** The uplink NIC that becomes the bridge's port. No default. */
  readonly nic: pulumi.Input<string>;
  /** Bridge the VMs join. Default "br0". */
  readonly bridge?: pulumi.Input<string>;
  /** Which network stack makes the bridge permanent: "ifupdown" (Debian), "networkd" or "netplan" (Ubuntu). Default "ifupdown". */
  readonly networkBackend?: pulumi.Input<NetworkBackend>;
  /** DNS servers written into the bridge's config. Default none. */
  readonly dnsServers?: pulumi.Input<readonly string[]>;
  /** libvirt's QEMU security driver: "apparmor", "selinux" or "none". Default "apparmor". */
  readonly securityDriver?: pulumi.Input<SecurityDriver>;
  /**
   * What the guests of this node may send (lib/kvm-node/guest-filter.ts): "clean" (the rules of
   * libvirt's clean-traffic: no spoofed MAC, IP or ARP, no DHCP server) or "open" (anything, for guests
   * that route for others). Every node of a cloud should have the same. Default "clean".
   */
  readonly guestTraffic?: pulumi.Input<GuestTraffic>;
  /** The Ceph cluster holding VM disks. No default. */
  readonly ceph: pulumi.Input<KvmNodeCephArgs>;
  /** UUID of the libvirt cephx secret. Default: derived from the fsid and client name, the same on every node. */
  readonly secretUuid?: pulumi.Input<string>;
}

/** The node's settings once known, every default filled and every rule checked. */
interface ResolvedKvmNode {
  readonly nodeName: string;
  readonly bridge: BridgeOptions;
  readonly securityDriver: SecurityDriver;
  readonly guestTraffic: GuestTraffic;
  readonly secretUuid?: string;
}

type KnownArgs = pulumi.Unwrap<Omit<KvmNodeArgs, "connection" | "ceph">>;

/** Pure: the one place KvmNode's defaults are filled and its rules checked. */
function resolveKvmNode(name: string, v: KnownArgs): ResolvedKvmNode {
  const r: ResolvedKvmNode = {
    nodeName: v.nodeName ?? name,
    bridge: {
      backend: v.networkBackend ?? "ifupdown",
      bridge: v.bridge ?? DEFAULT_BRIDGE,
      nic: v.nic,
      address: v.address,
      prefixLength: v.prefixLength,
      gateway: v.gateway,
      dnsServers: [...(v.dnsServers ?? [])],
    },
    securityDriver: v.securityDriver ?? DEFAULT_SECURITY_DRIVER,
    guestTraffic: v.guestTraffic ?? DEFAULT_GUEST_TRAFFIC,
    secretUuid: v.secretUuid,
  };
  checkDnsLabel("nodeName", r.nodeName);
  validateBridgeOptions(r.bridge);
  checkSecurityDriver("securityDriver", r.securityDriver);
  checkGuestTraffic("guestTraffic", r.guestTraffic);
  if (r.secretUuid !== undefined) check(UUID.test(r.secretUuid), "secretUuid", r.secretUuid, "a lower-case UUID");
  return r;
}

/**
 * A KVM node: br0 over the uplink carrying the host's address, libvirt and
 * QEMU, the Ceph client and libvirt's cephx secret and RBD pool, a migration
 * key, the node exporter and genisoimage. Migration access between nodes is
 * granted by MigrationMesh, which needs every node's key first.
 */
export class KvmNode extends pulumi.ComponentResource {
  readonly name: pulumi.Output<string>;
  readonly address: pulumi.Output<string>;
  readonly bridge: pulumi.Output<string>;
  /** What other nodes use to migrate guests here (SSH, with this cloud's migration key). */
  readonly libvirtUri: pulumi.Output<string>;
  readonly vcpus: pulumi.Output<number>;
  readonly memoryMiB: pulumi.Output<number>;
  readonly secretUuid: pulumi.Output<string>;
  /** Public half of the node's migration key; the private half never leaves the node. */
  readonly migrationPublicKey: pulumi.Output<string>;
  readonly hostPublicKey: pulumi.Output<string>;
  /** For MigrationMesh: how to reach this node. */
  readonly connection: HostConnection;
  readonly resourceName: string;

  constructor(name: string, args: KvmNodeArgs, opts?: pulumi.ComponentResourceOptions) {
    const { connection: _c, ceph: _ceph, ...values } = args;
    const r = resolveArgs(values, (v) => resolveKvmNode(name, v as KnownArgs));
    super("kvmcloud:index:KvmNode", name, {}, opts);
    this.connection = args.connection;
    this.resourceName = name;
    // The key makes the whole object secret; only the key is, so the rest is unwrapped.
    const ceph = pulumi.output(args.ceph);
    const cephPlain = {
      fsid: pulumi.unsecret(ceph.fsid),
      monitorAddresses: pulumi.unsecret(ceph.monitorAddresses),
      pool: pulumi.unsecret(ceph.pool),
    };
    const clientName = pulumi.unsecret(ceph.apply((c) => c.clientName ?? DEFAULT_CEPH_CLIENT));
    this.secretUuid = pulumi
      .all([r, cephPlain.fsid, clientName])
      .apply(([x, fsid, client]) => x.secretUuid ?? uuidFromSeed(`kvm-cloud libvirt ceph secret ${fsid} client.${client}`));
    this.bridge = r.apply((x) => x.bridge.bridge);
    const clientKeyStdin = pulumi.secret(ceph.apply((c) => stdinPayload([c.clientKey])));
    const run = (part: string, script: pulumi.Input<string>, deps: pulumi.Resource[], stdin?: pulumi.Input<string>, secretStdout = false) =>
      new RemoteCommand(`${name}-${part}`, { connection: args.connection, script, stdin, secretStdout }, { parent: this, dependsOn: deps });

    const packages = run("packages", renderKvmPackagesScript(), []);
    const facts = run("facts", r.apply((x) => renderHostFactsScript(x.bridge.nic)), []);
    const capacity = facts.stdout.apply(parseHostFacts);
    const bridge = run("bridge", pulumi.all([r, capacity.nicMac]).apply(([x, nicMac]) => renderBridgeSetupScript({ ...x.bridge, nicMac })), [packages, facts]);
    const qemu = run("libvirt", r.apply((x) => renderLibvirtQemuConfScript({ securityDriver: x.securityDriver })), [packages]);
    const cephClient = run("ceph-client", pulumi.all([cephPlain.fsid, cephPlain.monitorAddresses, clientName]).apply(([fsid, mons, client]) =>
      renderNodeCephClientScript({ fsid, monitors: mons.map((address, i) => ({ name: `m${i}`, address })), clientName: client })), [packages], clientKeyStdin);
    run("libvirt-ceph", pulumi.all([this.secretUuid, clientName, cephPlain.pool, cephPlain.monitorAddresses]).apply(([secretUuid, client, pool, monitors]) =>
      renderLibvirtCephScript({ secretUuid, clientName: client, pool, monitors })), [qemu, cephClient, bridge], clientKeyStdin);
    run("guest-filter", r.apply((x) => renderGuestFilterScript(x.guestTraffic)), [qemu]);
    const key = run("migration-key", renderMigrationKeyScript(), [packages]);

    const keys = key.stdout.apply(parseMigrationKeys);
    this.name = r.apply((x) => x.nodeName);
    this.address = r.apply((x) => x.bridge.address);
    this.libvirtUri = this.address.apply(migrationUri);
    this.vcpus = capacity.apply((c) => c.vcpus);
    this.memoryMiB = capacity.apply((c) => c.memoryMiB);
    this.migrationPublicKey = keys.apply((k) => k.migrationKey);
    this.hostPublicKey = keys.apply((k) => k.hostKey);
    this.registerOutputs({
      name: this.name,
      address: this.address,
      bridge: this.bridge,
      libvirtUri: this.libvirtUri,
      vcpus: this.vcpus,
      memoryMiB: this.memoryMiB,
      secretUuid: this.secretUuid,
      migrationPublicKey: this.migrationPublicKey,
      hostPublicKey: this.hostPublicKey,
    });
  }
}

/** A component's list of KvmNodes (plain: it decides the resources): at least `atLeast`, each once. */
export function checkNodeList(nodes: readonly KvmNode[], atLeast: number, expected: string): void {
  check(Array.isArray(nodes) && nodes.length >= atLeast, "nodes", nodes?.length, expected);
  const seen = new Set<string>();
  nodes.forEach((n, i) => {
    check(!seen.has(n.resourceName), `nodes[${i}]`, n.resourceName, "each KvmNode once");
    seen.add(n.resourceName);
  });
}
