// OSV range evaluation (https://ossf.github.io/osv-schema/#evaluation): over the events sorted by
// version ("0" first), `introduced` opens an interval, `fixed` closes it (exclusive) and
// `last_affected` closes it (inclusive); `limit` caps the range. Also finds the fix that ends the
// interval holding the installed version (none when it ends with last_affected or never ends).
// The index stores events sorted; ranges it could not sort are sorted here.
import type { Comparator } from '@strata/versions';
import type { IndexedRange, OsvEvent } from '@strata/advisories';

export interface RangeVerdict {
  affected: boolean;
  /** the `fixed` event that closes the interval holding the version, when there is one */
  fixed?: string;
}

/** compare(installed, x), memoised: one package is compared with the same versions in many ranges. */
export type VersionProbe = (x: string) => number;

// Comparisons already made, per scheme and installed version, kept across packages and images:
// images share versions (the same stdlib, the same distro release), and a re-match of thousands
// of stored inventories repeats the same comparisons. Bounded: cleared when it grows too large.
const MAX_CACHED = 200_000;
const cache = new Map<string, Map<string, number>>();
let cached = 0;

export function probeFor(version: string, cmp: Comparator): VersionProbe {
  const key = `${cmp.scheme}\u0000${version}`;
  let memo = cache.get(key);
  if (!memo) {
    if (cached > MAX_CACHED) {
      cache.clear();
      cached = 0;
    }
    memo = new Map<string, number>();
    cache.set(key, memo);
  }
  const m = memo;
  return (x) => {
    let r = m.get(x);
    if (r === undefined) {
      r = cmp.compare(version, x);
      m.set(x, r);
      cached++;
    }
    return r;
  };
}

const isZero = (e: OsvEvent): boolean => e.introduced === '0';
const versionOf = (e: OsvEvent): string => (e.introduced ?? e.fixed ?? e.last_affected ?? e.limit) as string;

function sorted(range: IndexedRange, cmp: Comparator): OsvEvent[] {
  if (!range.unsorted) return range.events;
  const rank = (e: OsvEvent): number => (isZero(e) ? 0 : e.limit !== undefined ? 2 : 1);
  return [...range.events].sort((x, y) => rank(x) - rank(y) || (rank(x) === 1 ? cmp.compare(versionOf(x), versionOf(y)) : 0));
}

/** Throws InvalidVersionError (from the comparator) when an event version cannot be ordered. */
export function evaluateRange(version: string, range: IndexedRange, cmp: Comparator, probe: VersionProbe = probeFor(version, cmp)): RangeVerdict {
  const events = sorted(range, cmp);
  let limited = false;
  let underLimit = false;
  for (const e of events) {
    if (e.limit === undefined) continue;
    limited = true;
    if (e.limit === '*' || probe(e.limit) < 0) underLimit = true;
  }
  if (limited && !underLimit) return { affected: false };

  let affected = false;
  for (const e of events) {
    if (e.introduced !== undefined) {
      if (isZero(e) || probe(e.introduced) >= 0) affected = true;
    } else if (e.fixed !== undefined) {
      if (probe(e.fixed) >= 0) affected = false;
    } else if (e.last_affected !== undefined) {
      if (probe(e.last_affected) > 0) affected = false;
    }
  }
  if (!affected) return { affected };

  // The interval's end: the first closing event at or above the installed version.
  for (const e of events) {
    if (e.last_affected !== undefined && probe(e.last_affected) <= 0) return { affected };
    if (e.fixed !== undefined && probe(e.fixed) < 0) return { affected, fixed: e.fixed };
  }
  return { affected };
}

/** Whether an explicit `versions` list names the version (exactly, or equal under the comparator). */
export function inVersionList(version: string, versions: readonly string[], cmp: Comparator): boolean {
  if (versions.includes(version)) return true;
  return versions.some((v) => cmp.isValid(v) && cmp.compare(version, v) === 0);
}
