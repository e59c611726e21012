// Maven versions ordered like ComparableVersion of Maven 3.9 (the order Maven uses for dependency
// ranges; https://maven.apache.org/pom.html#version-order-specification), checked against the real
// maven-artifact 3.9 jar:
// - '.' and '-' separate items, and so does a switch between digits and letters; a '-' or a
//   switch opens a nested list, which sorts below a number at the same position ("1-1" < "1.1");
// - numbers compare numerically (any size), leading zeros ignored; trailing zeros and release
//   words are dropped ("1.0.0" = "1" = "1-ga");
// - qualifiers: alpha < beta < milestone < rc = cr < snapshot < "" = ga = final = release < sp <
//   any other word (those in lexical order), case-insensitive; a, b and m mean alpha, beta and
//   milestone only when a number follows ("1a1" = "1-alpha-1", but "1a" = "1-a").
// Maven accepts any string as a version; compare() throws only for empty, blank or non-ASCII
// input (Java's Unicode digit and case rules are not reproduced).
import { accepts, checkPlain, InvalidVersionError, sign } from './errors.js';
import type { Comparator } from './types.js';

type Item = NumItem | WordItem | ListItem;
interface NumItem {
  kind: 'num';
  value: bigint;
  /** Maven's int/long/BigInteger class, chosen by digit count: a bigger class always sorts higher */
  size: number;
}
interface WordItem {
  kind: 'word';
  /** canonical spelling after aliases */
  value: string;
}
interface ListItem {
  kind: 'list';
  items: Item[];
}

const QUALIFIERS = ['alpha', 'beta', 'milestone', 'rc', 'snapshot', '', 'sp'];
const ALIASES = new Map([
  ['ga', ''],
  ['final', ''],
  ['release', ''],
  ['cr', 'rc'],
]);
const RELEASE_RANK = String(QUALIFIERS.indexOf(''));
const ZERO: NumItem = { kind: 'num', value: 0n, size: 0 };

function word(value: string, followedByDigit: boolean): WordItem {
  let v = value;
  if (followedByDigit && v.length === 1) {
    v = v === 'a' ? 'alpha' : v === 'b' ? 'beta' : v === 'm' ? 'milestone' : v;
  }
  return { kind: 'word', value: ALIASES.get(v) ?? v };
}

/** A string whose lexical order is the qualifier order. */
function rank(q: string): string {
  const i = QUALIFIERS.indexOf(q);
  return i === -1 ? `${QUALIFIERS.length}-${q}` : String(i);
}

const textCompare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function isNull(item: Item): boolean {
  switch (item.kind) {
    case 'num':
      return item.value === 0n;
    case 'word':
      return item.value === '';
    case 'list':
      return item.items.length === 0;
  }
}

/** Compares an item with a missing one (the other version ended here). */
function compareToNothing(item: Item): number {
  switch (item.kind) {
    case 'num':
      return item.value === 0n ? 0 : 1;
    case 'word':
      return textCompare(rank(item.value), RELEASE_RANK);
    case 'list':
      for (const i of item.items) {
        const r = compareToNothing(i);
        if (r !== 0) return r;
      }
      return 0;
  }
}

function compareItems(a: Item | undefined, b: Item | undefined): number {
  if (a === undefined) return b === undefined ? 0 : -compareToNothing(b);
  if (b === undefined) return compareToNothing(a);
  switch (a.kind) {
    case 'num':
      if (b.kind !== 'num') return 1;
      return a.size !== b.size ? sign(a.size - b.size) : sign(a.value - b.value);
    case 'word':
      return b.kind === 'word' ? textCompare(rank(a.value), rank(b.value)) : -1;
    case 'list':
      if (b.kind === 'num') return -1;
      if (b.kind === 'word') return 1;
      for (let i = 0; i < Math.max(a.items.length, b.items.length); i++) {
        const r = compareItems(a.items[i], b.items[i]);
        if (r !== 0) return r;
      }
      return 0;
  }
}

function number(text: string): NumItem {
  // Maven picks int, long or BigInteger by digit count after dropping leading zeros (an all-zero
  // run keeps its length), and a bigger class always sorts higher.
  const len = /^0+$/.test(text) ? text.length : text.replace(/^0+/, '').length;
  return { kind: 'num', value: BigInt(text), size: len <= 9 ? 0 : len <= 18 ? 1 : 2 };
}

const item = (digits: boolean, text: string): Item => (digits ? number(text) : word(text, false));

/** Drops trailing null items (0, "", release words, empty lists), looking through nested lists. */
function normalize(list: ListItem): void {
  for (let i = list.items.length - 1; i >= 0; i--) {
    const last = list.items[i]!;
    if (isNull(last)) list.items.splice(i, 1);
    else if (last.kind !== 'list') break;
  }
}

function parse(version: string): ListItem {
  checkPlain('maven', version);
  if (/[^\x20-\x7e]/.test(version)) throw new InvalidVersionError('maven', version, 'non-ASCII character');
  const v = version.toLowerCase();
  const root: ListItem = { kind: 'list', items: [] };
  const lists: ListItem[] = [root];
  let list = root;
  const open = (): void => {
    const sub: ListItem = { kind: 'list', items: [] };
    list.items.push(sub);
    list = sub;
    lists.push(sub);
  };
  let inDigits = false;
  let start = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (c === '.' || c === '-') {
      list.items.push(i === start ? ZERO : item(inDigits, v.slice(start, i)));
      start = i + 1;
      if (c === '-') open();
    } else if (c >= '0' && c <= '9') {
      if (!inDigits && i > start) {
        // letters then digits: "rc1" is [rc, [1]]
        if (list.items.length > 0) open();
        list.items.push(word(v.slice(start, i), true));
        start = i;
        open();
      }
      inDigits = true;
    } else {
      if (inDigits && i > start) {
        list.items.push(number(v.slice(start, i)));
        start = i;
        open();
      }
      inDigits = false;
    }
  }
  if (v.length > start) {
    // a trailing word after a dot reads as after a hyphen: "1.0.x" = "1.0-x"
    if (!inDigits && list.items.length > 0) open();
    list.items.push(item(inDigits, v.slice(start)));
  }
  for (let i = lists.length - 1; i >= 0; i--) normalize(lists[i]!);
  return root;
}

function compare(a: string, b: string): number {
  return sign(compareItems(parse(a), parse(b)));
}

function isValid(v: string): boolean {
  return accepts(() => parse(v));
}

export const maven: Comparator = { scheme: 'maven', compare, isValid };
