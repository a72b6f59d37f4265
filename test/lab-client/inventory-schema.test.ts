import * as crypto from "crypto";
import { Client } from "pg";
import { readLabDescription } from "../../lab/description";
import { run } from "../../lab/exec";
import { POSTGRES } from "../../lab/topology";
import { LOGGED_OPERATIONS, OPERATIONS_TABLE, renderInventorySchema, VM_TABLE } from "../../lib/inventory/schema";
import { schemaIsCurrent } from "../../lib/inventory/vm-rows";
import { createThrowawayDatabase, dropThrowawayDatabase } from "../helpers/service-hosts";
import { assertInManagerNamespace } from "../helpers/lab-client";

/**
 * The inventory schema applied by the real psql to a throwaway database on the
 * lab's Postgres, the way the InventoryDatabase component applies it (one
 * transaction, stop at the first error): twice, because every apply after the
 * first must change nothing; then its constraints refuse bad rows.
 */

jest.setTimeout(120_000);

const d = readLabDescription();
const database = `h4b_schema_${crypto.randomBytes(4).toString("hex")}`;
const url = (() => {
  const u = new URL(d.inventory.postgresUrl);
  u.pathname = `/${database}`;
  return u.toString();
})();
let client: Client | undefined;

/** The component's psql invocation (lib/inventory/inventory-host.ts), over TCP as the inventory's role. */
function applySchema() {
  return run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-d", url, "-f", "-"], { input: renderInventorySchema() });
}

beforeAll(async () => {
  assertInManagerNamespace(d);
  await createThrowawayDatabase(d, database, POSTGRES.user);
});

afterAll(async () => {
  await client?.end().catch(() => undefined);
  await dropThrowawayDatabase(d, database);
});

const vm = {
  name: "web-1", stack: "dev", vcpus: 1, memory_mib: 192, disk_gib: 1, image: "libvirt-pool/kvmcloud-tiny@base",
  node: "node1", mac: "52:54:00:00:00:01", state: "creating",
};

async function insertVm(row: Record<string, unknown>) {
  const cols = Object.keys(row);
  return client!.query(`INSERT INTO ${VM_TABLE} (${cols.join(", ")}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(", ")})`, Object.values(row));
}

/** The SQLSTATE a statement fails with ("" when it succeeds), inside a savepoint so the session stays usable. */
async function failure(run: () => Promise<unknown>): Promise<string> {
  await client!.query("BEGIN");
  try {
    await run();
    return "";
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  } finally {
    await client!.query("ROLLBACK");
  }
}

describe("the inventory schema on the lab's Postgres", () => {
  it("applies with psql, and applies again without error or change", async () => {
    await applySchema();
    client = new Client({ connectionString: url });
    await client.connect();
    const shape = async () =>
      (
        await client!.query(
          "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
        )
      ).rows;
    const first = await shape();
    expect(first.filter((r) => r.table_name === VM_TABLE).map((r) => r.column_name)).toEqual(
      expect.arrayContaining(["name", "node", "mac", "ip", "state", "domain_uuid", "created_at"]),
    );
    expect(first.some((r) => r.table_name === OPERATIONS_TABLE)).toBe(true);
    await insertVm(vm);
    await applySchema();
    expect(await shape()).toEqual(first);
    // The second apply kept the data.
    expect((await client.query(`SELECT count(*)::int AS n FROM ${VM_TABLE}`)).rows[0].n).toBe(1);
  });

  it("leaves its mark, by which a create knows it need not apply it again", async () => {
    expect(await schemaIsCurrent(client!)).toBe(true);
    await client!.query(`COMMENT ON TABLE ${VM_TABLE} IS 'kvm-cloud inventory schema 0000000000000000'`);
    expect(await schemaIsCurrent(client!)).toBe(false);
    await applySchema();
    expect(await schemaIsCurrent(client!)).toBe(true);
  });

  it("fills the defaults of a good row", async () => {
    const row = (await client!.query(`SELECT created_at, updated_at, ip FROM ${VM_TABLE} WHERE name = 'web-1'`)).rows[0];
    expect(row.created_at).toBeInstanceOf(Date);
    expect(row.ip).toBeNull();
  });

  it.each<[string, Record<string, unknown>, string]>([
    ["a name that is not a DNS label", { ...vm, name: "Web_1", mac: "52:54:00:00:00:02" }, "23514"],
    ["0 vCPUs", { ...vm, name: "web-2", vcpus: 0, mac: "52:54:00:00:00:02" }, "23514"],
    ["32 MiB of memory", { ...vm, name: "web-2", memory_mib: 32, mac: "52:54:00:00:00:02" }, "23514"],
    ["an unknown state", { ...vm, name: "web-2", state: "exploded", mac: "52:54:00:00:00:02" }, "23514"],
    ["a MAC already taken", { ...vm, name: "web-2" }, "23505"],
    ["a name already taken", { ...vm, mac: "52:54:00:00:00:02" }, "23505"],
    ["a malformed MAC", { ...vm, name: "web-2", mac: "zz:54:00:00:00:02" }, "22P02"],
    ["a missing node", { ...vm, name: "web-2", mac: "52:54:00:00:00:02", node: null }, "23502"],
  ])("refuses a VM row with %s", async (_what, row, sqlstate) => {
    expect(await failure(() => insertVm(row))).toBe(sqlstate);
  });

  it("accepts a second good VM (the refusals above are about the bad field alone)", async () => {
    expect(await failure(() => insertVm({ ...vm, name: "web-2", mac: "52:54:00:00:00:02", ip: "10.77.100.20" }))).toBe("");
  });

  it.each<[string, Record<string, unknown>, string]>([
    ["an unknown operation", { vm: "web-1", operation: "explode", outcome: "ok", started_at: new Date(), duration_ms: 5 }, "23514"],
    ["an unknown outcome", { vm: "web-1", operation: "create", outcome: "meh", started_at: new Date(), duration_ms: 5 }, "23514"],
    ["a negative duration", { vm: "web-1", operation: "create", outcome: "ok", started_at: new Date(), duration_ms: -1 }, "23514"],
  ])("refuses an operation row with %s", async (_what, row, sqlstate) => {
    const cols = Object.keys(row);
    const sql = `INSERT INTO ${OPERATIONS_TABLE} (${cols.join(", ")}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(", ")})`;
    expect(await failure(() => client!.query(sql, Object.values(row)))).toBe(sqlstate);
  });

  it("logs a provider's reconcile and each HA event, a fence once per Pacemaker operation id", async () => {
    const op = (row: Record<string, unknown>) => {
      const cols = Object.keys(row);
      return client!.query(`INSERT INTO ${OPERATIONS_TABLE} (${cols.join(", ")}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(", ")}) ON CONFLICT (ref) WHERE operation = 'ha-fence' DO NOTHING`, Object.values(row));
    };
    const at = new Date();
    for (const operation of LOGGED_OPERATIONS) expect(await failure(() => op({ vm: "web-1", operation, outcome: "ok", started_at: at, duration_ms: 1, node: "node1" }))).toBe("");
    const fence = { operation: "ha-fence", outcome: "ok", step: "reboot", started_at: at, duration_ms: 0, node: "node2", ref: "411c54cf-6e6b" };
    await op(fence);
    await op(fence);
    expect((await client!.query(`SELECT vm FROM ${OPERATIONS_TABLE} WHERE ref = '411c54cf-6e6b'`)).rows).toEqual([{ vm: null }]);
  });
});

describe("the inventory schema over an older release's database", () => {
  const older = `h4b_schema_old_${crypto.randomBytes(4).toString("hex")}`;
  const olderUrl = url.replace(`/${database}`, `/${older}`);
  // vm_operations as releases before the HA alert agent made it: vm required, four operations.
  const OLD = `CREATE TABLE ${OPERATIONS_TABLE} (id bigserial PRIMARY KEY, vm text NOT NULL,
    operation text NOT NULL CHECK (operation IN ('create', 'update', 'delete', 'read')), outcome text NOT NULL CHECK (outcome IN ('ok', 'error')),
    step text, started_at timestamptz NOT NULL, duration_ms integer NOT NULL CHECK (duration_ms >= 0));
    INSERT INTO ${OPERATIONS_TABLE} (vm, operation, outcome, started_at, duration_ms) VALUES ('web-1', 'create', 'ok', now(), 15000);`;
  beforeAll(() => createThrowawayDatabase(d, older, POSTGRES.user));
  afterAll(() => dropThrowawayDatabase(d, older));

  it("is migrated in place: its rows stay, and it takes the operations it refused", async () => {
    const psql = (input: string) => run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-d", olderUrl, "-f", "-"], { input });
    await psql(OLD);
    const insert = "INSERT INTO vm_operations (vm, operation, outcome, started_at, duration_ms) VALUES (NULL, 'ha-fence', 'ok', now(), 0);";
    await expect(psql(insert)).rejects.toThrow(/violates (not-null|check) constraint/);
    await psql(renderInventorySchema());
    await psql(renderInventorySchema());
    await psql(insert);
    await psql("INSERT INTO vm_operations (vm, operation, outcome, started_at, duration_ms) VALUES ('web-1', 'reconcile', 'ok', now(), 3);");
    const c = new Client({ connectionString: olderUrl });
    await c.connect();
    try {
      expect((await c.query(`SELECT operation FROM ${OPERATIONS_TABLE} ORDER BY id`)).rows.map((r) => r.operation)).toEqual(["create", "ha-fence", "reconcile"]);
      const checks = (await c.query("SELECT conname FROM pg_constraint WHERE conrelid = 'vm_operations'::regclass AND contype = 'c' AND conname LIKE 'vm_operations_operation%'")).rows.map((r) => r.conname);
      expect(checks).toEqual(["vm_operations_operation_v2"]);
    } finally {
      await c.end();
    }
  });
});
