import Redis from "ioredis";
import { Client } from "pg";
import { readLabDescription } from "../../lab/description";
import { GuestLikeClient, guestLikeClient } from "../helpers/guest-like-client";
import { assertInManagerNamespace } from "../helpers/lab-client";
import { onDb } from "../helpers/service-hosts";

/**
 * The inventory admits only the hosts that need it: the lab's stack gives
 * InventoryDatabase `allowedClients` (the manager, the db host and `lb`, where
 * the packages runtime's test runs a second exporter), to which the Cloud adds
 * the KVM nodes (their Pacemaker alert agents write there), so a
 * machine at a guest's address on the same segment (a throwaway namespace
 * plugged into the lab switch) is reset on Postgres' and Redis' ports, while
 * the manager keeps working; the host's own table and pg_hba block say so.
 */

jest.setTimeout(120_000);

const d = readLabDescription();
const db = new URL(d.inventory.postgresUrl);
const redis = new URL(d.inventory.redisUrl);
let guest: GuestLikeClient;

beforeAll(async () => {
  assertInManagerNamespace(d);
  guest = await guestLikeClient();
});

afterAll(async () => {
  await guest?.close();
});

describe("who may reach the inventory", () => {
  it("resets a machine at a guest's address on Postgres' and Redis' ports, and it reaches the DNS host as before", async () => {
    expect(await guest.connect(db.hostname, Number(db.port || 5432))).toBe("ECONNREFUSED");
    expect(await guest.connect(redis.hostname, Number(redis.port || 6379))).toBe("ECONNREFUSED");
    // The namespace itself works: the same client reaches dnsmasq's DNS port on the dns host.
    expect(await guest.connect(d.dhcp.host, 53)).toBe("connected");
  });

  it("still serves the manager, where Pulumi and the provider run", async () => {
    const c = new Client({ connectionString: d.inventory.postgresUrl, connectionTimeoutMillis: 5000 });
    await c.connect();
    try {
      expect((await c.query("SELECT current_user AS u")).rows).toEqual([{ u: "kvmcloud" }]);
    } finally {
      await c.end();
    }
    const r = new Redis(d.inventory.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 5000, retryStrategy: () => null });
    try {
      await r.connect();
      expect(await r.ping()).toBe("PONG");
    } finally {
      r.disconnect();
    }
  });

  it("keeps the rule in the host's own nftables table and pg_hba block", async () => {
    const table = (await onDb(d, ["nft", "list", "table", "inet", "kvmcloud_inventory"])).stdout;
    // nft merges adjacent /32s (auto-merge) into ranges: the stack's three, then the two nodes.
    expect(d.nodes.map((n) => n.sshHost)).toEqual(["10.77.0.21", "10.77.0.22"]);
    expect(table).toMatch(/elements = \{ 10\.77\.0\.2-10\.77\.0\.4, 10\.77\.0\.21-10\.77\.0\.22 \}/);
    const hba = (await onDb(d, ["cat", "/etc/postgresql/15/main/pg_hba.conf"])).stdout;
    const line = (a: string) => `host kvmcloud kvmcloud ${a}/32 scram-sha-256\n`;
    expect(hba).toContain(`# kvm-cloud begin\n${["10.77.0.2", "10.77.0.3", "10.77.0.4", "10.77.0.21", "10.77.0.22"].map(line).join("")}# kvm-cloud end\n`);
    expect(hba).not.toContain("0.0.0.0/0");
  });
});
