// Helpers shared by this library's tests (not exported from index.ts).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedDataDir } from '@strata/testing';
import { InvalidVersionError } from '../errors.js';
import type { Comparator } from '../types.js';

export { prng } from '@strata/testing';

/** <shared data>/versions; only call from tests gated on skipUnless('data'). */
export function versionsDir(): string {
  const data = sharedDataDir();
  if (!data) throw new Error('shared data folder not found (set STRATA_DATA_DIR)');
  return join(data, 'versions');
}

export type Op = '<' | '=' | '>';

export interface VectorLine {
  file: string;
  line: number;
  a: string;
  op: Op;
  b: string;
}

/** Reads an `A OP B` vector file (see shared/data/README.md): blank lines and #, // comments skipped. */
export function readVectors(path: string): VectorLine[] {
  const file = path.split('/').pop()!;
  const out: VectorLine[] = [];
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((raw, i) => {
      const text = raw.trim();
      if (text === '' || text.startsWith('#') || text.startsWith('//')) return;
      const parts = text.split(' ');
      const [a, op, b] = parts;
      if (parts.length !== 3 || a === undefined || b === undefined || (op !== '<' && op !== '=' && op !== '>')) {
        throw new Error(`${path}:${i + 1}: not an "A OP B" line: ${raw}`);
      }
      out.push({ file, line: i + 1, a, op, b });
    });
  return out;
}

/** The vector files of one ecosystem prefix, e.g. "alpine" → alpine-versions.txt, alpine-versions-generated.txt. */
export function vectorFiles(prefix: string): string[] {
  const dir = versionsDir();
  return readdirSync(dir)
    .filter((f) => f.startsWith(`${prefix}-versions`) && f.endsWith('.txt'))
    .sort()
    .map((f) => join(dir, f));
}

export function opOf(n: number): Op {
  return n < 0 ? '<' : n > 0 ? '>' : '=';
}

const FLIP: Record<Op, Op> = { '<': '>', '=': '=', '>': '<' };

/**
 * Checks every line in both directions; returns the lines that did not give the expected result
 * (a thrown error counts as a mismatch and is described).
 */
export function mismatches(c: Comparator, lines: VectorLine[]): string[] {
  const bad: string[] = [];
  for (const l of lines) {
    for (const [x, y, want] of [
      [l.a, l.b, l.op],
      [l.b, l.a, FLIP[l.op]],
    ] as const) {
      let got: string;
      try {
        got = opOf(c.compare(x, y));
      } catch (e) {
        got = `threw ${(e as Error).message}`;
      }
      if (got !== want) {
        bad.push(`${l.file}:${l.line}: ${x} ${want} ${y}, got ${got}`);
        break;
      }
    }
  }
  return bad;
}

export function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!;
}

/** Our result for a pair as '<', '=', '>', or 'E' when compare() refuses one of the versions. */
export function ours(c: Comparator, a: string, b: string): Op | 'E' {
  try {
    return opOf(c.compare(a, b));
  } catch (e) {
    if (e instanceof InvalidVersionError) return 'E';
    throw e;
  }
}

/**
 * Pairs for an oracle run: `count` pairs mixing independent random versions with a version and a
 * small mutation of it (so that equal and nearly equal pairs are common), plus the given edge pairs.
 */
export function pairs(
  rand: () => number,
  count: number,
  version: () => string,
  mutate: (v: string) => string,
  edges: ReadonlyArray<readonly [string, string]> = [],
): Array<[string, string]> {
  const out: Array<[string, string]> = edges.map(([a, b]) => [a, b]);
  while (out.length < count + edges.length) {
    const a = version();
    const r = rand();
    out.push([a, r < 0.3 ? version() : r < 0.4 ? a : mutate(a)]);
  }
  return out;
}

/** Compares our answers with an oracle's ('<', '=', '>' or 'E'); returns readable disagreements. */
export function disagreements(c: Comparator, list: ReadonlyArray<readonly [string, string]>, oracle: ReadonlyArray<string>): string[] {
  if (oracle.length !== list.length) throw new Error(`oracle gave ${oracle.length} answers for ${list.length} pairs`);
  const bad: string[] = [];
  list.forEach(([a, b], i) => {
    const mine = ours(c, a, b);
    if (mine !== oracle[i]) bad.push(`${JSON.stringify(a)} vs ${JSON.stringify(b)}: oracle ${oracle[i]}, ours ${mine}`);
  });
  return bad;
}

/** How often an oracle gave each answer, for a test's diagnostic line. */
export function answerCounts(oracle: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of oracle) counts[o] = (counts[o] ?? 0) + 1;
  return counts;
}

/** The pairs of the vector lines named in `exceptions` (`<file>:<line>`), from the given vector files. */
export function exceptionPairs(files: readonly string[], exceptions: ReadonlyArray<{ at: string }>): Array<[string, string]> {
  return files
    .flatMap((f) => readVectors(join(versionsDir(), f)))
    .filter((l) => exceptions.some((e) => e.at === `${l.file}:${l.line}`))
    .map((l): [string, string] => [l.a, l.b]);
}

export { mutator, type Mutation, type Mutations } from './mutations.js';

/** Runs an oracle program that reads one "a<TAB>b" pair a line on stdin and answers one line a pair. */
export function pipeOracle(command: string, args: readonly string[], list: ReadonlyArray<readonly [string, string]>): string[] {
  const input = list.map(([a, b]) => `${a}\t${b}\n`).join('');
  return execFileSync(command, args, { input, maxBuffer: 64 * 1024 * 1024 })
    .toString()
    .trim()
    .split('\n');
}
