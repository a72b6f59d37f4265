import * as pulumi from "@pulumi/pulumi";
import type { CloudConfig } from "../lib/cloud/cloud-config";
import type { CephCluster } from "./ceph-cluster";
import type { KvmNode } from "./kvm-node";
import { RemoteCommand } from "../dynamic-providers/remote-command";
import { DEFAULT_BASE_IMAGE_NAME } from "../lib/cloud/base-image-section";
import { formatImageSpec } from "../lib/vm/vm-args";
import {
  BaseImageOptions,
  parseBaseImageSize,
  renderBaseImageImportScript,
  renderBaseImageRemoveScript,
  resolveBaseImageOptions,
} from "../lib/vm/base-image-script";
import { HostConnection } from "./connection";
import { resolveArgs } from "./inputs";

export interface BaseImageArgs {
  /** SSH access to a host with the rbd client and a keyring for `cephClient` (a KVM node or a Ceph host). */
  readonly connection: HostConnection;
  /** http(s) URL of the cloud image, or an absolute path on that host. */
  readonly source: pulumi.Input<string>;
  /** Format of the source (default "qcow2"; "raw" is imported as is). */
  readonly format?: pulumi.Input<"qcow2" | "raw">;
  /** Expected sha256 of the source, lower-case hex (default: not checked). */
  readonly sha256?: pulumi.Input<string>;
  /** RBD pool (default "libvirt-pool"). */
  readonly pool?: pulumi.Input<string>;
  /** RBD image name (default: the component's name). */
  readonly image?: pulumi.Input<string>;
  /** Snapshot clones are made from (default "base"). */
  readonly snapshot?: pulumi.Input<string>;
  /** cephx user without `client.` (default "admin"; "libvirt" on a KVM node). */
  readonly cephClient?: pulumi.Input<string>;
}

/** As a Ceph host's admin by default: BaseImage also runs where no libvirt client exists yet. */
const DEFAULT_IMPORT_CLIENT = "admin";

/**
 * A cloud image in RBD, snapshotted and protected, ready for `rbd clone`:
 * imported once by an idempotent script on a Ceph-enabled host. Deleting it
 * removes the image when no VM disk is cloned from it, and otherwise renames
 * it aside (IMAGE.retired-SECONDS: clones name their parent by id and keep
 * working), freeing the name. A changed source replaces it (old one deleted
 * first, so the image name can stay); each import removes the retired copies
 * no clone uses any more.
 */
export class BaseImage extends pulumi.ComponentResource {
  /** "pool/image@snapshot", what VirtualMachine's `image` takes. */
  public readonly spec: pulumi.Output<string>;
  /** Size of the imported image in bytes. */
  public readonly sizeBytes: pulumi.Output<number>;
  public readonly pool: pulumi.Output<string>;

  constructor(name: string, args: BaseImageArgs, opts: pulumi.ComponentResourceOptions = {}) {
    const { connection: _c, ...values } = args;
    const options = resolveArgs(values, (v) => resolveBaseImageOptions(v, { image: name, cephClient: DEFAULT_IMPORT_CLIENT }));
    super("kvmcloud:index:BaseImage", name, {}, opts);
    const imported = this.importImage(name, args, options);
    this.pool = options.apply((o) => o.pool);
    // Through the command's id: whatever clones the spec waits for the import.
    this.spec = pulumi.all([options, imported.id]).apply(([o]) => formatImageSpec(o));
    this.sizeBytes = imported.stdout.apply(parseBaseImageSize);
    this.registerOutputs({ spec: this.spec, sizeBytes: this.sizeBytes, pool: this.pool });
  }

  private importImage(name: string, args: BaseImageArgs, options: pulumi.Output<BaseImageOptions>): RemoteCommand {
    return new RemoteCommand(
      `${name}-import`,
      {
        connection: args.connection,
        script: options.apply(renderBaseImageImportScript),
        deleteScript: options.apply(renderBaseImageRemoveScript),
        triggers: [options],
      },
      // The old image must go before a new one takes its name.
      { parent: this, deleteBeforeReplace: true },
    );
  }
}

/**
 * The `baseImage` section of a cloud's config, imported by its node (default:
 * the first) as the cluster's libvirt client once that node is set up: one
 * construction for the whole Cloud and the services stack.
 */
export function baseImageOnNodes(
  name: string,
  img: CloudConfig["baseImage"],
  /** The KVM nodes by their config names, in config order. */
  nodes: ReadonlyMap<string, KvmNode>,
  ceph: CephCluster,
  opts: pulumi.ComponentResourceOptions = {},
): BaseImage {
  const importer = img.node ?? [...nodes.keys()][0];
  const node = nodes.get(importer);
  // resolveBaseImageSection refused this before anything was registered.
  if (!node) throw new Error(`baseImage.node "${importer}" is none of the KVM nodes: ${[...nodes.keys()].join(", ")}`);
  return new BaseImage(
    name,
    {
      // As the libvirt client on a node: its keyring is there once the node is set up.
      connection: node.connection,
      source: img.source,
      format: img.format,
      sha256: img.sha256,
      pool: ceph.pool,
      image: img.name ?? DEFAULT_BASE_IMAGE_NAME,
      snapshot: img.snapshot,
      cephClient: ceph.clientName,
    },
    { ...opts, dependsOn: [node] },
  );
}
