import * as pulumi from "@pulumi/pulumi";
import type * as command from "@pulumi/command";

/** SSH access to a host that a component sets up. */
export interface HostConnection {
  /** Address or DNS name the Pulumi host connects to. */
  readonly host: pulumi.Input<string>;
  /** SSH port. Default 22. */
  readonly port?: pulumi.Input<number>;
  /** Login user: root, or a user with passwordless sudo. Default "root". */
  readonly user?: pulumi.Input<string>;
  /** Private key text. Kept secret in state. */
  readonly privateKey: pulumi.Input<string>;
  /**
   * The host's public key, `type base64` as in known_hosts: the connection
   * refuses any other. Default none: any key is accepted (give the Cloud
   * `knownHosts` to have every connection checked).
   */
  readonly hostKey?: pulumi.Input<string>;
}

/**
 * What the command provider may log of a remote command: stderr only. Scripts
 * print what components parse (Ceph keys among it) on stdout, which must never
 * reach Pulumi's logs; errors go to stderr.
 */
export const COMMAND_LOGGING = "stderr" as const;

/** The @pulumi/command connection for a host, with the private key wrapped as a secret. */
export function commandConnection(c: HostConnection): command.types.input.remote.ConnectionArgs {
  return {
    host: c.host,
    port: c.port ?? 22,
    user: c.user ?? "root",
    privateKey: pulumi.secret(c.privateKey),
    hostKey: c.hostKey,
  };
}
