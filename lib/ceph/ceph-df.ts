/** `ceph df -f json`: cluster and per-pool usage. Pure. */
export interface CephPoolUsage {
  readonly name: string;
  /** Bytes of data stored by clients (before replication). */
  readonly storedBytes: number;
  /** Raw bytes used, replication included. */
  readonly usedBytes: number;
  /** Bytes clients can still store (after replication). */
  readonly maxAvailableBytes: number;
  readonly objects: number;
  /** used / (used + max available), 0-1. */
  readonly usedRatio: number;
}

export interface CephDf {
  readonly totalBytes: number;
  readonly totalUsedBytes: number;
  readonly totalAvailableBytes: number;
  readonly pools: readonly CephPoolUsage[];
}

interface RawDf {
  stats?: { total_bytes?: number; total_used_raw_bytes?: number; total_used_bytes?: number; total_avail_bytes?: number };
  pools?: Array<{ name?: string; stats?: { stored?: number; bytes_used?: number; max_avail?: number; objects?: number; percent_used?: number } }>;
}

export function parseCephDf(text: string): CephDf {
  let raw: RawDf;
  try {
    raw = JSON.parse(text) as RawDf;
  } catch {
    throw new Error(`ceph df -f json: not JSON: ${text.slice(0, 120)}`);
  }
  if (!raw.stats || !Array.isArray(raw.pools)) throw new Error("ceph df -f json: no stats or pools in the answer");
  return {
    totalBytes: raw.stats.total_bytes ?? 0,
    totalUsedBytes: raw.stats.total_used_raw_bytes ?? raw.stats.total_used_bytes ?? 0,
    totalAvailableBytes: raw.stats.total_avail_bytes ?? 0,
    pools: raw.pools
      .filter((p) => typeof p.name === "string")
      .map((p) => ({
        name: p.name!,
        storedBytes: p.stats?.stored ?? 0,
        usedBytes: p.stats?.bytes_used ?? 0,
        maxAvailableBytes: p.stats?.max_avail ?? 0,
        objects: p.stats?.objects ?? 0,
        // Ceph prints percent_used as a 0-1 ratio despite its name.
        usedRatio: p.stats?.percent_used ?? 0,
      })),
  };
}
