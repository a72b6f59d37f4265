/**
 * How the exporter reads the inventory: one parameterised SQL query in, rows
 * out. The service passes a pg Pool's query; tests pass captured rows.
 */
export type Query = (sql: string, params?: readonly unknown[]) => Promise<ReadonlyArray<Record<string, unknown>>>;
