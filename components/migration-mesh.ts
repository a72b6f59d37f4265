import * as pulumi from "@pulumi/pulumi";
import { RemoteCommand } from "../dynamic-providers/remote-command";
import { renderMigrationAccessScript } from "../lib/kvm-node/migration-script";
import { checkNodeList, KvmNode } from "./kvm-node";

export interface MigrationMeshArgs {
  /** The KVM nodes that migrate guests between each other (plain list: it decides the resources). No default. */
  readonly nodes: readonly KvmNode[];
}

/**
 * Live-migration access between KVM nodes over SSH: on every node, the other
 * nodes' migration keys are authorized for root and their host keys are
 * known. A component of its own because each node needs all the others' keys,
 * which exist only once every KvmNode has made its own.
 */
export class MigrationMesh extends pulumi.ComponentResource {
  /** libvirt URIs by node name, for the VM provider's cloud spec. */
  readonly libvirtUris: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: MigrationMeshArgs, opts?: pulumi.ComponentResourceOptions) {
    checkNodeList(args.nodes, 1, "a list of KvmNode components");
    super("kvmcloud:index:MigrationMesh", name, {}, opts);

    for (const node of args.nodes) {
      const peers = pulumi.all(
        args.nodes
          .filter((p) => p !== node)
          .map((p) => pulumi.all([p.name, p.address, p.migrationPublicKey, p.hostPublicKey]).apply(([n, address, migrationKey, hostKey]) => ({ name: n, address, migrationKey, hostKey }))),
      );
      new RemoteCommand(`${name}-${node.resourceName}`, { connection: node.connection, script: peers.apply((p) => renderMigrationAccessScript({ peers: p })) }, { parent: this, dependsOn: [node] });
    }
    this.libvirtUris = pulumi.all(args.nodes.map((n) => pulumi.all([n.name, n.libvirtUri]))).apply((pairs) => Object.fromEntries(pairs));
    this.registerOutputs({ libvirtUris: this.libvirtUris });
  }
}
