import * as net from "net";
import { cloudAccess } from "../../lib/vm/cloud-access";
import { fakeCloudSpec } from "../helpers/fake-cloud";
import { freePort } from "../helpers/free-port";

/**
 * withInventory connects Postgres at the first statement only: a refresh,
 * which asks nothing but the cache, neither waits for Postgres nor fails
 * with it down. A loopback listener stands in for Postgres and counts the
 * connections it gets (and drops them); Redis is a closed port, so the cache
 * misses.
 */

let postgres: net.Server;
let connections = 0;
let pgPort: number;

beforeAll(async () => {
  postgres = net.createServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((r) => postgres.listen(0, "127.0.0.1", r));
  pgPort = (postgres.address() as net.AddressInfo).port;
});
afterAll(() => postgres.close());

const spec = async () => fakeCloudSpec(["node1"], { inventory: { postgresUrl: `postgres://u:secret@127.0.0.1:${pgPort}/kvmcloud`, redisUrl: `redis://:p@127.0.0.1:${await freePort()}/0` } });

describe("withInventory", () => {
  it("asks the cache without a Postgres connection", async () => {
    const before = connections;
    const got = await cloudAccess(await spec()).withInventory((inv) => inv.cache.get("vm:web-1"));
    expect(got).toBeNull();
    expect(connections).toBe(before);
  });

  it("connects Postgres at the first statement, and fails naming the database without its password", async () => {
    const before = connections;
    const err = await cloudAccess(await spec())
      .withInventory((inv) => inv.sql.query("SELECT 1"))
      .then(() => undefined, (e: Error) => e.message);
    expect(connections).toBe(before + 1);
    expect(err).toMatch(new RegExp(`cannot reach the inventory database at postgres://127\\.0\\.0\\.1:${pgPort}: `));
    expect(err).not.toContain("secret");
  });
});
