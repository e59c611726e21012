// Python versions (PEP 440 / the packaging specification), parsed and ordered by
// @renovatebot/pep440, which follows Python's `packaging.version`. Legacy (non-PEP 440) versions
// are refused, as packaging ≥ 22 does. So are numbers of 16 digits or more: the library holds
// them as JavaScript numbers and would compare them inexactly.
import { compare as pepCompare, parse as pepParse, valid as pepValid } from '@renovatebot/pep440';
import { accepts, checkPlain, InvalidVersionError, sign } from './errors.js';
import type { Comparator } from './types.js';

function check(v: string): void {
  checkPlain('pep440', v);
  if (pepValid(v) === null) throw new InvalidVersionError('pep440', v, 'not a PEP 440 version');
  if (/\d{16,}/.test(v.replace(/(^|\D)0+(?=\d)/g, '$1'))) {
    throw new InvalidVersionError('pep440', v, 'number too large to compare exactly');
  }
}

/** A number as a length character and its digits: longer is bigger, equal lengths compare as text. */
const numberKey = (n: number): string => {
  const digits = String(n);
  return `${String.fromCharCode(0x30 + digits.length)}${digits}`;
};
const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

/**
 * The key packaging's (and the library's) comparison is made of, as one string: epoch; release
 * without trailing zeros (\x02 and a number per component, \x01 closing it: a shorter release
 * below a longer one it begins); pre-release (\x01 "dev-only, below every pre-release", \x02 a
 * letter a/b/rc and a number, \x03 none); post-release (\x01 none, \x02 a number); dev release
 * (\x02 a number, \x03 none); local segment (\x01 none, \x02 then per part \x02 and the text
 * for a word, below \x03 and the number for a number, \x01 closing). Undefined for a version
 * check() refuses, and for a local part the library reads as a number though it is not digits
 * ("1e5", "0x1": it compares those by their JavaScript value).
 */
function sortKey(v: string): string | undefined {
  try {
    check(v);
  } catch (e) {
    if (e instanceof InvalidVersionError) return undefined;
    throw e;
  }
  const parsed = pepParse(v) as unknown as {
    epoch: unknown;
    release: unknown[];
    pre: unknown[] | null;
    post: unknown[] | null;
    dev: unknown[] | null;
    local: unknown[] | null;
  } | null;
  if (!parsed || !isCount(parsed.epoch) || !parsed.release.every(isCount)) return undefined;
  const release = [...(parsed.release as number[])];
  while (release.length > 0 && release[release.length - 1] === 0) release.pop();
  let key = `${numberKey(parsed.epoch)}${release.map((n) => `\x02${numberKey(n)}`).join('')}\x01`;
  const letterNumber = (x: unknown[] | null): [string, number] | undefined => (x && typeof x[0] === 'string' && isCount(x[1]) ? [x[0], x[1]] : undefined);
  const pre = letterNumber(parsed.pre);
  const post = letterNumber(parsed.post);
  const dev = letterNumber(parsed.dev);
  if ((parsed.pre && (!pre || !['a', 'b', 'rc'].includes(pre[0]))) || (parsed.post && !post) || (parsed.dev && !dev)) return undefined;
  key += pre ? `\x02${pre[0]}\x01${numberKey(pre[1])}` : !post && dev ? '\x01' : '\x03';
  key += post ? `\x02${numberKey(post[1])}` : '\x01';
  key += dev ? `\x02${numberKey(dev[1])}` : '\x03';
  if (!parsed.local) return `${key}\x01`;
  const rawLocal = v.slice(v.indexOf('+') + 1).split(/[._-]/);
  if (rawLocal.some((part) => !Number.isNaN(Number(part)) && !/^[0-9]+$/.test(part))) return undefined;
  key += '\x02';
  for (const part of parsed.local) {
    if (typeof part === 'number') {
      if (!isCount(part)) return undefined;
      key += `\x03${numberKey(part)}`;
    } else if (typeof part === 'string' && /^[a-z0-9]+$/.test(part) && Number.isNaN(Number(part))) key += `\x02${part}\x01`;
    else return undefined;
  }
  return `${key}\x01`;
}

export const pep440: Comparator = {
  scheme: 'pep440',
  compare(a, b) {
    check(a);
    check(b);
    return sign(pepCompare(a, b));
  },
  isValid: (v) => accepts(() => check(v)),
  sortKey,
};
