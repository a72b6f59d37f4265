/**
 * What a dynamic provider sees of inputs the engine does not know yet (during
 * a preview): check() and diff() must wait for them, never judge them.
 */

/** The value the engine sends for an input that is not known yet. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export function containsUnknown(v: unknown): boolean {
  if (v === UNKNOWN) return true;
  if (Array.isArray(v)) return v.some(containsUnknown);
  if (typeof v === "object" && v !== null) return Object.values(v).some(containsUnknown);
  return false;
}

/** A check() failure: the engine prints `property: reason`. */
export interface CheckFailure {
  readonly property: string;
  readonly reason: string;
}
