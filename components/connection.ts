import * as pulumi from "@pulumi/pulumi";
import { requireHostKey } from "../lib/transport/known-hosts";
import { SSH_DEFAULTS } from "../lib/transport/ssh-runner";

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
 * The connection to a host of the stack's config: its own user and port, else
 * the config's `ssh` defaults, else root on 22; the host key from known_hosts
 * text when given (a host it does not list is an error naming it: at once for
 * plain text, when the Output resolves otherwise).
 */
export function connectionTo(
  h: { readonly address: string; readonly user?: string; readonly port?: number },
  o: { readonly defaults?: { readonly user?: string; readonly port?: number }; readonly privateKey: pulumi.Input<string>; readonly knownHosts?: pulumi.Input<string> },
): HostConnection {
  const port = h.port ?? o.defaults?.port ?? SSH_DEFAULTS.port;
  const known = o.knownHosts;
  return {
    host: h.address,
    port,
    user: h.user ?? o.defaults?.user ?? SSH_DEFAULTS.user,
    privateKey: pulumi.secret(o.privateKey),
    hostKey: known === undefined || typeof known === "string" ? requireHostKey(known, h.address, port) : pulumi.output(known).apply((k) => requireHostKey(k, h.address, port)!),
  };
}
