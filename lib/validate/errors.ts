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
