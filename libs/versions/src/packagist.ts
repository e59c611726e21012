// Composer (Packagist) versions, ordered as composer/semver orders them: each version is first
// normalised like `VersionParser::normalize` ("v5.4" → "5.4.0.0", "1.0.0-beta.2" →
// "1.0.0.0-beta2", "2.1-RC1" → "2.1.0.0-RC1", "1.0-p1" → "1.0.0.0-patch1", "1.x-dev" →
// "1.9999999.9999999.9999999-dev", dates such as "2024.01.15" kept as numbers), then the two
// normal forms are ordered by PHP's `version_compare`: numbers numerically, and the stability words
// dev < alpha < beta < RC < (number or end) < patch.
// Refused: what normalize() refuses, and named branches ("dev-main", "master"): Composer gives
// them no order, so no range can hold them.
// Oracle: composer/semver itself under php (packagist.oracle.test.ts).
import { accepts, checkPlain, InvalidVersionError, sign } from './errors.js';
import type { Comparator } from './types.js';

const MODIFIER = '[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\\d+)*)?)?([.-]?dev)?';
const CLASSICAL = new RegExp(`^v?(\\d{1,5})(\\.\\d+)?(\\.\\d+)?(\\.\\d+)?${MODIFIER}$`, 'i');
const DATE = new RegExp(`^v?(\\d{4}(?:[.:-]?\\d{2}){1,6}(?:[.:-]?\\d{1,3})?)${MODIFIER}$`, 'i');
const BRANCH = /^v?(\d+)(\.(?:\d+|[xX*]))?(\.(?:\d+|[xX*]))?(\.(?:\d+|[xX*]))?$/i;

const STABILITY: Record<string, string> = { a: 'alpha', b: 'beta', p: 'patch', pl: 'patch', rc: 'RC' };

function bad(v: string, reason: string): never {
  throw new InvalidVersionError('packagist', v, reason);
}

/** composer/semver's normal form of a version (only the parts a single version can have). */
export function normalizeComposerVersion(input: string): string {
  checkPlain('packagist', input);
  let v = input.replace(/@(?:stable|RC|beta|alpha|dev)$/i, '');
  if (['master', 'trunk', 'default'].includes(v) || /^dev-/i.test(v)) bad(input, 'a branch has no version order');
  const plus = /^([^,+]+)\+.+$/.exec(v);
  if (plus) v = plus[1] as string;
  let m = CLASSICAL.exec(v);
  let normal: string | undefined;
  let at = 0;
  if (m) {
    normal = `${m[1]}${m[2] || '.0'}${m[3] || '.0'}${m[4] || '.0'}`;
    at = 5;
  } else if ((m = DATE.exec(v))) {
    normal = (m[1] as string).replace(/\D/g, '.');
    at = 2;
  }
  if (m && normal !== undefined) {
    const stability = m[at];
    if (stability) {
      // Only the lower-case word is dropped ("-STABLE" stays, as an unknown word below "dev").
      if (stability === 'stable') return normal;
      const lower = stability.toLowerCase();
      normal += `-${STABILITY[lower] ?? lower}${(m[at + 1] ?? '').replace(/^[.-]+/, '')}`;
    }
    if (m[at + 2]) normal += '-dev';
    return normal;
  }
  const dev = /^(.*?)[.-]?dev$/i.exec(v);
  if (dev) {
    const b = BRANCH.exec((dev[1] as string).trim());
    if (b) {
      let out = '';
      for (let i = 1; i < 5; i++) out += b[i] !== undefined ? b[i]!.replace(/[*X]/g, 'x') : '.x';
      return `${out.replaceAll('x', '9999999')}-dev`;
    }
    bad(input, 'a branch has no version order');
  }
  return bad(input, 'not a Composer version');
}

// PHP's version_compare(): canonical form, then part by part.
const SPECIAL: Array<[string, number]> = [
  ['dev', 0],
  ['alpha', 1],
  ['a', 1],
  ['beta', 2],
  ['b', 2],
  ['RC', 3],
  ['rc', 3],
  ['#', 4],
  ['pl', 5],
  ['p', 5],
];
const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isAlnum = (c: string): boolean => /^[0-9A-Za-z]$/.test(c);

/** php_canonicalize_version: "-", "_", "+" and other symbols become ".", and a "." goes between digits and letters. */
function canonical(v: string): string {
  let out = v[0] ?? '';
  let last = out;
  for (const c of v.slice(1)) {
    const lastDigit = isDigit(last);
    const lastOther = !isDigit(last) && last !== '.';
    if (c === '-' || c === '_' || c === '+') {
      if (!out.endsWith('.')) out += '.';
    } else if ((lastOther && isDigit(c)) || (lastDigit && !isDigit(c) && c !== '.')) {
      if (!out.endsWith('.')) out += '.';
      out += c;
    } else if (!isAlnum(c)) {
      if (!out.endsWith('.')) out += '.';
    } else {
      out += c;
    }
    last = c;
  }
  return out;
}

function specialOrder(form: string): number {
  for (const [name, order] of SPECIAL) if (form.startsWith(name)) return order;
  return -1;
}

const LONG_MAX = 2n ** 63n - 1n;
/** strtol: the leading digits, saturated at LONG_MAX. */
const strtol = (s: string): bigint => {
  const n = BigInt(/^\d+/.exec(s)?.[0] ?? '0');
  return n > LONG_MAX ? LONG_MAX : n;
};

function comparePart(p1: string, p2: string): number {
  const d1 = isDigit(p1[0] ?? '');
  const d2 = isDigit(p2[0] ?? '');
  if (d1 && d2) return sign(strtol(p1) - strtol(p2));
  if (!d1 && !d2) return sign(specialOrder(p1) - specialOrder(p2));
  return d1 ? sign(specialOrder('#N#') - specialOrder(p2)) : sign(specialOrder(p1) - specialOrder('#N#'));
}

/** PHP's version_compare(a, b) as -1, 0, 1. */
export function phpVersionCompare(a: string, b: string): number {
  const x = canonical(a)
    .split('.')
    .filter((p) => p !== '');
  const y = canonical(b)
    .split('.')
    .filter((p) => p !== '');
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const d = comparePart(x[i] as string, y[i] as string);
    if (d !== 0) return d;
  }
  if (x.length > n) return isDigit((x[n] as string)[0] ?? '') ? 1 : phpVersionCompare(x.slice(n).join('.'), '#N#');
  if (y.length > n) return isDigit((y[n] as string)[0] ?? '') ? -1 : phpVersionCompare('#N#', y.slice(n).join('.'));
  return 0;
}

export const packagist: Comparator = {
  scheme: 'packagist',
  compare: (a, b) => phpVersionCompare(normalizeComposerVersion(a), normalizeComposerVersion(b)),
  isValid: (v) => accepts(() => normalizeComposerVersion(v)),
};
