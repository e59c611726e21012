// Maven comparator against the real ComparableVersion, from the maven-artifact jar of the installed
// Maven (its `main` compares neighbouring arguments), on seeded random and edge pairs, plus the
// vector lines listed as exceptions.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { skipUnless } from '@strata/testing';
import { comparator } from './index.js';
import { answerCounts, disagreements, exceptionPairs, mutator, pairs, pick, prng } from './testing/index.js';
import { MAVEN } from './testing/vector-exceptions.js';

const rand = prng(0x5eed_3a7e);

const NUMBERS = ['0', '1', '2', '9', '10', '01', '00', '20240131', '2147483648', '12345678901234567890'];
const WORDS = [
  'alpha',
  'a',
  'beta',
  'b',
  'milestone',
  'm',
  'rc',
  'cr',
  'snapshot',
  'SNAPSHOT',
  'ga',
  'GA',
  'final',
  'Final',
  'release',
  'RELEASE',
  'sp',
  'foo',
  'x',
  'jre',
  'android',
  'incubating',
  '',
];
const SEPARATORS = ['.', '.', '-', '-', '', '_', '+'];

function version(): string {
  let v = rand() < 0.05 ? pick(rand, WORDS) : pick(rand, NUMBERS);
  const n = Math.floor(rand() * 5);
  for (let i = 0; i < n; i++) v += pick(rand, SEPARATORS) + (rand() < 0.55 ? pick(rand, NUMBERS) : pick(rand, WORDS));
  return v || '1';
}

const mutate = mutator(rand, (m) => [
  m.append(['.0', '-0', '-SNAPSHOT', '-1', '.1', 'a1', '-ga', '.final', '-sp1']),
  m.renumber(),
  m.recase(),
  m.replaceOneOf(/[.-]/, ['.', '-', '']),
  m.replaceOneOf(/[a-z]+/i, WORDS),
  (v) => v.replace(/(\d)([a-z])/i, '$1-$2'),
  m.dropLast,
]);

const EDGES: Array<[string, string]> = [
  ['1.0-alpha-1', '1.0-alpha1'],
  ['1a1', '1-alpha-1'],
  ['1a', '1-alpha'],
  ['1-rc', '1-cr'],
  ['1.0-SNAPSHOT', '1.0'],
  ['1-ga', '1'],
  ['1.final', '1'],
  ['1-release', '1-final'],
  ['1-sp', '1'],
  ['1-sp1', '1-foo'],
  ['1-1', '1.1'],
  ['1-1', '1-ga-1'],
  ['1.0.0', '1'],
  ['1.0-0', '1'],
  ['1.2.3', '1.2.3.0.0.0'],
  ['1.0.x', '1.0-x'],
  ['2147483647', '2147483648'],
  ['999999999999999999', '1000000000000000000'],
  ['1.0000000000.1', '1.5.1'],
  ['1-.1', '1--1'],
  ['.', '-'],
  ['_', '0'],
];

function mavenArtifactJar(): string {
  // Every Maven distribution ships lib/maven-artifact-<version>.jar next to bin/mvn.
  const home = dirname(dirname(realpathSync(execFileSync('sh', ['-c', 'command -v mvn']).toString().trim())));
  const lib = join(home, 'lib');
  const jar = readdirSync(lib).find((f) => /^maven-artifact-.*\.jar$/.test(f));
  if (!jar) throw new Error(`no maven-artifact jar in ${lib}`);
  return join(lib, jar);
}

/** ComparableVersion's answer for each pair, from one JVM. */
function mavenOracle(jar: string, list: ReadonlyArray<readonly [string, string]>): string[] {
  const args = list.flatMap(([a, b]) => [a, b]);
  const out = execFileSync('java', ['-cp', jar, 'org.apache.maven.artifact.versioning.ComparableVersion', ...args], {
    maxBuffer: 64 * 1024 * 1024,
  }).toString();
  // main() prints "   <prev> <op> <next>" for every neighbour; pairs are the 1st, 3rd, 5th... comparison.
  const ops = out
    .split('\n')
    .filter((l) => l.startsWith('   '))
    .map((l) => l.trim().split(' ')[1]!);
  return ops.filter((_, i) => i % 2 === 0).map((op) => (op === '==' ? '=' : op));
}

test('maven comparator agrees with Maven ComparableVersion', { skip: skipUnless('tool:java', 'tool:mvn', 'data') }, (t) => {
  const jar = mavenArtifactJar();
  const exceptionLines = exceptionPairs(['maven-versions-generated.txt', 'maven-versions.txt'], MAVEN);
  assert.equal(exceptionLines.length, MAVEN.length);
  const list = pairs(rand, 800, version, mutate, [...EDGES, ...exceptionLines]);
  const oracle = mavenOracle(jar, list);
  assert.deepEqual(disagreements(comparator('maven'), list, oracle), []);
  t.diagnostic(`${list.length} pairs agree with ${jar.split('/').pop()} ${JSON.stringify(answerCounts(oracle))}`);
});
