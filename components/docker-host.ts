import * as pulumi from "@pulumi/pulumi";
import { SSH_DEFAULTS } from "../lib/transport/ssh-runner";
import { RemoteCommand } from "../dynamic-providers/remote-command";
import * as docker from "@pulumi/docker";
import { renderDockerSetupScript } from "../lib/inventory/inventory-host";
import { HostConnection } from "./connection";

/** A host whose containers a component runs through Docker over SSH. */
export interface DockerHostArgs {
  /** SSH access to the host (Debian/Ubuntu; root or passwordless sudo). */
  readonly connection: HostConnection;
  /**
   * Extra `ssh` options for the Docker provider, which uses the ssh client of
   * the machine running Pulumi (its agent or keys), e.g. ["-i", "~/.ssh/kvmcloud"]. Default none.
   */
  readonly dockerSshOptions?: pulumi.Input<pulumi.Input<string>[]>;
  /** Install and start Debian's docker.io first (default true). Plain: it decides whether a resource exists. */
  readonly installDocker?: boolean;
  /** Address clients reach the services on (default: connection.host). */
  readonly address?: pulumi.Input<string>;
  /** Host address the published container ports bind to (default "0.0.0.0"). */
  readonly bindAddress?: pulumi.Input<string>;
}

/**
 * The Docker provider for the host (`ssh://user@host:port`), after Debian's
 * docker.io is installed there unless `installDocker` is false. Children are
 * named `${name}-docker-engine` and `${name}-docker`.
 */
export function dockerHostProvider(name: string, args: DockerHostArgs, parent: pulumi.Resource): docker.Provider {
  const c = args.connection;
  const deps: pulumi.Resource[] = [];
  if (args.installDocker !== false) {
    deps.push(new RemoteCommand(`${name}-docker-engine`, { connection: c, script: renderDockerSetupScript() }, { parent }));
  }
  return new docker.Provider(
    `${name}-docker`,
    { host: pulumi.interpolate`ssh://${c.user ?? SSH_DEFAULTS.user}@${c.host}:${c.port ?? SSH_DEFAULTS.port}`, sshOpts: args.dockerSshOptions ?? [] },
    { parent, dependsOn: deps },
  );
}
