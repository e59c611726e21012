// RPM [epoch:]version[-release], ordered as rpm 4.16+ orders EVRs (rpmverCmp over rpmvercmp):
// epoch (missing = 0), then version, then release, where a missing release sorts before any
// release. Within a part, runs of digits compare numerically and runs of ASCII letters as text;
// every other character is a separator, except '~' (sorts before anything, even the end) and '^'
// (sorts after the end but before anything else).
// compare() accepts whatever `rpm.vercmp` does (e.g. "a:1" is a version with no epoch, and
// non-ASCII characters are separators), except empty, blank or control-character input.
import { accepts, checkPlain, sign } from './errors.js';
import type { Comparator } from './types.js';

interface Evr {
  epoch: string;
  version: string;
  release: string | undefined;
}

/** Splits like rpm's parseEVR: an epoch only when the leading digits end in ':', release after the last '-'. */
function parse(v: string): Evr {
  checkPlain('rpm', v);
  let i = 0;
  while (i < v.length && isDigit(v.charCodeAt(i))) i++;
  let epoch = '0';
  let rest = v;
  if (v[i] === ':') {
    epoch = i === 0 ? '0' : v.slice(0, i);
    rest = v.slice(i + 1);
  }
  const dash = rest.lastIndexOf('-');
  if (dash < 0) return { epoch, version: rest, release: undefined };
  return { epoch, version: rest.slice(0, dash), release: rest.slice(dash + 1) };
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isAlpha = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const TILDE = 126;
const CARET = 94;

/** rpmvercmp: segment-wise comparison of one EVR part. */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  const at = (s: string, k: number): number => (k < s.length ? s.charCodeAt(k) : 0);
  const isSep = (c: number): boolean => c !== 0 && !isDigit(c) && !isAlpha(c) && c !== TILDE && c !== CARET;
  for (;;) {
    while (isSep(at(a, i))) i++;
    while (isSep(at(b, j))) j++;
    const ca = at(a, i);
    const cb = at(b, j);
    if (ca === 0 && cb === 0) break;
    if (ca === TILDE || cb === TILDE) {
      if (ca !== TILDE) return 1;
      if (cb !== TILDE) return -1;
      i++;
      j++;
      continue;
    }
    if (ca === CARET || cb === CARET) {
      if (ca === 0) return -1;
      if (cb === 0) return 1;
      if (ca !== CARET) return 1;
      if (cb !== CARET) return -1;
      i++;
      j++;
      continue;
    }
    if (ca === 0 || cb === 0) break;

    const numeric = isDigit(ca);
    const kind = numeric ? isDigit : isAlpha;
    const si = i;
    const sj = j;
    while (i < a.length && kind(a.charCodeAt(i))) i++;
    while (j < b.length && kind(b.charCodeAt(j))) j++;
    // Segments of different kinds: the numeric one is newer.
    if (j === sj) return numeric ? 1 : -1;
    let sa = a.slice(si, i);
    let sb = b.slice(sj, j);
    if (numeric) {
      sa = sa.replace(/^0+/, '');
      sb = sb.replace(/^0+/, '');
      if (sa.length !== sb.length) return sign(sa.length - sb.length);
    }
    if (sa !== sb) return sa < sb ? -1 : 1;
  }
  const restA = i < a.length;
  const restB = j < b.length;
  if (!restA && !restB) return 0;
  return restA ? 1 : -1;
}

function compare(a: string, b: string): number {
  const ea = parse(a);
  const eb = parse(b);
  const byEpoch = rpmvercmp(ea.epoch, eb.epoch);
  if (byEpoch !== 0) return byEpoch;
  const byVersion = rpmvercmp(ea.version, eb.version);
  if (byVersion !== 0) return byVersion;
  if (ea.release === undefined || eb.release === undefined) {
    return ea.release === eb.release ? 0 : ea.release === undefined ? -1 : 1;
  }
  return rpmvercmp(ea.release, eb.release);
}

function isValid(v: string): boolean {
  return accepts(() => parse(v));
}

export const rpm: Comparator = { scheme: 'rpm', compare, isValid };
