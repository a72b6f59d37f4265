import { spawn } from "child_process";
import * as fs from "fs";
import Redis from "ioredis";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { renderRedisConf } from "../../lib/inventory/redis-conf";
import { renderDockerSetupScript, renderSchemaApplyScript } from "../../lib/inventory/inventory-host";
import { InventoryPackagesOptions, renderInventoryPackagesRemoveScript, renderInventoryPackagesScript } from "../../lib/inventory/inventory-packages";
import { validateInventoryDatabaseOptions } from "../../lib/inventory/database";
import { shellcheck } from "../helpers/shellcheck";
import { freePort } from "../helpers/free-port";

/**
 * The database host's scripts (shellcheck), the Redis config
 * (a real redis-server on 127.0.0.1 enforces its password) and the inventory
 * options' validation. The schema itself is proven by psql in
 * test/lab-client/inventory-schema.test.ts.
 */

describe("host scripts", () => {
  const pkg: InventoryPackagesOptions = { bindAddress: "0.0.0.0", postgresPort: 5432, redisPort: 6379, user: "kvmcloud", database: "kvmcloud", postgresVersion: 15 };

  it.each([
    ["docker engine setup", renderDockerSetupScript()],
    ["schema apply", renderSchemaApplyScript({ container: "inventory-postgres", user: "kvmcloud", database: "kvmcloud" })],
    ["schema apply on the host", renderSchemaApplyScript({ port: 5433, user: "kvmcloud", database: "kvmcloud" })],
    ["packages setup", renderInventoryPackagesScript(pkg)],
    ["packages setup on one address", renderInventoryPackagesScript({ ...pkg, bindAddress: "10.0.0.3" })],
    ["packages remove", renderInventoryPackagesRemoveScript(15)],
  ])("%s is shellcheck-clean", (_what, text) => {
    expect(shellcheck(text)).toBe("");
  });

  it("applies the schema in one transaction that stops at the first error, after a bounded wait", () => {
    const text = renderSchemaApplyScript({ container: "inv-postgres", user: "kvmcloud", database: "kvmcloud", tries: 5 });
    expect(text).toContain("docker exec -i inv-postgres psql -X -q -v ON_ERROR_STOP=1 --single-transaction -U kvmcloud -d kvmcloud -f -");
    expect(text).toContain("for _ in $(seq 5); do");
  });

  it("sets up Debian's packages with the passwords read from stdin, never written in the script", () => {
    const text = renderInventoryPackagesScript({ ...pkg, bindAddress: "10.0.0.3", redisPort: 6380 });
    expect(text).toContain("IFS= read -r pg_password");
    expect(text).toContain("IFS= read -r redis_password");
    expect(text).toContain("listen_addresses = '\\''10.0.0.3'\\''");
    expect(text).toContain("bind 10.0.0.3");
    expect(text).toContain("redis-cli -h 10.0.0.3 -p 6380");
    expect(text).toContain("host kvmcloud kvmcloud 0.0.0.0/0 scram-sha-256");
    // A service the script restarted must be running before the script says it is done.
    expect(text).toContain("systemctl is-active --quiet redis-server.service ||");
    expect(text).toContain("systemctl is-active --quiet postgresql@15-main.service ||");
  });

  it.each<[Partial<InventoryPackagesOptions>, RegExp]>([
    [{ bindAddress: "any" }, /^bindAddress: "any"/],
    [{ redisPort: 5432 }, /^redisPort: 5432 is not allowed; expected a port other than postgresPort 5432/],
    [{ user: "Bad-User" }, /^user: "Bad-User"/],
    [{ postgresVersion: 8 }, /^postgresVersion: 8/],
  ])("packages setup refuses %p", (patch, message) => {
    expect(() => renderInventoryPackagesScript({ ...pkg, ...patch })).toThrow(message);
  });

  it.each([
    [{ container: "a b", user: "u", database: "d" }, /^container: "a b"/],
    [{ container: "c", user: "U-1", database: "d" }, /^user: "U-1"/],
    [{ container: "c", user: "u", database: "d;drop" }, /^database: "d;drop"/],
  ])("schema apply refuses %p", (o, message) => {
    expect(() => renderSchemaApplyScript(o)).toThrow(message);
  });
});

describe("inventory options", () => {
  it.each([
    [{ postgresPort: 0 }, /^postgresPort: 0 .*1-65535/],
    [{ postgresPort: 6000, redisPort: 6000 }, /^redisPort: 6000 .*other than postgresPort 6000/],
    [{ database: "Inventory" }, /^database: "Inventory" .*\[a-z0-9_\]/],
    [{ bindAddress: "any" }, /^bindAddress: "any" .*IPv4/],
    [{ postgresImage: "Postgres Latest" }, /^postgresImage: "Postgres Latest" .*image reference/],
  ])("refuses %p", (o, message) => {
    expect(() => validateInventoryDatabaseOptions(o)).toThrow(message);
  });

  it("never shows a bad password", () => {
    expect(() => validateInventoryDatabaseOptions({ redisPassword: "short'pw" })).toThrow(/^redisPassword: "\[secret\]" .*16-128/);
    expect(() => validateInventoryDatabaseOptions({ redisPassword: "short'pw" })).not.toThrow(/short/);
  });
});


describe("the rendered redis.conf in a real redis-server on 127.0.0.1", () => {
  const password = "h4b-test-password-0123";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "h4b-redis-"));
  let port = 0;
  let server: ReturnType<typeof spawn> | undefined;

  beforeAll(async () => {
    port = await freePort();
    // "bind 0.0.0.0" is what the container needs; here the server is pinned to loopback by the extra argument.
    fs.writeFileSync(path.join(dir, "redis.conf"), renderRedisConf({ port, password, dir }));
    server = spawn("redis-server", [path.join(dir, "redis.conf"), "--bind", "127.0.0.1"], { stdio: "ignore" });
    for (let i = 0; i < 50; i++) {
      const up = await new Promise<boolean>((r) => {
        const s = net.connect(port, "127.0.0.1", () => (s.end(), r(true)));
        s.on("error", () => r(false));
      });
      if (up) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("redis-server did not listen within 5 s");
  });

  afterAll(() => {
    if (server?.exitCode === null) server.kill("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("answers with the password and refuses without it", async () => {
    const ok = new Redis({ host: "127.0.0.1", port, password, lazyConnect: true, maxRetriesPerRequest: 0 });
    await ok.connect();
    expect(await ok.ping()).toBe("PONG");
    ok.disconnect();
    // A bare RESP exchange: a client library would fail its own ready check first.
    const reply = await new Promise<string>((resolve, reject) => {
      const sock = net.connect(port, "127.0.0.1", () => sock.write("PING\r\n"));
      sock.setTimeout(2000, () => sock.destroy(new Error("no reply within 2 s")));
      sock.once("data", (b) => (sock.end(), resolve(b.toString())));
      sock.on("error", reject);
    });
    expect(reply).toMatch(/^-NOAUTH/);
  });
});
