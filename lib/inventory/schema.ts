/**
 * The inventory's PostgreSQL schema. Idempotent (every statement is "if not
 * exists"), so the InventoryDatabase component, the lab and the provider can
 * all apply it before use.
 *
 * `vms` holds one row per VM, reserved with state 'creating' before anything
 * is made so that concurrent creates see each other's names, MACs and memory.
 * `vm_operations` logs every provider operation for the exporter's counters.
 */
export const VM_TABLE = "vms";
export const OPERATIONS_TABLE = "vm_operations";

/** Advisory-lock key that serialises placement across concurrent creates ("kvmcloud" in ASCII). */
export const PLACEMENT_LOCK_KEY = 0x6b766d636c6f7564n;

export function renderInventorySchema(): string {
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
  vm          text NOT NULL,
  operation   text NOT NULL CHECK (operation IN ('create', 'update', 'delete', 'read')),
  outcome     text NOT NULL CHECK (outcome IN ('ok', 'error')),
  step        text,
  started_at  timestamptz NOT NULL,
  duration_ms integer NOT NULL CHECK (duration_ms >= 0)
);
CREATE INDEX IF NOT EXISTS ${OPERATIONS_TABLE}_started_idx ON ${OPERATIONS_TABLE} (started_at);
`;
}
