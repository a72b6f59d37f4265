import * as fs from "fs";
import * as path from "path";
import { createEngineStack } from "./engine-stack";
import { run } from "./exec";
import { onHost } from "./host-exec";
import { LabPaths } from "./paths";
import { hostByName, LabHost, POSTGRES, REDIS } from "./topology";

/**
 * The lab's inventory, built by the product: `pulumi up` of the kvm-cloud
 * program with `kvm-cloud:inventoryHost` (stacks/inventory-only.ts), under the
 * real engine run inside the manager namespace, puts the InventoryDatabase
 * component's packages runtime (Debian's PostgreSQL and Redis under systemd,
 * the schema applied) on the bare Debian host `db`. The stack lives in the
 * state directory, so a second lab:up is a no-change `up`; its outputs are the
 * URLs the lab's description hands to every client.
 */

export const INVENTORY_STACK = "labinventory";

export function inventoryStackDir(p: LabPaths): string {
  return path.join(p.state, "engine", "inventory");
}

export interface LabInventory {
  readonly postgresUrl: string;
  readonly redisUrl: string;
}

export async function ensureInventory(p: LabPaths, knownHostsFile: string, log: (l: string) => void = () => undefined): Promise<LabInventory> {
  const db = hostByName("db");
  const mgr = hostByName("mgr");
  const s = await createEngineStack(inventoryStackDir(p), INVENTORY_STACK, { keep: true, netns: mgr.ns });
  // The key's text goes through stdin, never a command line.
  await s.pulumi(["config", "set", "--secret", "kvm-cloud:sshPrivateKey"], { input: fs.readFileSync(p.sshKey, "utf8") });
  s.setConfig({
    "kvm-cloud:inventoryHost": { address: db.address, runtime: "packages", postgresPort: POSTGRES.port, redisPort: REDIS.port, database: POSTGRES.database },
    "kvm-cloud:knownHosts": fs.readFileSync(knownHostsFile, "utf8"),
  });
  const r = await s.program("up", [], { timeoutMs: 900_000, allowFail: true });
  if (r.code !== 0) {
    throw new Error(`pulumi up of the inventory stack (${inventoryStackDir(p)}) failed:\n${(r.stdout + r.stderr).split("\n").slice(-30).join("\n")}`);
  }
  const changes = /Resources:\n((?:\s+.+\n)+)/.exec(r.stdout)?.[1].trim().replace(/\s+/g, " ") ?? "";
  log(`inventory: pulumi up on ${db.name}: ${changes}`);
  const out = JSON.parse((await s.pulumi(["stack", "output", "inventory", "--json", "--show-secrets"])).stdout) as LabInventory;
  return out;
}

/** SELECT 1 as the inventory user, from a client in the db host's namespace. */
export async function postgresHealthy(url: string, h: LabHost = hostByName("db")): Promise<string | undefined> {
  const u = new URL(url);
  const password = decodeURIComponent(u.password);
  u.password = "";
  const r = await run(onHost(h, ["psql", "-X", "-tA", "-c", "SELECT 1", u.toString()]), {
    allowFail: true,
    timeoutMs: 10_000,
    env: { ...process.env, PGCONNECT_TIMEOUT: "5", PGPASSWORD: password },
  });
  return r.code === 0 && r.stdout.trim() === "1" ? undefined : `postgres does not answer: ${r.stderr.trim().split("\n").pop()}`;
}

/** PING with the password, from a client in the db host's namespace. */
export async function redisHealthy(url: string, h: LabHost = hostByName("db")): Promise<string | undefined> {
  const u = new URL(url);
  const r = await run(onHost(h, ["redis-cli", "-h", u.hostname, "-p", u.port || String(REDIS.port), "PING"]), {
    allowFail: true,
    env: { ...process.env, REDISCLI_AUTH: decodeURIComponent(u.password) },
    timeoutMs: 5000,
  });
  return r.code === 0 && r.stdout.trim() === "PONG" ? undefined : `redis does not answer PING: ${(r.stdout + r.stderr).trim()}`;
}
