// Debian versions ([epoch:]upstream[-revision]), ordered by the algorithm in Debian policy §5.6.12,
// as dpkg implements it. Parsing follows dpkg's own rules: problems dpkg treats as errors make
// compare() throw; problems dpkg only warns about (a version not starting with a digit, odd
// characters) are still ordered, exactly as `dpkg --compare-versions` does. Non-ASCII input is
// refused: dpkg orders such bytes as C chars, whose signedness differs between platforms.
import { accepts, checkPlain, InvalidVersionError, parsedOrUndefined, sign } from './errors.js';
import type { Comparator } from './types.js';

interface DebVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

const INT_MAX = 2 ** 31 - 1;

function parse(v: string): DebVersion {
  checkPlain('dpkg', v);
  if (/[^\x20-\x7e]/.test(v)) throw new InvalidVersionError('dpkg', v, 'non-ASCII character');
  let rest = v;
  let epoch = 0;
  const colon = v.indexOf(':');
  if (colon >= 0) {
    const e = v.slice(0, colon);
    if (e === '') throw new InvalidVersionError('dpkg', v, 'epoch in version is empty');
    if (!/^\d+$/.test(e)) throw new InvalidVersionError('dpkg', v, 'epoch in version is not number');
    epoch = Number(e);
    if (epoch > INT_MAX) throw new InvalidVersionError('dpkg', v, 'epoch in version is too big');
    rest = v.slice(colon + 1);
    if (rest === '') throw new InvalidVersionError('dpkg', v, 'nothing after colon in version number');
  }
  let upstream = rest;
  let revision = '';
  const hyphen = rest.lastIndexOf('-');
  if (hyphen >= 0) {
    upstream = rest.slice(0, hyphen);
    revision = rest.slice(hyphen + 1);
    if (revision === '') throw new InvalidVersionError('dpkg', v, 'revision number is empty');
  }
  if (upstream === '') throw new InvalidVersionError('dpkg', v, 'version number is empty');
  return { epoch, upstream, revision };
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isAlpha = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);

/** Sort weight of a non-digit character: '~' < end of string < letters < everything else. */
function weight(c: number | undefined): number {
  if (c === undefined || isDigit(c)) return 0;
  if (isAlpha(c)) return c;
  if (c === 126 /* ~ */) return -1;
  return c + 256;
}

/** Policy comparison of one part: alternate non-digit runs (by weight) and digit runs (numerically). */
function comparePart(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigit(a.charCodeAt(i))) || (j < b.length && !isDigit(b.charCodeAt(j)))) {
      const wa = weight(i < a.length ? a.charCodeAt(i) : undefined);
      const wb = weight(j < b.length ? b.charCodeAt(j) : undefined);
      if (wa !== wb) return sign(wa - wb);
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    const si = i;
    const sj = j;
    while (i < a.length && isDigit(a.charCodeAt(i))) i++;
    while (j < b.length && isDigit(b.charCodeAt(j))) j++;
    // Without leading zeros, the longer digit run is the bigger number; equal lengths compare as text.
    if (i - si !== j - sj) return sign(i - si - (j - sj));
    const da = a.slice(si, i);
    const db = b.slice(sj, j);
    if (da !== db) return da < db ? -1 : 1;
  }
  return 0;
}

function compare(a: string, b: string): number {
  const va = parse(a);
  const vb = parse(b);
  if (va.epoch !== vb.epoch) return sign(va.epoch - vb.epoch);
  return comparePart(va.upstream, vb.upstream) || comparePart(va.revision, vb.revision);
}

function isValid(v: string): boolean {
  return accepts(() => parse(v));
}

/**
 * One part (upstream or revision) as comparePart orders it: each non-digit run as its characters
 * ('~' as \x01, letters as themselves, anything else as \x7f and itself) closed by \x02 (the end
 * of a run weighs 0: above '~', below every character), then its digit run without leading zeros
 * as a length character and the digits. Runs of nothing and no digits at the end (or the whole
 * part) are what an ended part compares as, forever: the closing \x02 '0' \x02 orders that way
 * against whatever the other part goes on with (a '~' run below it, any other run or number above
 * it), and no run of a part can start with it, so a part's key is never a prefix of another's.
 */
function partKey(p: string): string {
  let out = '';
  let i = 0;
  while (i < p.length) {
    let run = '';
    for (; i < p.length && !isDigit(p.charCodeAt(i)); i++) {
      const c = p.charCodeAt(i);
      run += c === 126 ? '\x01' : isAlpha(c) ? p[i] : `\x7f${p[i]}`;
    }
    while (p[i] === '0') i++;
    const start = i;
    while (i < p.length && isDigit(p.charCodeAt(i))) i++;
    if (run === '' && i === start && i >= p.length) break; // only zeros left: as if ended
    out += `${run}\x02${String.fromCharCode(0x30 + i - start)}${p.slice(start, i)}`;
  }
  return `${out}\x02\x30\x02`;
}

function sortKey(v: string): string | undefined {
  const d = parsedOrUndefined(parse, v);
  if (d === undefined) return undefined;
  return `${String(d.epoch).padStart(10, '0')}${partKey(d.upstream)}${partKey(d.revision)}`;
}

export const dpkg: Comparator = { scheme: 'dpkg', compare, isValid, sortKey };
