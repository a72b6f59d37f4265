import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import {
  BaseImageOptions,
  parseBaseImageSize,
  renderBaseImageImportScript,
  renderBaseImageRemoveScript,
  validateBaseImageOptions,
} from "../lib/render/scripts/base-image";
import { remoteInvocation } from "../lib/render/scripts/script";
import { commandConnection, HostConnection } from "./connection";

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

function plain<T>(v: pulumi.Input<T> | undefined): T | undefined {
  return v === undefined || pulumi.Output.isInstance(v) || v instanceof Promise ? undefined : (v as T);
}

/**
 * A cloud image in RBD, snapshotted and protected, ready for `rbd clone`:
 * imported once by an idempotent script on a Ceph-enabled host. Deleting it
 * removes the image only when no VM disk is cloned from it. A changed source
 * replaces it (old one removed first, so the image name can stay).
 */
export class BaseImage extends pulumi.ComponentResource {
  /** "pool/image@snapshot", what VirtualMachine's `image` takes. */
  public readonly spec: pulumi.Output<string>;
  /** Size of the imported image in bytes. */
  public readonly sizeBytes: pulumi.Output<number>;
  public readonly pool: pulumi.Output<string>;

  constructor(name: string, args: BaseImageArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("kvmcloud:index:BaseImage", name, {}, opts);
    const options = this.options(name, args);
    const imported = this.importImage(name, args, options);
    this.pool = options.apply((o) => o.pool);
    this.spec = options.apply((o) => `${o.pool}/${o.image}@${o.snapshot}`);
    this.sizeBytes = imported.stdout.apply(parseBaseImageSize);
    this.registerOutputs({ spec: this.spec, sizeBytes: this.sizeBytes, pool: this.pool });
  }

  /** The script options; whatever is known now is validated before any resource is registered. */
  private options(name: string, args: BaseImageArgs): pulumi.Output<BaseImageOptions> {
    const defaults = { pool: "libvirt-pool", image: name, snapshot: "base", format: "qcow2" as const, cephClient: "admin" };
    const known = {
      pool: plain(args.pool) ?? defaults.pool,
      image: plain(args.image) ?? defaults.image,
      snapshot: plain(args.snapshot) ?? defaults.snapshot,
      source: plain(args.source) ?? "/unknown-yet",
      format: plain(args.format) ?? defaults.format,
      cephClient: plain(args.cephClient) ?? defaults.cephClient,
      sha256: plain(args.sha256),
    };
    validateBaseImageOptions(known);
    return pulumi
      .all([args.pool, args.image, args.snapshot, args.source, args.format, args.cephClient, args.sha256])
      .apply(([pool, image, snapshot, source, format, cephClient, sha256]) => {
        const o: BaseImageOptions = {
          pool: pool ?? defaults.pool,
          image: image ?? defaults.image,
          snapshot: snapshot ?? defaults.snapshot,
          source,
          format: format ?? defaults.format,
          cephClient: cephClient ?? defaults.cephClient,
          sha256,
        };
        validateBaseImageOptions(o);
        return o;
      });
  }

  private importImage(name: string, args: BaseImageArgs, options: pulumi.Output<BaseImageOptions>): command.remote.Command {
    return new command.remote.Command(
      `${name}-import`,
      {
        connection: commandConnection(args.connection),
        create: options.apply((o) => remoteInvocation(renderBaseImageImportScript(o))),
        delete: options.apply((o) => remoteInvocation(renderBaseImageRemoveScript(o))),
        triggers: [options],
      },
      // The old image must go before a new one takes its name.
      { parent: this, deleteBeforeReplace: true },
    );
  }
}
