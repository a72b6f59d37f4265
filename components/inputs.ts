import * as pulumi from "@pulumi/pulumi";

/**
 * A component's args are Inputs, but usually plain values from stack config.
 * Each component resolves them one way (resolveArgs): a pure resolveX fills
 * the defaults and checks every rule once, before any resource is
 * registered when the values are plain, and when they resolve otherwise.
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

/**
 * The one way a component resolves its args: `resolve` (pure: defaults
 * filled, every rule checked, a ValidationError naming the field) runs now
 * when every value is plain, so that bad input fails before super() registers
 * anything; otherwise it runs once the Outputs resolve, and the deployment
 * fails with the same error. No stand-in takes an unknown value's place.
 * Call it before super(); the renderers take the Output it returns.
 */
export function resolveArgs<A, R>(values: A, resolve: (plain: pulumi.Unwrap<A>) => R): pulumi.Output<R> {
  if (isKnown(values)) {
    const resolved = resolve(values as pulumi.Unwrap<A>);
    return pulumi.output(resolved) as unknown as pulumi.Output<R>;
  }
  return pulumi.output(values).apply((v) => resolve(v as pulumi.Unwrap<A>)) as unknown as pulumi.Output<R>;
}

/** A value that decides which resources exist: it must be plain, not an Output. */
export function requireKnown<T>(field: string, v: T): T {
  if (!isKnown(v)) {
    throw new Error(`${field}: must be a plain value (it decides which resources exist), not an Output or Promise`);
  }
  return v;
}
