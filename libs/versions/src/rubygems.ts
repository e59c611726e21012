// RubyGems versions, ordered as Ruby's `Gem::Version#<=>` (RubyGems 3.x):
// - a version is digits, then any number of ".segment" parts of letters and digits, then an
//   optional "-pre.release" part; "-" is read as ".pre." ("1.0-rc1" = "1.0.pre.rc1");
// - the string is cut into runs of digits and runs of letters ("1.0.a10" → 1, 0, "a", 10);
// - trailing zeros are dropped from the numeric part and from the part after the first letter run
//   ("1.0" = "1", "1.a.0" = "1.a");
// - segments compare pairwise (a missing one counts as 0): numbers numerically (any size), letter
//   runs byte-wise, and a letter run sorts below any number, so "1.0.b1" < "1.0" (a prerelease).
// Refused: what Gem::Version refuses (Gem::Version.correct? false), and the empty string, which
// Ruby reads as "0" but no gem is published with.
import { accepts, checkPlain, InvalidVersionError, sign } from './errors.js';
import type { Comparator } from './types.js';

const VALID = /^[0-9]+(?:\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

type Segment = bigint | string;

function dropTrailingZeros(segments: Segment[]): Segment[] {
  let end = segments.length;
  while (end > 0 && segments[end - 1] === 0n) end--;
  return segments.slice(0, end);
}

/** The canonical segments Gem::Version compares. */
function parse(v: string): Segment[] {
  checkPlain('rubygems', v);
  if (!VALID.test(v)) throw new InvalidVersionError('rubygems', v, 'not a Gem::Version');
  const segments: Segment[] = (v.replaceAll('-', '.pre.').match(/[0-9]+|[a-z]+/gi) ?? []).map((s) => (/^\d/.test(s) ? BigInt(s) : s));
  const firstString = segments.findIndex((s) => typeof s === 'string');
  if (firstString < 0) return dropTrailingZeros(segments);
  return [...dropTrailingZeros(segments.slice(0, firstString)), ...dropTrailingZeros(segments.slice(firstString))];
}

function compare(a: string, b: string): number {
  const x = parse(a);
  const y = parse(b);
  const n = Math.max(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const l = x[i] ?? 0n;
    const r = y[i] ?? 0n;
    if (l === r) continue;
    if (typeof l === 'string' && typeof r !== 'string') return -1;
    if (typeof l !== 'string' && typeof r === 'string') return 1;
    if (typeof l === 'bigint' && typeof r === 'bigint') return sign(l - r);
    return l < r ? -1 : 1; // both letter runs: ASCII order, as Ruby's String#<=>
  }
  return 0;
}

export const rubygems: Comparator = {
  scheme: 'rubygems',
  compare,
  isValid: (v) => accepts(() => parse(v)),
};
