// The oracle tests' near neighbours of a generated version: each test lists the mutations that
// matter for its scheme (a table read top to bottom), and `mutator` applies one chosen at random.
import { pick } from './index.js';

export type Mutation = (v: string) => string;

/** The mutations several schemes share, drawing on one random source. */
export interface Mutations {
  /** appends one of `suffixes` */
  append(suffixes: readonly string[]): Mutation;
  /** the first number zero-padded, or its first `digits` digits plus one */
  renumber(digits?: number): Mutation;
  /** all upper case or all lower case */
  recase(): Mutation;
  /** the first match of `pattern` replaced by one of `replacements` */
  replaceOneOf(pattern: RegExp, replacements: readonly string[]): Mutation;
  /** an epoch (`0:`, `0!`) added, or the one there dropped */
  toggleEpoch(separator: ':' | '!'): Mutation;
  /** the last character dropped (never down to nothing) */
  dropLast: Mutation;
}

/** Applies one of the mutations `table` lists, chosen with `rand`. */
export function mutator(rand: () => number, table: (m: Mutations) => readonly Mutation[]): Mutation {
  const m: Mutations = {
    append: (suffixes) => (v) => `${v}${pick(rand, suffixes)}`,
    renumber:
      (digits = 9) =>
      (v) =>
        v.replace(/\d+/, (d) => (rand() < 0.5 ? `0${d}` : String(Number(d.slice(0, digits)) + 1))),
    recase: () => (v) => (rand() < 0.5 ? v.toUpperCase() : v.toLowerCase()),
    replaceOneOf: (pattern, replacements) => (v) => v.replace(pattern, pick(rand, replacements)),
    toggleEpoch: (separator) => (v) => (v.includes(separator) ? v.slice(v.indexOf(separator) + 1) : `0${separator}${v}`),
    dropLast: (v) => v.slice(0, Math.max(1, v.length - 1)),
  };
  const mutations = table(m);
  return (v) => pick(rand, mutations)(v);
}
