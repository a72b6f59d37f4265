import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { RemoteCommand } from "../dynamic-providers/remote-command";
import { GeneratedPassword } from "../dynamic-providers/generated-password";
import { renderInventorySchema } from "../lib/render/inventory-schema";
import { checkPassword, renderRedisConf } from "../lib/render/redis-conf";
import { renderSchemaApplyScript } from "../lib/render/scripts/inventory-host";
import { INVENTORY_DEFAULTS, InventoryDatabaseOptions, validateInventoryDatabaseOptions } from "../lib/validate/inventory-database";
import { DockerHostArgs, dockerHostProvider } from "./docker-host";

export interface InventoryDatabaseArgs extends DockerHostArgs {
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
}

const REDIS_CONF = "/usr/local/etc/redis/redis.conf";

/** The args that are plain values now, for validation before anything is registered. */
function knownOptions(args: InventoryDatabaseArgs): InventoryDatabaseOptions {
  const plain = <T>(v: pulumi.Input<T> | undefined): T | undefined =>
    v === undefined || pulumi.Output.isInstance(v) || v instanceof Promise ? undefined : (v as T);
  return {
    postgresImage: plain(args.postgresImage),
    postgresPort: plain(args.postgresPort),
    database: plain(args.database),
    postgresUser: plain(args.postgresUser),
    postgresPassword: plain(args.postgresPassword),
    redisImage: plain(args.redisImage),
    redisPort: plain(args.redisPort),
    redisPassword: plain(args.redisPassword),
    bindAddress: plain(args.bindAddress),
  };
}

/**
 * The inventory: PostgreSQL (the VM table) and Redis (VM -> node cache) as
 * containers on one host through @pulumi/docker over SSH. Their named volumes
 * outlive the component (retainOnDelete); passwords are generated or given and
 * stay secret; the schema is applied with psql inside the container and
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
    // Before super(): a bad value must fail before anything is registered.
    validateInventoryDatabaseOptions(knownOptions(args));
    super("kvmcloud:index:InventoryDatabase", name, {}, opts);
    const d = INVENTORY_DEFAULTS;
    this.host = pulumi.output(args.address ?? args.connection.host);
    this.postgresPort = pulumi.output(args.postgresPort ?? d.postgresPort);
    this.redisPort = pulumi.output(args.redisPort ?? d.redisPort);
    const user = pulumi.output(args.postgresUser ?? d.postgresUser);
    const database = pulumi.output(args.database ?? d.database);
    const postgresPassword = this.password(`${name}-postgres-password`, args.postgresPassword, "postgresPassword");
    const redisPassword = this.password(`${name}-redis-password`, args.redisPassword, "redisPassword");

    const provider = this.dockerProvider(name, args);
    const bind = pulumi.output(args.bindAddress ?? d.bindAddress);
    const postgres = this.postgresContainer(name, args, provider, bind, user, database, postgresPassword);
    const redis = this.redisContainer(name, args, provider, bind, redisPassword);
    this.schema = this.applySchema(name, args, postgres, user, database);

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

  /** The given password (checked where it is used) or one generated once. Secret either way. */
  private password(resourceName: string, given: pulumi.Input<string> | undefined, field: string): pulumi.Output<string> {
    if (given === undefined) return pulumi.secret(new GeneratedPassword(resourceName, { length: 32 }, { parent: this }).value);
    return pulumi.secret(
      pulumi.output(given).apply((p) => {
        checkPassword(field, p);
        return p;
      }),
    );
  }

  private dockerProvider(name: string, args: InventoryDatabaseArgs): docker.Provider {
    return dockerHostProvider(name, args, this);
  }

  private postgresContainer(
    name: string,
    args: InventoryDatabaseArgs,
    provider: docker.Provider,
    bind: pulumi.Output<string>,
    user: pulumi.Output<string>,
    database: pulumi.Output<string>,
    password: pulumi.Output<string>,
  ): docker.Container {
    const o = { parent: this, provider };
    const image = new docker.RemoteImage(`${name}-postgres-image`, { name: args.postgresImage ?? INVENTORY_DEFAULTS.postgresImage, keepLocally: true }, o);
    // Kept on delete: the inventory outlives a replaced or removed component.
    const volume = new docker.Volume(`${name}-postgres-data`, { name: `${name}-postgres-data` }, { ...o, retainOnDelete: true });
    return new docker.Container(
      `${name}-postgres`,
      {
        name: `${name}-postgres`,
        image: image.imageId,
        restart: "unless-stopped",
        envs: pulumi.secret(pulumi.all([user, database, password]).apply(([u, db, p]) => [`POSTGRES_USER=${u}`, `POSTGRES_DB=${db}`, `POSTGRES_PASSWORD=${p}`])),
        volumes: [{ volumeName: volume.name, containerPath: "/var/lib/postgresql/data" }],
        ports: [{ internal: 5432, external: this.postgresPort, ip: bind }],
        healthcheck: { tests: ["CMD-SHELL", pulumi.interpolate`pg_isready -U ${user} -d ${database}`], interval: "5s", timeout: "3s", retries: 12 },
      },
      o,
    );
  }

  private redisContainer(name: string, args: InventoryDatabaseArgs, provider: docker.Provider, bind: pulumi.Output<string>, password: pulumi.Output<string>): docker.Container {
    const o = { parent: this, provider };
    const image = new docker.RemoteImage(`${name}-redis-image`, { name: args.redisImage ?? INVENTORY_DEFAULTS.redisImage, keepLocally: true }, o);
    const volume = new docker.Volume(`${name}-redis-data`, { name: `${name}-redis-data` }, { ...o, retainOnDelete: true });
    return new docker.Container(
      `${name}-redis`,
      {
        name: `${name}-redis`,
        image: image.imageId,
        restart: "unless-stopped",
        // The password is in the uploaded file, not on the command line (`ps` would show it).
        uploads: [{ file: REDIS_CONF, content: pulumi.secret(password.apply((p) => renderRedisConf({ password: p }))) }],
        command: ["redis-server", REDIS_CONF],
        volumes: [{ volumeName: volume.name, containerPath: "/data" }],
        ports: [{ internal: 6379, external: this.redisPort, ip: bind }],
      },
      o,
    );
  }

  private applySchema(name: string, args: InventoryDatabaseArgs, postgres: docker.Container, user: pulumi.Output<string>, database: pulumi.Output<string>): RemoteCommand {
    const script = pulumi.all([postgres.name, user, database]).apply(([container, u, db]) => renderSchemaApplyScript({ container, user: u, database: db }));
    return new RemoteCommand(
      `${name}-schema`,
      // The SQL travels on stdin: a changed schema text runs psql again (an update).
      { connection: args.connection, script, stdin: renderInventorySchema() },
      { parent: this, dependsOn: [postgres] },
    );
  }
}
