// RPM [epoch:]version[-release], ordered as rpm 4.16+ orders EVRs (rpmverCmp over rpmvercmp):
// epoch (missing = 0), then version, then release, where a missing release sorts before any
// release. Within a part, runs of digits compare numerically and runs of ASCII letters as text;
// every other character is a separator, except '~' (sorts before anything, even the end) and '^'
// (sorts after the end but before anything else).
// compare() accepts whatever `rpm.vercmp` does (e.g. "a:1" is a version with no epoch, and
// non-ASCII characters are separators), except empty, blank or control-character input.
import { accepts, checkPlain, parsedOrUndefined, sign } from './errors.js';
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

/**
 * One EVR part as rpmvercmp orders it: '~' as \x01 (below everything, even the end), the end as
 * \x02, '^' as \x03 (above the end, below any segment), a letter run as \x04, the letters and \x01,
 * a digit run as \x05, a length character and the digits without leading zeros (numeric above
 * alphabetic); separators leave nothing, as rpmvercmp skips them.
 */
function partKey(p: string): string | undefined {
  let out = '';
  let i = 0;
  while (i < p.length) {
    const c = p.charCodeAt(i);
    const start = i;
    if (isDigit(c)) {
      while (i < p.length && isDigit(p.charCodeAt(i))) i++;
      const digits = p.slice(start, i).replace(/^0+/, '');
      if (digits.length > 0xd000) return undefined;
      out += `\x05${String.fromCharCode(0x30 + digits.length)}${digits}`;
    } else if (isAlpha(c)) {
      while (i < p.length && isAlpha(p.charCodeAt(i))) i++;
      out += `\x04${p.slice(start, i)}\x01`;
    } else {
      if (c === TILDE) out += '\x01';
      else if (c === CARET) out += '\x03';
      i++;
    }
  }
  return `${out}\x02`;
}

/** epoch, version, then no release (\x01) below any release (\x02 and its part). */
function sortKey(v: string): string | undefined {
  const evr = parsedOrUndefined(parse, v);
  if (evr === undefined) return undefined;
  const epoch = partKey(evr.epoch);
  const version = partKey(evr.version);
  const release = evr.release === undefined ? '\x01' : partKey(evr.release);
  if (epoch === undefined || version === undefined || release === undefined) return undefined;
  return `${epoch}${version}${evr.release === undefined ? release : `\x02${release}`}`;
}

export const rpm: Comparator = { scheme: 'rpm', compare, isValid, sortKey };
