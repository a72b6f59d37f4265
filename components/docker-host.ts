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

/** One container of a component's Docker runtime. */
export interface DockerServiceArgs {
  /** Image reference, pulled once and kept on the host. */
  readonly image: pulumi.Input<string>;
  /**
   * Where the service keeps its data: a volume `${name}-data` is mounted there
   * and kept when the component goes (the data is the user's). Default none.
   */
  readonly dataPath?: string;
  /** The rest of the container: ports, uploads, command, environment. */
  readonly container: Omit<docker.ContainerArgs, "name" | "image" | "restart" | "volumes">;
}

/** The container `${name}`, restarted unless stopped, from its image (`${name}-image`) and, with a dataPath, its volume (`${name}-data`). */
export function dockerService(name: string, a: DockerServiceArgs, opts: pulumi.CustomResourceOptions): docker.Container {
  const image = new docker.RemoteImage(`${name}-image`, { name: a.image, keepLocally: true }, opts);
  const volume = a.dataPath === undefined ? undefined : new docker.Volume(`${name}-data`, { name: `${name}-data` }, { ...opts, retainOnDelete: true });
  const volumes = volume === undefined ? undefined : [{ volumeName: volume.name, containerPath: a.dataPath! }];
  return new docker.Container(name, { ...a.container, name, image: image.imageId, restart: "unless-stopped", volumes }, opts);
}
