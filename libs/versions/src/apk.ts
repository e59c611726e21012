// Alpine versions as apk-tools 2.x orders them (`apk version -t`):
//   digits{.digits}...{letter}{_suffix{digits}}...{-rN}
// with pre-release suffixes _alpha < _beta < _pre < _rc < (none) < post-release _cvs < _svn <
// _git < _hg < _p. Like apk, compare() also orders strings outside that grammar (apk never
// refuses a comparison; it stops at the first token it cannot read and decides from what it has
// seen), so results match apk even for odd secdb entries. Only empty, blank or control-character
// input is refused.
// Numbers are 64-bit integers, as in apk 2.14 (32-bit ones would wrap the 14-digit _pre suffix
// of alpine-versions.txt line 800, on which the real apk 2.14.4 agrees with the vector).
import { accepts, checkPlain, sign } from './errors.js';
import type { Comparator } from './types.js';

// Token kinds, in the order apk requires them to appear (a kind may not follow a later one, with
// three exceptions in advance()).
const INVALID = -1;
const DIGIT_OR_ZERO = 0; // a number after '.', where leading zeros count
const DIGIT = 1;
const LETTER = 2;
const SUFFIX = 3;
const SUFFIX_NO = 4;
const REVISION_NO = 5;
const END = 6;

const PRE_SUFFIXES = ['alpha', 'beta', 'pre', 'rc'];
const POST_SUFFIXES = ['cvs', 'svn', 'git', 'hg', 'p'];

interface Cursor {
  s: string;
  pos: number;
  kind: number;
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isLower = (c: string | undefined): boolean => c !== undefined && c >= 'a' && c <= 'z';

/** Decides the kind of the next token from the separator at the cursor, consuming the separator. */
function advance(t: Cursor): void {
  const c = t.s[t.pos];
  let next: number;
  if (c === undefined) {
    next = END;
  } else if ((t.kind === DIGIT || t.kind === DIGIT_OR_ZERO) && isLower(c)) {
    next = LETTER;
  } else if (t.kind === LETTER && isDigit(c)) {
    next = DIGIT;
  } else if (t.kind === SUFFIX && isDigit(c)) {
    next = SUFFIX_NO;
  } else {
    if (c === '.') next = DIGIT_OR_ZERO;
    else if (c === '_') next = SUFFIX;
    else if (c === '-' && t.s[t.pos + 1] === 'r') {
      next = REVISION_NO;
      t.pos++;
    } else next = INVALID;
    t.pos++;
  }
  const allowedBackStep = (next === DIGIT_OR_ZERO && t.kind === DIGIT) || (next === SUFFIX && t.kind === SUFFIX_NO) || (next === DIGIT && t.kind === LETTER);
  if (next < t.kind && !allowedBackStep) next = INVALID;
  t.kind = next;
}

function digitsValue(t: Cursor): bigint {
  let v = 0n;
  while (isDigit(t.s[t.pos])) {
    v = BigInt.asIntN(64, v * 10n + BigInt(t.s.charCodeAt(t.pos) - 48));
    t.pos++;
  }
  return v;
}

function suffixValue(t: Cursor): bigint | undefined {
  const rest = t.s.slice(t.pos);
  const pre = PRE_SUFFIXES.findIndex((p) => rest.startsWith(p));
  if (pre >= 0) {
    t.pos += PRE_SUFFIXES[pre]!.length;
    return BigInt(pre - PRE_SUFFIXES.length); // negative: sorts before no suffix
  }
  const post = POST_SUFFIXES.findIndex((p) => rest.startsWith(p));
  if (post >= 0) {
    t.pos += POST_SUFFIXES[post]!.length;
    return BigInt(post);
  }
  return undefined;
}

/** Reads the value of the current token and moves to the next one. */
function take(t: Cursor): bigint {
  if (t.pos >= t.s.length) {
    t.kind = END;
    return 0n;
  }
  let v: bigint;
  let forced: number | undefined;
  switch (t.kind) {
    case DIGIT_OR_ZERO:
      if (t.s[t.pos] === '0') {
        // After a dot, leading zeros make the component smaller the more there are ("1.01" < "1.1").
        const start = t.pos;
        while (t.s[t.pos] === '0') t.pos++;
        v = BigInt(start - t.pos);
        forced = DIGIT;
        break;
      }
      v = digitsValue(t);
      break;
    case DIGIT:
    case SUFFIX_NO:
    case REVISION_NO:
      v = digitsValue(t);
      break;
    case LETTER:
      v = BigInt(t.s.charCodeAt(t.pos));
      t.pos++;
      break;
    case SUFFIX: {
      const s = suffixValue(t);
      if (s === undefined) {
        t.kind = INVALID;
        return -1n;
      }
      v = s;
      break;
    }
    default:
      t.kind = INVALID;
      return -1n;
  }
  if (t.pos >= t.s.length) t.kind = END;
  else if (forced !== undefined) t.kind = forced;
  else advance(t);
  return v;
}

function compare(a: string, b: string): number {
  checkPlain('apk', a);
  checkPlain('apk', b);
  const ta: Cursor = { s: a, pos: 0, kind: DIGIT };
  const tb: Cursor = { s: b, pos: 0, kind: DIGIT };
  let va = 0n;
  let vb = 0n;
  while (ta.kind === tb.kind && ta.kind !== END && ta.kind !== INVALID && va === vb) {
    va = take(ta);
    vb = take(tb);
  }
  if (va !== vb) return va < vb ? -1 : 1;
  if (ta.kind === tb.kind) return 0;
  // Equal so far and one side goes on: it is newer, unless what follows is a pre-release suffix
  // (an unknown suffix counts as one).
  if (ta.kind === SUFFIX && take({ ...ta }) < 0n) return -1;
  if (tb.kind === SUFFIX && take({ ...tb }) < 0n) return 1;
  return sign(tb.kind - ta.kind);
}

function isValid(v: string): boolean {
  return accepts(() => checkPlain('apk', v));
}

/** A 64-bit value, in order: negatives (\x01, fewer digits higher, digits complemented) below the rest (\x03). */
function valueKey(v: bigint): string {
  const digits = (v < 0n ? -v : v).toString();
  if (v >= 0n) return `\x03${String.fromCharCode(0x30 + digits.length)}${digits}`;
  return `\x01${String.fromCharCode(0x7f - digits.length)}${digits.replace(/\d/g, (d) => String(9 - Number(d)))}`;
}

/**
 * The token stream compare() walks, as one string: per token its kind, then its value. Kinds are
 * compared only where everything before is equal, and there the version whose next token is of an
 * earlier kind is newer, except a pre-release suffix, older than anything: so kinds are written
 * from \x3a (a component after '.') down to \x34 (the end), a pre-release suffix as \x31.
 * Undefined where compare() would stop at a token it cannot read (it then ignores the rest), and
 * for numbers that would wrap 64 bits.
 */
function sortKey(v: string): string | undefined {
  try {
    checkPlain('apk', v);
  } catch {
    return undefined;
  }
  if (/\d{19,}/.test(v)) return undefined;
  const t: Cursor = { s: v, pos: 0, kind: DIGIT };
  let key = '';
  for (;;) {
    if (t.kind === END) return `${key}\x34`;
    if (t.kind === INVALID) return undefined;
    const kind = t.kind;
    const value = take(t);
    if (t.kind === INVALID) return undefined;
    key += `${kind === SUFFIX && value < 0n ? '\x31' : String.fromCharCode(0x3a - kind)}${valueKey(value)}`;
  }
}

export const apk: Comparator = { scheme: 'apk', compare, isValid, sortKey };
