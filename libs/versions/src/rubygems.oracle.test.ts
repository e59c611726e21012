// RubyGems comparator against Ruby's own Gem::Version (`ruby -e`), on seeded random and edge
// pairs; a version Ruby refuses (Gem::Version.correct? false) must be one we refuse ('E').
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { skipUnless } from '@strata/testing';
import { comparator } from './index.js';
import { answerCounts, disagreements, exceptionPairs, mutator, pairs, pick, pipeOracle, prng } from './testing/index.js';
import { RUBYGEMS } from './testing/vector-exceptions.js';

const rand = prng(0x5eed_6e35);

const NUMBERS = ['0', '1', '2', '9', '10', '01', '00', '20240131', '12345678901234567890123'];
const WORDS = ['a', 'b', 'pre', 'rc', 'beta', 'alpha', 'A', 'RC', 'z', 'x86', 'java', 'dev'];
const SEPARATORS = ['.', '.', '.', '-', ''];

function version(): string {
  let v = pick(rand, NUMBERS);
  const n = Math.floor(rand() * 5);
  for (let i = 0; i < n; i++) v += pick(rand, SEPARATORS) + (rand() < 0.6 ? pick(rand, NUMBERS) : pick(rand, WORDS));
  return v;
}

const mutate = mutator(rand, (m) => [
  m.append(['.0', '.0.0', '.a', '.pre', '-1', '.rc1', '-pre.1', '.1']),
  m.renumber(),
  m.recase(),
  m.replaceOneOf(/[.-]/, ['.', '-', '']),
  m.replaceOneOf(/[a-z]+/i, WORDS),
  m.dropLast,
]);

const EDGES: Array<[string, string]> = [
  ['1.0', '1'],
  ['1.0.0.0', '1'],
  ['1.0.a', '1.0'],
  ['1.0.a', '1.a'],
  ['1.a.0', '1.a'],
  ['1.0-rc1', '1.0.pre.rc1'],
  ['1.0-rc1', '1.0'],
  ['1.0.0.1', '1.0.0'],
  ['1.2.3.4.5.6', '1.2.3.4.5'],
  ['1.0.A', '1.0.a'],
  ['1.0.a10', '1.0.a9'],
  ['1.0.a.10', '1.0.a9'],
  ['1.0.b1', '1.0.a.2'],
  ['3.10', '3.2'],
  ['1beta', '1'],
  ['1.0-', '1.0'],
  ['.1', '0.1'],
  ['1..2', '1.2'],
  ['99999999999999999999999999', '99999999999999999999999998'],
];

/** Gem::Version's answer per pair: '<', '=', '>' or 'E' when Ruby refuses one of the versions. */
function rubyOracle(list: ReadonlyArray<readonly [string, string]>): string[] {
  const script = `
    STDIN.each_line do |line|
      a, b = line.chomp.split("\\t", -1)
      if Gem::Version.correct?(a) && Gem::Version.correct?(b) && !a.empty? && !b.empty?
        puts ["<", "=", ">"][(Gem::Version.new(a) <=> Gem::Version.new(b)) + 1]
      else
        puts "E"
      end
    end`;
  return pipeOracle('ruby', ['-e', script], list);
}

test('rubygems comparator agrees with Ruby Gem::Version', { skip: skipUnless('tool:ruby', 'data') }, (t) => {
  const exceptionLines = exceptionPairs(['rubygems-versions.txt'], RUBYGEMS);
  assert.equal(exceptionLines.length, RUBYGEMS.length);
  const list = pairs(rand, 1500, version, mutate, [...EDGES, ...exceptionLines]);
  const oracle = rubyOracle(list);
  assert.deepEqual(disagreements(comparator('rubygems'), list, oracle), []);
  const gemVersion = execFileSync('ruby', ['-e', 'print Gem::VERSION']).toString();
  t.diagnostic(`${list.length} pairs agree with RubyGems ${gemVersion} ${JSON.stringify(answerCounts(oracle))}`);
});
