import * as pulumi from "@pulumi/pulumi";

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
