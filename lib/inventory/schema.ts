import * as crypto from "crypto";

/**
 * The inventory's PostgreSQL schema. Idempotent (every statement is "if not
 * exists"), so the InventoryDatabase component, the lab and the provider can
 * all apply it before use.
 *
 * `vms` holds one row per VM, reserved with state 'creating' before anything
 * is made so that concurrent creates see each other's names, MACs and memory.
 * `vm_operations` logs every provider operation and every HA event that
 * Pacemaker's alert agent (lib/ha/ha-alert.ts) reports, for the exporter's
 * counters. Its later columns and checks are added by an idempotent
 * migration, under the placement lock, so that a database made by an older
 * release takes the new operations instead of refusing them.
 */
export const VM_TABLE = "vms";
export const OPERATIONS_TABLE = "vm_operations";

/**
 * What vm_operations.operation may hold: the provider's operations ("read"
 * stays for the rows of older releases, whose refreshes logged themselves)
 * and the HA events that Pacemaker reports (start, stop, migration of an HA
 * VM, fence of a node).
 */
export const LOGGED_OPERATIONS = ["create", "read", "update", "delete", "reconcile", "ha-start", "ha-stop", "ha-migrate", "ha-fence"] as const;
export type LoggedOperation = (typeof LOGGED_OPERATIONS)[number];

/** The name of the operation check; a new name per change of LOGGED_OPERATIONS, so the migration knows whether it ran. */
const OPERATION_CHECK = "vm_operations_operation_v2";

/** Advisory-lock key that serialises placement across concurrent creates ("kvmcloud" in ASCII). */
export const PLACEMENT_LOCK_KEY = 0x6b766d636c6f7564n;

function schemaStatements(): string {
  return `-- kvm-cloud inventory schema (idempotent)
CREATE TABLE IF NOT EXISTS ${VM_TABLE} (
  name        text PRIMARY KEY CHECK (name ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
  stack       text NOT NULL,
  vcpus       integer NOT NULL CHECK (vcpus BETWEEN 1 AND 64),
  memory_mib  integer NOT NULL CHECK (memory_mib BETWEEN 64 AND 1048576),
  disk_gib    integer NOT NULL CHECK (disk_gib BETWEEN 1 AND 65536),
  image       text NOT NULL,
  node        text NOT NULL,
  mac         macaddr NOT NULL UNIQUE,
  ip          inet,
  state       text NOT NULL CHECK (state IN ('creating', 'running', 'stopped', 'suspended')),
  domain_uuid uuid,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ${VM_TABLE}_node_idx ON ${VM_TABLE} (node);
CREATE TABLE IF NOT EXISTS ${OPERATIONS_TABLE} (
  id          bigserial PRIMARY KEY,
  vm          text,
  operation   text NOT NULL,
  outcome     text NOT NULL CHECK (outcome IN ('ok', 'error')),
  step        text,
  started_at  timestamptz NOT NULL,
  duration_ms integer NOT NULL CHECK (duration_ms >= 0)
);
CREATE INDEX IF NOT EXISTS ${OPERATIONS_TABLE}_started_idx ON ${OPERATIONS_TABLE} (started_at);
-- Serialised with every other schema apply (reserveVm holds the same lock): the check below is dropped and added once.
DO $$ BEGIN PERFORM pg_advisory_xact_lock(${PLACEMENT_LOCK_KEY.toString()}); END $$;
-- node: where an HA event happened (a fence: the fenced node; then vm is null). ref: Pacemaker's id of a fence, which every member reports.
ALTER TABLE ${OPERATIONS_TABLE} ADD COLUMN IF NOT EXISTS node text;
ALTER TABLE ${OPERATIONS_TABLE} ADD COLUMN IF NOT EXISTS ref text;
ALTER TABLE ${OPERATIONS_TABLE} ALTER COLUMN vm DROP NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS ${OPERATIONS_TABLE}_fence_ref_idx ON ${OPERATIONS_TABLE} (ref) WHERE operation = 'ha-fence';
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = '${OPERATION_CHECK}') THEN
    ALTER TABLE ${OPERATIONS_TABLE} DROP CONSTRAINT IF EXISTS ${OPERATIONS_TABLE}_operation_check;
    ALTER TABLE ${OPERATIONS_TABLE} ADD CONSTRAINT ${OPERATION_CHECK} CHECK (operation IN (${LOGGED_OPERATIONS.map((o) => `'${o}'`).join(", ")}));
  END IF;
END $$;
`;
}

/**
 * A digest of the schema's statements, left as the VM table's comment by
 * the schema's last statement. A user that finds it (vm-rows.ts
 * schemaIsCurrent) skips the statements: their ALTERs lock the operations
 * table exclusively until their transaction ends (every operation's log and
 * the exporter's reads wait), and a create applied them under the placement
 * lock (7 ms of statements on the lab's idle Postgres).
 */
export const SCHEMA_MARK = `kvm-cloud inventory schema ${crypto.createHash("sha256").update(schemaStatements()).digest("hex").slice(0, 16)}`;

/** The schema, applied by the InventoryDatabase component, the lab and a create that finds no current mark. */
export function renderInventorySchema(): string {
  return `${schemaStatements()}COMMENT ON TABLE ${VM_TABLE} IS '${SCHEMA_MARK}';
`;
}
