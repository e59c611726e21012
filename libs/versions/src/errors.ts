import type { VersionScheme } from './types.js';

/** A version string that a comparator cannot order. Callers turn it into a warning on the package. */
export class InvalidVersionError extends Error {
  constructor(
    readonly scheme: VersionScheme,
    readonly version: string,
    readonly reason: string,
  ) {
    super(`invalid ${scheme} version ${JSON.stringify(version)}: ${reason}`);
    this.name = 'InvalidVersionError';
  }
}

/**
 * Rejects what no scheme can order: the empty string and anything with whitespace or control
 * characters (a version never contains them; such input is a parsing bug upstream).
 */
export function checkPlain(scheme: VersionScheme, v: string): void {
  if (v.length === 0) throw new InvalidVersionError(scheme, v, 'empty version');
  if (/[\s\x00-\x1f\x7f]/.test(v)) throw new InvalidVersionError(scheme, v, 'contains whitespace or control characters');
}

/** 1, 0 or -1, so every comparator returns the same three values. */
export function sign(n: number | bigint): number {
  return n > 0 ? 1 : n < 0 ? -1 : 0;
}

/** True when parse() does not throw InvalidVersionError: isValid() means "compare() accepts it". */
export function accepts(parse: () => unknown): boolean {
  try {
    parse();
    return true;
  } catch (e) {
    if (e instanceof InvalidVersionError) return false;
    throw e;
  }
}

/** parse(v), or undefined when it throws InvalidVersionError (a sort key for what cannot be ordered). */
export function parsedOrUndefined<T>(parse: (v: string) => T, v: string): T | undefined {
  try {
    return parse(v);
  } catch (e) {
    if (e instanceof InvalidVersionError) return undefined;
    throw e;
  }
}
