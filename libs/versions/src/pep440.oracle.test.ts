// PEP 440 comparator against Python's `packaging.version` (one python process for all pairs), on
// seeded random and edge pairs, plus the legacy versions the vector test expects us to refuse.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { skipUnless } from '@strata/testing';
import { comparator } from './index.js';
import { answerCounts, disagreements, mutator, pairs, pick, pipeOracle, prng } from './testing/index.js';
import { LEGACY_PYPI } from './testing/vector-exceptions.js';

const rand = prng(0x5eed_0440);

const NUMBERS = ['0', '1', '2', '9', '10', '01', '00', '2024', '999999999999999'];
const PRE = ['a', 'b', 'c', 'rc', 'alpha', 'beta', 'pre', 'preview', 'A', 'RC'];
const POST = ['post', 'rev', 'r', 'POST'];
const SEP = ['', '.', '-', '_'];

function release(): string {
  const n = 1 + Math.floor(rand() * 4);
  return Array.from({ length: n }, () => pick(rand, NUMBERS)).join('.');
}

function version(): string {
  let v = rand() < 0.1 ? pick(rand, ['v', 'V']) : '';
  if (rand() < 0.15) v += `${pick(rand, ['0', '1', '2'])}!`;
  v += release();
  if (rand() < 0.35) v += pick(rand, SEP) + pick(rand, PRE) + (rand() < 0.8 ? pick(rand, SEP) + pick(rand, NUMBERS) : '');
  if (rand() < 0.25) {
    v += rand() < 0.2 ? `-${pick(rand, NUMBERS)}` : pick(rand, SEP) + pick(rand, POST) + (rand() < 0.8 ? pick(rand, SEP) + pick(rand, NUMBERS) : '');
  }
  if (rand() < 0.25) v += `${pick(rand, SEP)}${pick(rand, ['dev', 'DEV'])}${rand() < 0.8 ? pick(rand, NUMBERS) : ''}`;
  if (rand() < 0.2) {
    const n = 1 + Math.floor(rand() * 3);
    v += `+${Array.from({ length: n }, () => pick(rand, ['1', '01', 'abc', 'ubuntu', 'x2', '0'])).join(pick(rand, ['.', '-', '_']))}`;
  }
  return v;
}

const mutate = mutator(rand, (m) => [
  m.append(['.0', '.dev0', 'a1', '.post1', '+local', '-1']),
  m.renumber(Infinity),
  (v) => v.toUpperCase(),
  m.replaceOneOf(/[._-]/, ['.', '_', '-', '']),
  (v) => v.replace(/\+.*$/, ''),
  m.toggleEpoch('!'),
  m.replaceOneOf(/(a|b|c|rc|alpha|beta|pre|preview)(?=[._-]?\d|$)/i, PRE),
  m.dropLast,
]);

const EDGES: Array<[string, string]> = [
  ['1.0.dev0', '1.0a0'],
  ['1.0a0.dev0', '1.0a0'],
  ['1.0.post0.dev0', '1.0'],
  ['1.0', '1.0+local'],
  ['1.0+local.1', '1.0+local.a'],
  ['1.0+1', '1.0+01'],
  ['1!0.1', '2.0'],
  ['1.0-1', '1.0.post1'],
  ['1.0c1', '1.0rc1'],
  ['1.0preview1', '1.0rc1'],
  ['v1.0', '1.0'],
  ['1.0.0.0.0', '1'],
  ['1.0-foo', '1.0'], // invalid
  ['1.0+', '1.0'], // invalid
  ['1.0.', '1.0'], // invalid
  ['abc', '1.0'], // invalid
];

/** Python packaging's answer for each pair: '<', '=', '>' or 'E' (InvalidVersion). */
function pythonOracle(list: ReadonlyArray<readonly [string, string]>): string[] {
  const program = [
    'import sys',
    'from packaging.version import Version, InvalidVersion',
    'for line in sys.stdin.read().split("\\n")[:-1]:',
    '    a, b = line.split("\\t")',
    '    try:',
    '        x, y = Version(a), Version(b)',
    '    except InvalidVersion:',
    '        print("E"); continue',
    '    print("<" if x < y else ">" if x > y else "=")',
  ].join('\n');
  return pipeOracle('python3', ['-c', program], list);
}

// Numbers of 16 digits or more are refused by design (see pep440.ts): the library would compare
// them inexactly. Pairs with one are checked to be refused, not compared with Python.
const hasHugeNumber = (v: string): boolean => /\d{16,}/.test(v.replace(/(^|\D)0+(?=\d)/g, '$1'));

test('pep440 comparator agrees with Python packaging.version', { skip: skipUnless('tool:python3') }, (t) => {
  const all = pairs(rand, 800, version, mutate, EDGES);
  const huge = all.filter(([a, b]) => hasHugeNumber(a) || hasHugeNumber(b));
  const list = all.filter((p) => !huge.includes(p));
  const oracle = pythonOracle(list);
  assert.deepEqual(disagreements(comparator('pep440'), list, oracle), []);
  assert.deepEqual(
    disagreements(
      comparator('pep440'),
      huge,
      huge.map(() => 'E'),
    ),
    [],
  );
  const counts = answerCounts(oracle);
  assert.ok((counts.E ?? 0) >= 4, 'the edge pairs include versions packaging refuses');
  const packaging = execFileSync('python3', ['-c', 'import packaging; print(packaging.__version__)']).toString().trim();
  t.diagnostic(`${list.length} pairs agree with packaging ${packaging} ${JSON.stringify(counts)}; ${huge.length} with 16+ digit numbers refused`);
});

test('the legacy PyPI versions listed as vector exceptions are refused by packaging too', { skip: skipUnless('tool:python3') }, () => {
  const list = LEGACY_PYPI.map((v) => [v, '1.0'] as const);
  assert.deepEqual(
    pythonOracle(list),
    list.map(() => 'E'),
  );
  assert.deepEqual(
    disagreements(
      comparator('pep440'),
      list,
      list.map(() => 'E'),
    ),
    [],
  );
});
