// Named numeric limits (layer reading, advisory reading): defaults with some overridden.

/**
 * The defaults with each given override in place; an override that is not a non-negative number
 * is refused with a RangeError naming it (`${what} limit <key>`). Unset overrides keep the default.
 */
export function resolveNumericLimits<T extends { [K in keyof T]: number }>(defaults: Readonly<T>, overrides: Partial<T> | undefined, what: string): T {
  const limits = { ...defaults } as T;
  if (!overrides) return limits;
  for (const key of Object.keys(limits) as (keyof T & string)[]) {
    const value = overrides[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
      throw new RangeError(`${what} limit ${key} must be a non-negative number, got ${String(value)}`);
    }
    limits[key] = value;
  }
  return limits;
}
