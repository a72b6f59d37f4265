import { OPERATIONS_TABLE } from "./schema";
import type { Sql } from "./vm-rows";

/**
 * The provider's operations log: a row per create, update, delete or
 * reconcile, written by the VM operations and read by the exporter, which
 * turns it into counters and duration histograms.
 */

export type OperationName = "create" | "update" | "delete" | "reconcile";

/** One logged operation as the exporter reads it. */
export interface OperationRow {
  readonly id: number;
  readonly operation: string;
  readonly outcome: string;
  /** The step that failed, for an error. */
  readonly step?: string;
  readonly durationMs: number;
}

/** One line of the operations log the exporter turns into counters; never fails the operation. */
export async function logOperation(
  sql: Sql,
  op: { vm: string; operation: OperationName; outcome: "ok" | "error"; step?: string; startedAt: Date; durationMs: number },
): Promise<void> {
  await sql
    .query(`INSERT INTO ${OPERATIONS_TABLE} (vm, operation, outcome, step, started_at, duration_ms) VALUES ($1, $2, $3, $4, $5, $6)`, [
      op.vm,
      op.operation,
      op.outcome,
      op.step ?? null,
      op.startedAt.toISOString(),
      Math.max(0, Math.round(op.durationMs)),
    ])
    .catch(() => undefined);
}

/**
 * Operations logged after `afterId`, oldest first, at most `limit`: a reader
 * starting next to a long log catches up over a few calls instead of one
 * slow one.
 */
export async function listOperations(sql: Sql, afterId: number, limit: number): Promise<OperationRow[]> {
  const r = await sql.query(`SELECT id, operation, outcome, step, duration_ms FROM ${OPERATIONS_TABLE} WHERE id > $1 ORDER BY id LIMIT $2`, [afterId, limit]);
  return r.rows.map((row) => ({
    id: Number(row.id),
    operation: String(row.operation),
    outcome: String(row.outcome),
    step: row.step === null || row.step === undefined ? undefined : String(row.step),
    durationMs: Number(row.duration_ms),
  }));
}
