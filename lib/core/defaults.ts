/**
 * A part's settings with its defaults filled: each key of `defaults` takes the
 * given value unless that is undefined (a spread would keep the undefined).
 * Keys the defaults do not have are left out, so that a resolver can pass a
 * wider object and get exactly its own settings.
 */
export function withDefaults<R extends object>(given: { readonly [K in keyof R]?: R[K] | undefined }, defaults: R): R {
  const r = { ...defaults } as Record<string, unknown>;
  for (const k of Object.keys(defaults)) {
    const v = (given as Record<string, unknown>)[k];
    if (v !== undefined) r[k] = v;
  }
  return r as R;
}
