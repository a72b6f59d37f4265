import * as crypto from "crypto";
import Redis from "ioredis";
import { Client } from "pg";
import { readLabDescription } from "../../lab/description";
import { renderInventorySchema } from "../../lib/inventory/schema";
import { renderSchemaApplyScript } from "../../lib/inventory/inventory-host";
import { renderInventoryPackagesRemoveScript, renderInventoryPackagesScript } from "../../lib/inventory/inventory-packages";
import { stdinPayload } from "../../lib/core/script";
import { assertInManagerNamespace, ssh } from "../helpers/lab-client";
import { RemoteCommands, remoteCommandsTo } from "../helpers/remote-commands";

/**
 * InventoryDatabase's packages runtime on a bare Debian host (the lab's
 * `lb`: systemd and sshd only), through the RemoteCommand provider in
 * Pulumi's own dynamic-provider host, with the component's rendered scripts:
 * Debian's Postgres and Redis come up with the passwords from stdin, a client
 * on the network uses both (and a wrong password is refused), the schema is
 * owned by the inventory user, a second run restarts nothing, and delete
 * stops both services.
 */

jest.setTimeout(10 * 60_000);

const d = readLabDescription();
const address = d.hosts.lb.address;
const pgPassword = crypto.randomBytes(12).toString("hex");
const redisPassword = crypto.randomBytes(12).toString("hex");
const options = { bindAddress: "0.0.0.0", postgresPort: 5432, redisPort: 6379, user: "kvmcloud", database: "kvmcloud", postgresVersion: 15 };
let commands: RemoteCommands;
let services: { id: string; properties: Record<string, any> } | undefined;

const onHost = (argv: string[]) => ssh(d, address, argv, { allowFail: true, timeoutMs: 30_000 });
const pgUrl = (pw: string) => `postgres://kvmcloud:${pw}@${address}:5432/kvmcloud`;

async function query(url: string, sql: string): Promise<Array<Record<string, unknown>>> {
  const c = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
}

async function redisPing(password: string): Promise<string> {
  const r = new Redis({ host: address, port: 6379, password, lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 5000, retryStrategy: () => null });
  // ioredis reports a refused AUTH as an error event; the rejection only says the connection closed.
  let said: Error | undefined;
  r.on("error", (e: Error) => (said = e));
  try {
    await r.connect();
    return await r.ping();
  } catch (e) {
    throw said ?? e;
  } finally {
    r.disconnect();
  }
}

beforeAll(async () => {
  assertInManagerNamespace(d);
  commands = await remoteCommandsTo(d, address);
}, 120_000);

afterAll(async () => {
  if (services) await commands.host.delete(services.id, services.properties).catch(() => undefined);
  await commands?.host.stop();
});

describe("the inventory from Debian's packages on a bare host", () => {
  it("starts with neither service running", async () => {
    for (const unit of ["postgresql@15-main", "redis-server"]) expect((await onHost(["systemctl", "is-active", unit])).stdout.trim()).not.toBe("active");
  });

  it("brings up Postgres and Redis that a client on the network reaches with the passwords, and only with them", async () => {
    const t0 = Date.now();
    services = await commands.run({
      script: renderInventoryPackagesScript(options),
      stdin: stdinPayload([pgPassword, redisPassword]),
      deleteScript: renderInventoryPackagesRemoveScript(15),
      timeoutSeconds: 600,
    });
    process.stdout.write(`  [inventory packages] services up in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    expect(await query(pgUrl(pgPassword), "SELECT current_user AS u")).toEqual([{ u: "kvmcloud" }]);
    await expect(query(pgUrl("wrong-password-123"), "SELECT 1")).rejects.toThrow(/password authentication failed/);
    expect(await redisPing(redisPassword)).toBe("PONG");
    await expect(redisPing("wrong-password-123")).rejects.toThrow(/WRONGPASS|invalid password/);
    // Nothing secret in what the host keeps in plain files other than redis.conf (mode 0640, redis only).
    expect((await onHost(["stat", "-c", "%a %U", "/etc/redis/redis.conf"])).stdout.trim()).toBe("640 redis");
  });

  it("applies the schema as the inventory user, who then owns and uses its tables", async () => {
    await commands.run({ script: renderSchemaApplyScript({ port: 5432, user: "kvmcloud", database: "kvmcloud" }), stdin: renderInventorySchema() });
    const owners = await query(pgUrl(pgPassword), "SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public' ORDER BY 1");
    expect(owners.length).toBeGreaterThanOrEqual(2);
    expect(owners.every((t) => t.tableowner === "kvmcloud")).toBe(true);
    expect(await query(pgUrl(pgPassword), "SELECT count(*)::int AS n FROM vms")).toEqual([{ n: 0 }]);
  });

  it("restarts nothing when the same script runs again", async () => {
    const since = async (unit: string) => (await onHost(["systemctl", "show", "-p", "ActiveEnterTimestampMonotonic", "--value", unit])).stdout.trim();
    const before = [await since("postgresql@15-main"), await since("redis-server")];
    await commands.host.update(services!.id, services!.properties, { ...services!.properties, script: `${services!.properties.script}\n# again\n` });
    expect([await since("postgresql@15-main"), await since("redis-server")]).toEqual(before);
  });

  it("stops both services on delete", async () => {
    await commands.host.delete(services!.id, services!.properties);
    services = undefined;
    for (const unit of ["postgresql@15-main", "redis-server"]) expect((await onHost(["systemctl", "is-active", unit])).stdout.trim()).not.toBe("active");
  });
});
