import * as pulumi from "@pulumi/pulumi";
import type { HostConnection } from "../components/connection";
import { loadingShim } from "./loading-shim";

export interface RemoteCommandArgs {
  /** The host, reached over SSH (root, or a user with `sudo -n`). */
  readonly connection: HostConnection;
  /** Bash text from a pure renderer (a part's script in lib/). Changing it runs it again, in place. */
  readonly script: pulumi.Input<string>;
  /** What the script reads on stdin (secrets travel this way). Always a secret. Default none. Changing it runs the script again. */
  readonly stdin?: pulumi.Input<string>;
  /** Bash text run on destroy, and on the old host when the command moves to another. Default none: the work stays. */
  readonly deleteScript?: pulumi.Input<string>;
  /** Bound of one run, enforced on the host (`timeout -k`): 1-86400 s. Default 900. */
  readonly timeoutSeconds?: pulumi.Input<number>;
  /** Values whose change replaces the command (deleteScript runs, then script). Default none. */
  readonly triggers?: pulumi.Input<unknown[]>;
  /** The script prints a secret (keys): stdout is kept secret. Default false. */
  readonly secretStdout?: boolean;
}

const provider = loadingShim("remote-command-provider", "remoteCommandProvider");

/**
 * A rendered script run on a host over SSH (lib/transport/remote-command.ts:
 * the rules; README "The Pulumi engine": why not @pulumi/command). Nothing of
 * stdout is logged; the connection, stdin and (with secretStdout) stdout are
 * secrets in state.
 */
export class RemoteCommand extends pulumi.dynamic.Resource {
  /** What the script printed. */
  declare public readonly stdout: pulumi.Output<string>;

  constructor(name: string, args: RemoteCommandArgs, opts: pulumi.CustomResourceOptions = {}) {
    const c = args.connection;
    const props = {
      // Defaults (port 22, user root) are filled by the provider's check(), once.
      connection: { host: c.host, port: c.port, user: c.user, privateKey: pulumi.secret(c.privateKey), hostKey: c.hostKey },
      script: args.script,
      stdin: args.stdin === undefined ? undefined : pulumi.secret(args.stdin),
      deleteScript: args.deleteScript,
      timeoutSeconds: args.timeoutSeconds,
      triggers: args.triggers,
      stdout: undefined,
    };
    const secret = ["connection", "stdin", ...(args.secretStdout ? ["stdout"] : []), ...(opts.additionalSecretOutputs ?? [])];
    super(provider, name, props, { ...opts, additionalSecretOutputs: secret }, "kvmcloud", "RemoteCommand");
  }
}
