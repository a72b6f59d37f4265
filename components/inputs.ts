import * as pulumi from "@pulumi/pulumi";

/**
 * Early validation. A component's args are Inputs, but usually plain values
 * from stack config: then they are checked in the constructor, before any
 * resource is registered. Values that are still Outputs are checked by the
 * renderers when they resolve (the same checks, later).
 */
export function isKnown(v: unknown): boolean {
  if (pulumi.Output.isInstance(v) || v instanceof Promise) {
    return false;
  }
  if (Array.isArray(v)) {
    return v.every(isKnown);
  }
  if (v !== null && typeof v === "object") {
    return Object.values(v).every(isKnown);
  }
  return true;
}

/** Runs validate(values) now when every value is plain; otherwise leaves it to the renderers. */
export function validateWhenKnown<T>(values: T, validate: (v: T) => void): void {
  if (isKnown(values)) {
    validate(values);
  }
}

/** A value that decides which resources exist: it must be plain, not an Output. */
export function requireKnown<T>(field: string, v: T): T {
  if (!isKnown(v)) {
    throw new Error(`${field}: must be a plain value (it decides which resources exist), not an Output or Promise`);
  }
  return v;
}
