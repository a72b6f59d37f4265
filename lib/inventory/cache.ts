import { withinMs } from "../core/time-bound";
import type { Cache } from "./vm-rows";

/**
 * Redis only caches which node each VM runs on; Postgres is the record. So
 * the cache never fails a VM operation: each call is bounded, a failure reads
 * as "not cached" (get) or is skipped (set, del), and the next read that
 * reaches Redis mends the key. `onError` hears each failure once per call.
 */
export function bestEffortCache(cache: Cache | undefined, onError: (why: string) => void, timeoutMs = 2000): Cache {
  const bounded = async <T>(what: string, f: (c: Cache) => Promise<T>, fallback: T): Promise<T> => {
    if (!cache) return fallback;
    try {
      return await withinMs(f(cache), timeoutMs, () => new Error(`no answer within ${timeoutMs} ms`));
    } catch (e) {
      onError(`inventory cache ${what}: ${(e as Error).message}`);
      return fallback;
    }
  };
  return {
    get: (key) => bounded(`get ${key}`, (c) => c.get(key), null),
    set: (key, value) => bounded(`set ${key}`, (c) => c.set(key, value), undefined),
    del: (key) => bounded(`del ${key}`, (c) => c.del(key), undefined),
  };
}
