import * as pulumi from "@pulumi/pulumi";
import { GeneratedPassword } from "../dynamic-providers/generated-password";
import { RemoteCommand } from "../dynamic-providers/remote-command";
import { HaClusterPlan, planHaCluster, resolveHaSettings } from "../lib/ha/ha-cluster";
import { renderHaMemberScript, renderQnetdScript } from "../lib/ha/ha-scripts";
import { renderStandbyScript } from "../lib/ha/standby";
import { stdinPayload } from "../lib/core/script";
import { DEFAULT_FENCE_CLIENT } from "../lib/ha/fence-agent";
import { renderFenceClientScript } from "../lib/ha/fence-client";
import { renderQdeviceCertScript } from "../lib/ha/qdevice-tls";
import { renderAlertEnv } from "../lib/ha/ha-alert";
import { checkCephUser } from "../lib/ceph/ceph-user";
import { HostConnection } from "./connection";
import { resolveArgs } from "./inputs";
import { checkNodeList, KvmNode } from "./kvm-node";

export interface HaQuorumDeviceArgs {
  /** SSH access to the host that runs corosync-qnetd (not a cluster member; e.g. the database host). */
  readonly connection: HostConnection;
  /** The address the members reach qnetd at (TCP 5403). */
  readonly address: pulumi.Input<string>;
}

export interface HaFencingArgs {
  /** SSH access to a host with Ceph's admin keyring (e.g. the first Ceph host), where the fence agent's cephx user is made. */
  readonly cephAdmin: HostConnection;
  /** The Ceph cluster (e.g. a CephCluster): the user is made once it runs. */
  readonly ceph: pulumi.Resource;
  /** The fence agent's cephx user, without "client.". Default "kvmcloud-fence". */
  readonly clientName?: string;
}

export interface HaInventoryArgs {
  /** The inventory's Postgres URL (InventoryDatabase's postgresUrl). A secret. */
  readonly postgresUrl: pulumi.Input<string>;
  /** The inventory's Redis URL (InventoryDatabase's redisUrl). A secret. */
  readonly redisUrl: pulumi.Input<string>;
}

export interface HaClusterArgs {
  /** The KVM nodes that form the cluster, at least two (plain list: it decides the resources). No default. */
  readonly nodes: readonly KvmNode[];
  /**
   * The quorum device: corosync-qnetd on a third host, whose vote lets one of
   * two nodes keep quorum. Default none: two nodes run with two_node, and an
   * even split is settled by fencing alone.
   */
  readonly quorumDevice?: HaQuorumDeviceArgs;
  /** Corosync's cluster_name. Default "kvmcloud". */
  readonly clusterName?: pulumi.Input<string>;
  /** Corosync's token timeout in ms, how long a silent member stays one. Default 3000. */
  readonly tokenMs?: pulumi.Input<number>;
  /**
   * Fabric fencing by Ceph's OSD blocklist (kvm-cloud's fence agent
   * `fence_kvmcloud_ceph`): a lost node is cut off the RBD disks before
   * anything of it runs elsewhere, and let back in when it rejoins. Default
   * none: no fence device, and since fencing is required, Pacemaker then
   * recovers nothing (for real hosts, add a standard agent such as
   * fence_ipmilan yourself; see the README).
   */
  readonly fencing?: HaFencingArgs;
  /**
   * Members in standby (plain list of node names): Pacemaker live-migrates
   * every HA VM off them and starts none there; `pulumi up` waits until they
   * are empty (at most 30 minutes). A member left out returns, and its HA VMs
   * go back to it. Fewer than all members. Default none.
   */
  readonly drain?: readonly string[];
  /**
   * The inventory that kvm-cloud's Pacemaker alert agent keeps in line with
   * the cluster: every start, stop and live migration of an HA VM and every
   * fence is logged in vm_operations, and `vms.node` and the Redis key follow
   * the VM (the members must be allowed clients of the database). Default
   * none: no alert agent, and the inventory learns of a failover only from
   * the next `pulumi up`.
   */
  readonly inventory?: HaInventoryArgs;
}

/**
 * High availability for the KVM nodes on the field's engines: Corosync (knet,
 * encrypted and authenticated with a key made once and kept as a Pulumi
 * secret) for membership and quorum, corosync-qnetd as the tie-breaker, and
 * Pacemaker with fencing required (`stonith-enabled=true`), so that nothing
 * is ever recovered on a survivor before its node is fenced.
 */
export class HaCluster extends pulumi.ComponentResource {
  readonly clusterName: pulumi.Output<string>;
  /** Members' names, in node id order (node id = position + 1). */
  readonly members: pulumi.Output<string[]>;
  readonly quorumDeviceAddress: pulumi.Output<string | undefined>;

  constructor(name: string, args: HaClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    checkNodeList(args.nodes, 2, "at least two KvmNode components (one node has nothing to fail over to)");
    // The client's default is filled once; the plan and the fence client's script read it from here.
    const fencing = args.fencing ? { ...args.fencing, clientName: args.fencing.clientName ?? DEFAULT_FENCE_CLIENT } : undefined;
    if (fencing) checkCephUser("fencing.clientName", fencing.clientName);
    // The members (KvmNode outputs) are checked with the rest of the plan when they are known.
    const settings = resolveArgs({ clusterName: args.clusterName, tokenMs: args.tokenMs, quorumDeviceAddress: args.quorumDevice?.address }, resolveHaSettings);
    super("kvmcloud:index:HaCluster", name, {}, opts);

    const members = pulumi.all(args.nodes.map((n) => pulumi.all([n.name, n.address]).apply(([nodeName, address]) => ({ name: nodeName, address }))));
    const plan: pulumi.Output<HaClusterPlan> = pulumi
      .all([settings, members])
      .apply(([s, m]) => planHaCluster({ ...s, members: m, fenceClient: fencing?.clientName, alerts: args.inventory !== undefined }));

    // 128 characters of [A-Za-z0-9]: the 1024 bits of key corosync asks for, made once.
    const authkey = new GeneratedPassword(`${name}-authkey`, { length: 128 }, { parent: this });
    const qnetd = args.quorumDevice
      ? new RemoteCommand(`${name}-qnetd`, { connection: args.quorumDevice.connection, script: renderQnetdScript() }, { parent: this })
      : undefined;
    const fence = fencing
      ? new RemoteCommand(`${name}-fence-client`, { connection: fencing.cephAdmin, script: renderFenceClientScript(fencing.clientName), secretStdout: true }, { parent: this, dependsOn: [fencing.ceph] })
      : undefined;
    const fenceKey = fence ? fence.stdout.apply((s) => [s.trim()]) : pulumi.output([] as string[]);
    // The cluster's certificate and key for the qdevice link, signed by qnetd's CA (lib/ha/qdevice-tls.ts).
    const qdeviceCert = qnetd && args.quorumDevice
      ? new RemoteCommand(`${name}-qdevice-cert`, { connection: args.quorumDevice.connection, script: plan.apply((p) => renderQdeviceCertScript(p.clusterName)), secretStdout: true }, { parent: this, dependsOn: [qnetd] })
      : undefined;
    const qdeviceTls = qdeviceCert ? qdeviceCert.stdout.apply((s) => s.trim().split("\n")) : pulumi.output([] as string[]);
    // One line: the environment file, base64, rendered from the URLs by a pure function.
    const alertEnv = args.inventory
      ? pulumi.all([args.inventory.postgresUrl, args.inventory.redisUrl]).apply(([postgresUrl, redisUrl]) => [Buffer.from(renderAlertEnv({ postgresUrl, redisUrl })).toString("base64")])
      : pulumi.output([] as string[]);
    const stdin = pulumi.secret(pulumi.all([authkey.value, qdeviceTls, fenceKey, alertEnv]).apply(([k, q, f, a]) => stdinPayload([k, ...q, ...f, ...a])));
    const memberCommands = args.nodes.map(
      (node) =>
        new RemoteCommand(
          `${name}-${node.resourceName}`,
          { connection: node.connection, script: plan.apply(renderHaMemberScript), stdin },
          { parent: this, dependsOn: [node, ...(qnetd ? [qnetd] : [])] },
        ),
    );
    // Any member's CIB is the cluster's: the first node sets every member's standby, once all are members.
    new RemoteCommand(
      `${name}-standby`,
      { connection: args.nodes[0].connection, script: plan.apply((p) => renderStandbyScript({ members: p.members.map((m) => m.name), drain: args.drain ?? [] })) },
      { parent: this, dependsOn: memberCommands },
    );

    this.clusterName = plan.apply((p) => p.clusterName);
    this.members = plan.apply((p) => p.members.map((m) => m.name));
    this.quorumDeviceAddress = plan.apply((p) => p.quorumDeviceAddress);
    this.registerOutputs({ clusterName: this.clusterName, members: this.members, quorumDeviceAddress: this.quorumDeviceAddress });
  }
}
