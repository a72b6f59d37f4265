import * as crypto from "crypto";
import Redis from "ioredis";
import { Client } from "pg";
import { readLabDescription } from "../../lab/description";
import { run } from "../../lab/exec";
import { PREFIX_LENGTH, SWITCH_BRIDGE, SWITCH_NS } from "../../lab/topology";
import { assertInManagerNamespace } from "../helpers/lab-client";
import { onDb } from "../helpers/service-hosts";

/**
 * The inventory admits only the hosts that need it: the lab's stack gives
 * InventoryDatabase `allowedClients` (the manager and the db host), so a
 * machine at a guest's address on the same segment (a throwaway namespace
 * plugged into the lab switch) is reset on Postgres' and Redis' ports, while
 * the manager keeps working; the host's own table and pg_hba block say so.
 */

jest.setTimeout(120_000);

const d = readLabDescription();
const tag = crypto.randomBytes(3).toString("hex");
const NS = `kic-${tag}`;
const SW_END = `kic-s${tag}`;
const CLIENT_END = `kic-c${tag}`;
// In the DHCP range's network, outside the range dnsmasq hands out: where a guest could put itself.
const GUEST_ADDRESS = "10.77.100.252";
const db = new URL(d.inventory.postgresUrl);
const redis = new URL(d.inventory.redisUrl);

beforeAll(async () => {
  assertInManagerNamespace(d);
  await run(["ip", "netns", "add", NS]);
  await run(["ip", "-n", SWITCH_NS, "link", "add", SW_END, "type", "veth", "peer", "name", CLIENT_END, "netns", NS]);
  await run(["ip", "-n", SWITCH_NS, "link", "set", SW_END, "master", SWITCH_BRIDGE, "up"]);
  await run(["ip", "-n", NS, "addr", "add", `${GUEST_ADDRESS}/${PREFIX_LENGTH}`, "dev", CLIENT_END]);
  await run(["ip", "-n", NS, "link", "set", CLIENT_END, "up"]);
  await run(["ip", "-n", NS, "link", "set", "lo", "up"]);
});

afterAll(async () => {
  await run(["ip", "-n", SWITCH_NS, "link", "del", SW_END], { allowFail: true });
  await run(["ip", "netns", "del", NS], { allowFail: true });
});

/** What a TCP connect from the guest-like namespace to the db host gets: "connected" or the error code. */
async function fromGuest(port: string): Promise<string> {
  const js = `const s=require('net').connect({host:${JSON.stringify(db.hostname)},port:${port},timeout:5000});s.on('connect',()=>{console.log('connected');s.destroy()});s.on('error',(e)=>console.log(e.code));s.on('timeout',()=>{console.log('TIMEOUT');s.destroy()});`;
  return (await run(["ip", "netns", "exec", NS, process.execPath, "-e", js], { timeoutMs: 20_000 })).stdout.trim();
}

describe("who may reach the inventory", () => {
  it("resets a machine at a guest's address on Postgres' and Redis' ports, and it reaches the DNS host as before", async () => {
    expect(await fromGuest(db.port || "5432")).toBe("ECONNREFUSED");
    expect(await fromGuest(redis.port || "6379")).toBe("ECONNREFUSED");
    // The namespace itself works: the same client reaches dnsmasq's DNS port on the dns host.
    const js = `const s=require('net').connect({host:${JSON.stringify(d.dhcp.host)},port:53,timeout:5000});s.on('connect',()=>{console.log('connected');s.destroy()});s.on('error',(e)=>console.log(e.code));`;
    expect((await run(["ip", "netns", "exec", NS, process.execPath, "-e", js], { timeoutMs: 20_000 })).stdout.trim()).toBe("connected");
  });

  it("still serves the manager, where Pulumi, the provider and the exporter run", async () => {
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
    const table = (await onDb(d, ["nft", "list", "table", "inet", "kvmcloud_clients"])).stdout;
    // nft merges the two adjacent /32s (auto-merge) into one range.
    expect(table).toMatch(/elements = \{ 10\.77\.0\.2\/31 \}/);
    const hba = (await onDb(d, ["cat", "/etc/postgresql/15/main/pg_hba.conf"])).stdout;
    expect(hba).toContain("# kvm-cloud begin\nhost kvmcloud kvmcloud 10.77.0.2/32 scram-sha-256\nhost kvmcloud kvmcloud 10.77.0.3/32 scram-sha-256\n# kvm-cloud end\n");
    expect(hba).not.toContain("0.0.0.0/0");
  });
});
