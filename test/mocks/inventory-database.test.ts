import * as pulumi from "@pulumi/pulumi";
import { InventoryDatabase, InventoryDatabaseArgs } from "../../components/inventory-database";
import { renderInventorySchema } from "../../lib/inventory/schema";
import { installComponentMocks, optionsRecorder } from "../helpers/component-mocks";
import { isWrappedSecret, plainInputsText, Registered, settle, valueOf, REMOTE_COMMAND, unwrapSecrets } from "../helpers/pulumi-mocks";

/**
 * InventoryDatabase under Pulumi's mocks: Docker over SSH on the host, two
 * containers with kept volumes, the schema applied by psql in the container,
 * passwords generated or given and secret everywhere they travel.
 */
const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nh4b-db-key\n-----END OPENSSH PRIVATE KEY-----\n";
const args: InventoryDatabaseArgs = { connection: { host: "192.0.2.30", privateKey: KEY } };

async function build(a: InventoryDatabaseArgs) {
  const reg = installComponentMocks();
  const rec = optionsRecorder();
  const db = new InventoryDatabase("inv", a, { transformations: rec.transformations });
  await valueOf(db.postgresUrl);
  await valueOf(db.redisUrl);
  await settle();
  return { reg, db, opts: rec.seen };
}

const named = (reg: Registered[], name: string) => reg.find((r) => r.name === name)!;

describe("InventoryDatabase", () => {
  it("runs Postgres and Redis in Docker over SSH on the host, volumes kept, schema applied in the container", async () => {
    const { reg, opts } = await build(args);
    const kinds = reg.map((r) => `${r.type}::${r.name}`).sort();
    expect(kinds).toEqual(
      [
        `${REMOTE_COMMAND}::inv-docker-engine`,
        `${REMOTE_COMMAND}::inv-schema`,
        "docker:index/container:Container::inv-postgres",
        "docker:index/container:Container::inv-redis",
        "docker:index/remoteImage:RemoteImage::inv-postgres-image",
        "docker:index/remoteImage:RemoteImage::inv-redis-image",
        "docker:index/volume:Volume::inv-postgres-data",
        "docker:index/volume:Volume::inv-redis-data",
        "kvmcloud:index:InventoryDatabase::inv",
        "pulumi-nodejs:dynamic/kvmcloud:GeneratedPassword::inv-postgres-password",
        "pulumi-nodejs:dynamic/kvmcloud:GeneratedPassword::inv-redis-password",
        "pulumi:providers:docker::inv-docker",
      ].sort(),
    );
    expect(named(reg, "inv-docker").inputs.host).toBe("ssh://root@192.0.2.30:22");
    expect(opts.get("inv-postgres-data")?.retainOnDelete).toBe(true);
    expect(opts.get("inv-redis-data")?.retainOnDelete).toBe(true);
    expect(opts.get("inv-docker")?.dependsOn).toEqual([expect.anything()]);
    const pg = named(reg, "inv-postgres").inputs;
    expect(pg.volumes).toEqual([{ volumeName: "inv-postgres-data", containerPath: "/var/lib/postgresql/data" }]);
    expect(pg.ports).toEqual([{ internal: 5432, external: 5432, ip: "0.0.0.0" }]);
    const schema = named(reg, "inv-schema").inputs;
    expect(String(schema.script)).toContain("docker exec -i inv-postgres psql");
    expect(unwrapSecrets(schema.stdin)).toBe(renderInventorySchema());
    expect(opts.get("inv-schema")?.dependsOn).toEqual([expect.anything()]);
  });

  it("generates passwords, and every URL, env and config carrying one is secret", async () => {
    const { reg, db } = await build(args);
    const pgUrl = await valueOf(db.postgresUrl);
    expect(pgUrl).toBe("postgres://kvmcloud:generated-inv-postgres-password-0123456789@192.0.2.30:5432/kvmcloud");
    expect(await valueOf(db.redisUrl)).toBe("redis://:generated-inv-redis-password-0123456789@192.0.2.30:6379/0");
    expect(await pulumi.isSecret(db.postgresUrl)).toBe(true);
    expect(await pulumi.isSecret(db.redisUrl)).toBe(true);
    const pg = named(reg, "inv-postgres").inputs;
    expect(isWrappedSecret(pg.envs)).toBe(true);
    expect(plainInputsText(named(reg, "inv-postgres"))).toContain("POSTGRES_PASSWORD=generated-inv-postgres-password");
    const redis = named(reg, "inv-redis").inputs;
    expect(JSON.stringify(redis.command)).not.toContain("generated");
    // The engine may wrap the whole list or the one content field: either keeps the file secret.
    const wrapped = isWrappedSecret(redis.uploads) || isWrappedSecret((redis.uploads as Record<string, unknown>[])[0].content);
    expect(wrapped).toBe(true);
    expect(plainInputsText(named(reg, "inv-redis"))).toContain("requirepass generated-inv-redis-password");
  });

  it("uses given passwords without generating any, and keeps them secret", async () => {
    const { reg, db } = await build({ ...args, postgresPassword: pulumi.secret("given-postgres-password-1"), redisPassword: "given-redis-password-22", postgresPort: 15432, database: "inventory" });
    expect(reg.filter((r) => r.type.endsWith("GeneratedPassword"))).toHaveLength(0);
    expect(await valueOf(db.postgresUrl)).toBe("postgres://kvmcloud:given-postgres-password-1@192.0.2.30:15432/inventory");
    expect(await pulumi.isSecret(db.redisUrl)).toBe(true);
    expect(await valueOf(db.host)).toBe("192.0.2.30");
  });

  it("runs Debian's Postgres and Redis under systemd with the packages runtime: no Docker, passwords only on secret stdin", async () => {
    const { reg, db, opts } = await build({ ...args, runtime: "packages", redisPort: 16379 });
    expect(reg.map((r) => `${r.type}::${r.name}`).sort()).toEqual(
      [
        `${REMOTE_COMMAND}::inv-schema`,
        `${REMOTE_COMMAND}::inv-services`,
        "kvmcloud:index:InventoryDatabase::inv",
        "pulumi-nodejs:dynamic/kvmcloud:GeneratedPassword::inv-postgres-password",
        "pulumi-nodejs:dynamic/kvmcloud:GeneratedPassword::inv-redis-password",
      ].sort(),
    );
    const services = named(reg, "inv-services").inputs;
    expect(String(services.script)).toContain("postgresql@15-main.service");
    expect(String(services.script)).toContain("port 16379");
    expect(String(services.script)).not.toContain("generated-");
    expect(isWrappedSecret(services.stdin)).toBe(true);
    expect(unwrapSecrets(services.stdin)).toBe("generated-inv-postgres-password-0123456789\ngenerated-inv-redis-password-0123456789\n");
    expect(String(services.deleteScript)).toContain("systemctl disable --now");
    const schema = named(reg, "inv-schema").inputs;
    expect(String(schema.script)).toContain("runuser -u postgres -- psql");
    expect(String(schema.script)).toContain("SET ROLE kvmcloud");
    expect(opts.get("inv-schema")?.dependsOn).toEqual([expect.anything()]);
    expect(await valueOf(db.redisUrl)).toBe("redis://:generated-inv-redis-password-0123456789@192.0.2.30:16379/0");
  });

  it("admits only the allowed networks with the packages runtime: pg_hba block and the nftables table", async () => {
    const { reg } = await build({ ...args, runtime: "packages", allowedClients: ["192.0.2.2/32", "198.51.100.0/24"] });
    const script = String(named(reg, "inv-services").inputs.script);
    expect(script).toContain("host kvmcloud kvmcloud 192.0.2.2/32 scram-sha-256");
    expect(script).toContain("host kvmcloud kvmcloud 198.51.100.0/24 scram-sha-256");
    expect(script).toContain("elements = { 192.0.2.2/32, 198.51.100.0/24 }");
    expect(script).toContain("systemctl enable --now kvmcloud-inventory-clients.service");
  });

  it.each<[string, Partial<InventoryDatabaseArgs>, RegExp]>([
    ["allowed clients with Docker", { allowedClients: ["192.0.2.2/32"] }, /^allowedClients: .*unset unless runtime is "packages"/],
    ["an allowed client that is no network", { runtime: "packages", allowedClients: ["192.0.2.2"] }, /^allowedClients\[0\]: "192.0.2.2"/],
    ["an unknown runtime", { runtime: "podman" as never }, /^runtime: "podman" is not allowed; expected "docker" or "packages"/],
    ["a bad Postgres version", { runtime: "packages", postgresVersion: 9 }, /^postgresVersion: 9/],
    ["a short password", { redisPassword: "short" }, /^redisPassword: "\[secret\]"/],
    ["one port for both", { postgresPort: 7000, redisPort: 7000 }, /^redisPort: 7000/],
    ["a bad database name", { database: "my-db" }, /^database: "my-db"/],
  ])("fails on %s before registering anything", async (_what, patch, message) => {
    const reg = installComponentMocks();
    expect(() => new InventoryDatabase("inv", { ...args, ...patch })).toThrow(message);
    await settle();
    expect(reg).toHaveLength(0);
  });
});
