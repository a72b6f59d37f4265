import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { RemoteCommand } from "../dynamic-providers/remote-command";
import { GeneratedPassword } from "../dynamic-providers/generated-password";
import { renderInventorySchema } from "../lib/inventory/schema";
import { checkPassword, renderRedisConf } from "../lib/inventory/redis-conf";
import { renderSchemaApplyScript } from "../lib/inventory/inventory-host";
import { renderInventoryPackagesRemoveScript, renderInventoryPackagesScript } from "../lib/inventory/inventory-packages";
import { stdinPayload } from "../lib/core/script";
import { INVENTORY_DEFAULTS, InventoryRuntime, ResolvedInventoryDatabase, resolveInventoryDatabaseOptions } from "../lib/inventory/database";
import { checkHostRuntime } from "../lib/core/host-runtime";
import { resolveArgs } from "./inputs";
import { DockerHostArgs, dockerHostProvider, dockerService } from "./docker-host";

export interface InventoryDatabaseArgs extends DockerHostArgs {
  /**
   * How Postgres and Redis run: "docker" (the official images, through
   * @pulumi/docker over SSH) or "packages" (Debian's postgresql and
   * redis-server under systemd; the image and Docker fields are ignored).
   * Plain: it decides which resources exist. Default "docker".
   */
  readonly runtime?: InventoryRuntime;
  /** PostgreSQL major version of the host's package (packages runtime). Default 15 (Debian 12). */
  readonly postgresVersion?: number;
  /** Default "postgres:15". */
  readonly postgresImage?: pulumi.Input<string>;
  /** Default 5432. */
  readonly postgresPort?: pulumi.Input<number>;
  /** Default "kvmcloud". */
  readonly database?: pulumi.Input<string>;
  /** Default "kvmcloud". */
  readonly postgresUser?: pulumi.Input<string>;
  /** Default: generated once and kept in state. A secret. */
  readonly postgresPassword?: pulumi.Input<string>;
  /** Default "redis:7". */
  readonly redisImage?: pulumi.Input<string>;
  /** Default 6379. */
  readonly redisPort?: pulumi.Input<number>;
  /** Default: generated once and kept in state. A secret. */
  readonly redisPassword?: pulumi.Input<string>;
  /**
   * Networks (CIDR) allowed to reach Postgres and Redis (packages runtime):
   * pg_hba admits the inventory's role from these only and an nftables table
   * resets any other source, e.g. the guests, which share the network.
   * Include the host that runs Pulumi (the VM provider connects from there)
   * and the monitoring host. Default: any source (passwords only).
   */
  readonly allowedClients?: readonly string[];
}

const REDIS_CONF = "/usr/local/etc/redis/redis.conf";

/** A given password, checked now when it is plain and once it resolves otherwise; undefined when none is given. */
function given(p: pulumi.Input<string> | undefined, field: string): pulumi.Output<string> | undefined {
  return p === undefined ? undefined : resolveArgs(p, (v) => (checkPassword(field, v), v));
}

/**
 * The inventory: PostgreSQL (the VM table) and Redis (VM -> node cache) on one
 * host, as containers through @pulumi/docker over SSH (runtime "docker"; named
 * volumes outlive the component) or as Debian's packages under systemd
 * (runtime "packages"; their data stays when the component goes). Passwords
 * are generated or given and stay secret; the schema is applied with psql and
 * applied again whenever its text changes.
 */
export class InventoryDatabase extends pulumi.ComponentResource {
  /** Address clients use. */
  public readonly host: pulumi.Output<string>;
  /** postgres://user:password@host:port/database. A secret. */
  public readonly postgresUrl: pulumi.Output<string>;
  /** redis://:password@host:port/0. A secret. */
  public readonly redisUrl: pulumi.Output<string>;
  public readonly postgresPort: pulumi.Output<number>;
  public readonly redisPort: pulumi.Output<number>;
  /** The schema's psql run; VMs that record themselves can depend on it. */
  public readonly schema: RemoteCommand;

  constructor(name: string, args: InventoryDatabaseArgs, opts: pulumi.ComponentResourceOptions = {}) {
    // The runtime decides which resources exist: checked now even if another setting is an Output.
    const runtime = args.runtime ?? INVENTORY_DEFAULTS.runtime;
    checkHostRuntime("runtime", runtime);
    const s = resolveArgs(
      {
        runtime,
        postgresVersion: args.postgresVersion,
        postgresImage: args.postgresImage,
        postgresPort: args.postgresPort,
        database: args.database,
        postgresUser: args.postgresUser,
        redisImage: args.redisImage,
        redisPort: args.redisPort,
        bindAddress: args.bindAddress,
        allowedClients: args.allowedClients,
      },
      resolveInventoryDatabaseOptions,
    );
    // A given password is checked with the rest when it is plain, and where it is used otherwise.
    const givenPostgres = given(args.postgresPassword, "postgresPassword");
    const givenRedis = given(args.redisPassword, "redisPassword");
    super("kvmcloud:index:InventoryDatabase", name, {}, opts);
    this.host = pulumi.output(args.address ?? args.connection.host);
    this.postgresPort = s.apply((x) => x.postgresPort);
    this.redisPort = s.apply((x) => x.redisPort);
    const user = s.apply((x) => x.postgresUser);
    const database = s.apply((x) => x.database);
    const postgresPassword = this.password(`${name}-postgres-password`, givenPostgres);
    const redisPassword = this.password(`${name}-redis-password`, givenRedis);

    const bind = s.apply((x) => x.bindAddress);
    let redis: pulumi.CustomResource;
    if (runtime === "packages") {
      redis = this.packagedServices(name, args, s, postgresPassword, redisPassword);
      const script = pulumi.all([this.postgresPort, user, database]).apply(([port, u, db]) => renderSchemaApplyScript({ port, user: u, database: db }));
      this.schema = this.applySchema(name, args, script, redis);
    } else {
      const provider = this.dockerProvider(name, args);
      const postgres = this.postgresContainer(name, provider, s.apply((x) => x.postgresImage), bind, user, database, postgresPassword);
      redis = this.redisContainer(name, provider, s.apply((x) => x.redisImage), bind, redisPassword);
      const script = pulumi.all([postgres.name, user, database]).apply(([container, u, db]) => renderSchemaApplyScript({ container, user: u, database: db }));
      this.schema = this.applySchema(name, args, script, postgres);
    }

    // Through the schema's and the container's ids: whoever uses a URL waits until it works.
    this.postgresUrl = pulumi.secret(
      pulumi
        .all([user, postgresPassword, this.host, this.postgresPort, database, this.schema.id])
        .apply(([u, p, h, port, db]) => `postgres://${u}:${encodeURIComponent(p)}@${h}:${port}/${db}`),
    );
    this.redisUrl = pulumi.secret(
      pulumi.all([redisPassword, this.host, this.redisPort, redis.id]).apply(([p, h, port]) => `redis://:${encodeURIComponent(p)}@${h}:${port}/0`),
    );
    this.registerOutputs({ host: this.host, postgresUrl: this.postgresUrl, redisUrl: this.redisUrl, postgresPort: this.postgresPort, redisPort: this.redisPort });
  }

  /** The given password or one generated once. Secret either way. */
  private password(resourceName: string, givenPassword: pulumi.Output<string> | undefined): pulumi.Output<string> {
    if (givenPassword === undefined) return pulumi.secret(new GeneratedPassword(resourceName, { length: 32 }, { parent: this }).value);
    return pulumi.secret(givenPassword);
  }

  /** Debian's postgresql and redis-server set up by one script; the passwords travel on its stdin. */
  private packagedServices(
    name: string,
    args: InventoryDatabaseArgs,
    settings: pulumi.Output<ResolvedInventoryDatabase>,
    postgresPassword: pulumi.Output<string>,
    redisPassword: pulumi.Output<string>,
  ): RemoteCommand {
    // Plain (the remove script is made now): the resolved settings hold the same value once known.
    const version = args.postgresVersion ?? INVENTORY_DEFAULTS.postgresVersion;
    const script = settings.apply((x) =>
      renderInventoryPackagesScript({ bindAddress: x.bindAddress, postgresPort: x.postgresPort, redisPort: x.redisPort, user: x.postgresUser, database: x.database, postgresVersion: x.postgresVersion, allowedClients: x.allowedClients }),
    );
    return new RemoteCommand(
      `${name}-services`,
      {
        connection: args.connection,
        script,
        stdin: pulumi.all([postgresPassword, redisPassword]).apply(([p, r]) => stdinPayload([p, r])),
        deleteScript: renderInventoryPackagesRemoveScript(version),
        // Postgres' first start on a slow host, with apt, can take minutes.
        timeoutSeconds: 1200,
      },
      { parent: this },
    );
  }

  private dockerProvider(name: string, args: InventoryDatabaseArgs): docker.Provider {
    return dockerHostProvider(name, args, this);
  }

  private postgresContainer(
    name: string,
    provider: docker.Provider,
    imageName: pulumi.Output<string>,
    bind: pulumi.Output<string>,
    user: pulumi.Output<string>,
    database: pulumi.Output<string>,
    password: pulumi.Output<string>,
  ): docker.Container {
    // Its volume is kept on delete: the inventory outlives a replaced or removed component.
    return dockerService(
      `${name}-postgres`,
      {
        image: imageName,
        dataPath: "/var/lib/postgresql/data",
        container: {
          envs: pulumi.secret(pulumi.all([user, database, password]).apply(([u, db, p]) => [`POSTGRES_USER=${u}`, `POSTGRES_DB=${db}`, `POSTGRES_PASSWORD=${p}`])),
          ports: [{ internal: 5432, external: this.postgresPort, ip: bind }],
          healthcheck: { tests: ["CMD-SHELL", pulumi.interpolate`pg_isready -U ${user} -d ${database}`], interval: "5s", timeout: "3s", retries: 12 },
        },
      },
      { parent: this, provider },
    );
  }

  private redisContainer(name: string, provider: docker.Provider, imageName: pulumi.Output<string>, bind: pulumi.Output<string>, password: pulumi.Output<string>): docker.Container {
    return dockerService(
      `${name}-redis`,
      {
        image: imageName,
        dataPath: "/data",
        container: {
          // The password is in the uploaded file, not on the command line (`ps` would show it).
          uploads: [{ file: REDIS_CONF, content: pulumi.secret(password.apply((p) => renderRedisConf({ password: p }))) }],
          command: ["redis-server", REDIS_CONF],
          ports: [{ internal: 6379, external: this.redisPort, ip: bind }],
        },
      },
      { parent: this, provider },
    );
  }

  /** psql with the schema on stdin, after `postgres` (its container, or the packages' services). */
  private applySchema(name: string, args: InventoryDatabaseArgs, script: pulumi.Output<string>, postgres: pulumi.Resource): RemoteCommand {
    return new RemoteCommand(
      `${name}-schema`,
      // The SQL travels on stdin: a changed schema text runs psql again (an update).
      { connection: args.connection, script, stdin: renderInventorySchema() },
      { parent: this, dependsOn: [postgres] },
    );
  }
}
