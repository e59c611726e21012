// rpm comparator against rpm's own rpm.vercmp (rpm 4.16+: epoch, version, release), through the
// embedded Lua of `rpm --eval`, on seeded random and edge pairs.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { skipUnless } from '@strata/testing';
import { comparator } from './index.js';
import { answerCounts, disagreements, mutator, pairs, pick, prng } from './testing/index.js';

const rand = prng(0x5eed_0e1a);

const DIGITS = ['0', '1', '2', '9', '10', '01', '000', '20240131', '4294967296', '123456789012345678901234567890'];
const WORDS = ['a', 'b', 'z', 'A', 'Z', 'el', 'el9', 'fc40', 'rc', 'git', 'beta', 'module', 'α'];
const SEPARATORS = ['.', '.', '_', '+', '~', '^', '', '..', '%', ':'];

function part(): string {
  let s = rand() < 0.85 ? pick(rand, DIGITS) : pick(rand, WORDS);
  const n = Math.floor(rand() * 5);
  for (let i = 0; i < n; i++) s += pick(rand, SEPARATORS) + (rand() < 0.55 ? pick(rand, DIGITS) : pick(rand, WORDS));
  if (rand() < 0.1) s += pick(rand, ['~', '^', '.', '~rc1', '^git1']);
  return s;
}

function version(): string {
  const epoch = rand() < 0.25 ? `${pick(rand, ['', '0', '1', '2', '10', '01'])}:` : '';
  const release = rand() < 0.7 ? `-${part()}` : '';
  return `${epoch}${part()}${release}`;
}

const mutate = mutator(rand, (m) => [
  m.append(['~', '^', '~1', '^1']),
  m.append(['.0', '0', 'a', '.1', '-1', '-']),
  m.renumber(),
  m.toggleEpoch(':'),
  m.replaceOneOf(/[.~^_]/, ['.', '~', '^', '_', '']),
  (v) => v.replace(/-[^-]*$/, ''),
  (v) => v.replace(/[a-z]/, (c) => c.toUpperCase()),
  m.dropLast,
]);

const EDGES: Array<[string, string]> = [
  ['1.0~rc1', '1.0'],
  ['1.0^', '1.0'],
  ['1.0^git1', '1.0.1'],
  ['1.0~rc1^git1', '1.0~rc1'],
  ['1.0', '1.0-1'], // a missing release sorts first
  ['1.0-', '1.0'],
  ['1:1.0', '2.0'],
  [':1.0', '0:1.0'],
  ['a:1', 'b:1'], // not an epoch: part of the version
  ['1.0-1-2', '1.0-1'], // the release starts after the last '-'
  ['1.0.α', '1.0.β'], // non-ASCII characters are separators
  ['1..0', '1.0'],
  ['010', '10'],
  ['1a', '1.a'],
  ['2.0', '2.0a'],
];

/** Runs rpm.vercmp on each pair: '<', '=', '>' or 'E' when rpm refuses a version. */
function rpmOracle(list: ReadonlyArray<readonly [string, string]>): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'strata-rpm-oracle-'));
  try {
    const file = join(dir, 'pairs.tsv');
    writeFileSync(file, list.map(([a, b]) => `${a}\t${b}\n`).join(''));
    // Lua reads the pairs from the file, so no version is ever quoted or macro-expanded.
    const lua =
      `for line in io.lines(${JSON.stringify(file)}) do ` +
      `local a, b = line:match("^(.-)\\t(.*)$") ` +
      `local ok, r = pcall(rpm.vercmp, a, b) ` +
      `io.write(ok and (r < 0 and "<" or r > 0 and ">" or "=") or "E", "\\n") end`;
    return execFileSync('rpm', ['--eval', `%{lua: ${lua}}`])
      .toString()
      .trim()
      .split('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('rpm comparator agrees with rpm.vercmp', { skip: skipUnless('tool:rpm') }, (t) => {
  const list = pairs(rand, 800, version, mutate, EDGES);
  const oracle = rpmOracle(list);
  assert.deepEqual(disagreements(comparator('rpm'), list, oracle), []);
  t.diagnostic(`${list.length} pairs agree with rpm.vercmp ${JSON.stringify(answerCounts(oracle))}`);
});

test('rpm refuses an empty version, and so do we', { skip: skipUnless('tool:rpm') }, () => {
  assert.deepEqual(rpmOracle([['', '1']]), ['E']);
  assert.deepEqual(disagreements(comparator('rpm'), [['', '1']], ['E']), []);
});
