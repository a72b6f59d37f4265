/**
 * The one error shape for bad input: it names the field, shows the value and
 * says what is allowed, so a user can fix the input without reading code.
 */
export class ValidationError extends Error {
  constructor(
    readonly field: string,
    readonly value: unknown,
    readonly allowed: string,
  ) {
    const message = `${field}: ${JSON.stringify(value) ?? String(value)} is not allowed; expected ${allowed}`;
    super(message);
    // Pulumi serializes classes for dynamic providers into functions whose
    // Error.call(this) sets no message: set it on the instance ourselves.
    this.message = message;
    this.name = "ValidationError";
  }
}

export function check(ok: boolean, field: string, value: unknown, allowed: string): void {
  if (!ok) {
    throw new ValidationError(field, value, allowed);
  }
}

/** Runs a section's validator and names its fields from the top of the config. */
export function within<T>(prefix: string, validate: () => T, rename: Record<string, string> = {}): T {
  try {
    return validate();
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    const head = e.field.split(/[.[]/)[0];
    const field = head in rename ? rename[head] + e.field.slice(head.length) : e.field;
    throw new ValidationError(`${prefix}${field}`, e.value, e.allowed);
  }
}
