// Packagist comparator against composer/semver under php (Debian's php-composer-semver): each
// version is normalised with VersionParser::normalize and the pair ordered with Comparator; a
// version normalize() refuses, or a named branch (no order), must be one we refuse ('E').
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { skipUnless } from '@strata/testing';
import { comparator, normalizeComposerVersion } from './index.js';
import { answerCounts, disagreements, mutator, pairs, pick, pipeOracle, prng } from './testing/index.js';

const rand = prng(0x5eed_c0de);
const AUTOLOAD = '/usr/share/php/Composer/Semver/autoload.php';

const NUMBERS = ['0', '1', '2', '9', '10', '01', '00', '2024', '12345', '123456'];
const MODIFIERS = [
  '',
  '',
  '',
  '-beta',
  '-beta2',
  '-beta.2',
  'b1',
  '-alpha1',
  'a',
  '-RC1',
  'rc2',
  '-rc.1',
  '-p1',
  '-pl2',
  '-patch3',
  '-stable',
  '-dev',
  '.x-dev',
  '-beta1-dev',
  'RC',
  '@dev',
  '@beta',
  '+build.5',
  '-foo',
  '-beta.1.2',
];

function version(): string {
  if (rand() < 0.06) return pick(rand, ['dev-main', 'master', '2024-01-15', '20240115', '2024.01.15.1', 'v2024.01']);
  let v = `${rand() < 0.3 ? 'v' : ''}${pick(rand, NUMBERS)}`;
  const n = Math.floor(rand() * 4);
  for (let i = 0; i < n; i++) v += `.${pick(rand, NUMBERS)}`;
  return v + pick(rand, MODIFIERS);
}

const mutate = mutator(rand, (m) => [
  m.append(['.0', '-dev', '1', '-p1', '-RC1']),
  m.renumber(Infinity),
  m.recase(),
  (v) => (v.startsWith('v') ? v.slice(1) : `v${v}`),
  (v) => v.replace(/\.0$/, ''),
  m.dropLast,
]);

const EDGES: Array<[string, string]> = [
  ['v5.4.0', '5.4.0'],
  ['5.4', '5.4.0.0'],
  ['1.0.0-beta.2', '1.0.0-beta2'],
  ['1.0.0-b2', '1.0.0-beta2'],
  ['1.0.0-alpha', '1.0.0-beta'],
  ['1.0.0-RC1', '1.0.0-rc1'],
  ['1.0.0-rc1', '1.0.0'],
  ['1.0.0-p1', '1.0.0'],
  ['1.0.0-pl1', '1.0.0-patch1'],
  ['1.0.0-dev', '1.0.0-alpha'],
  ['1.0.0-stable', '1.0.0'],
  ['1.x-dev', '1.99'],
  ['1.0.x-dev', '1.0.5'],
  ['2.0.0+build1', '2.0.0'],
  ['1.0.0@beta', '1.0.0'],
  ['2024-01-15', '2024-01-16'],
  ['20240115', '2024.01.15'],
  ['dev-main', '1.0.0'],
  ['master', '1.0.0'],
  ['1.0.0.0.0', '1.0.0'],
  ['1.0-foo', '1.0'],
];

/** composer/semver's answer per pair: '<', '=', '>' or 'E' when normalize() refuses one or it is a branch. */
function phpOracle(list: ReadonlyArray<readonly [string, string]>): string[] {
  const script = `
    require '${AUTOLOAD}';
    $p = new Composer\\Semver\\VersionParser();
    $norm = function ($v) use ($p) {
      try { $n = $p->normalize($v); } catch (\\UnexpectedValueException $e) { return null; }
      return strpos($n, 'dev-') === 0 ? null : $n;
    };
    while (($line = fgets(STDIN)) !== false) {
      [$a, $b] = explode("\\t", rtrim($line, "\\n"));
      $x = $norm($a); $y = $norm($b);
      if ($x === null || $y === null) { echo "E\\n"; continue; }
      echo Composer\\Semver\\Comparator::lessThan($x, $y) ? '<' : (Composer\\Semver\\Comparator::equalTo($x, $y) ? '=' : '>'), "\\n";
    }`;
  return pipeOracle('php', ['-r', script], list);
}

const phpSemver = (): string | false =>
  skipUnless('tool:php') || (existsSync(AUTOLOAD) ? false : `composer/semver not installed (${AUTOLOAD}; apt install php-composer-semver)`);

test('packagist comparator agrees with composer/semver', { skip: phpSemver() }, (t) => {
  const list = pairs(rand, 1500, version, mutate, EDGES);
  const oracle = phpOracle(list);
  assert.deepEqual(disagreements(comparator('packagist'), list, oracle), []);
  t.diagnostic(`${list.length} pairs agree with composer/semver ${JSON.stringify(answerCounts(oracle))}`);
});

test('packagist normal forms are composer/semver normalize() output', { skip: phpSemver() }, () => {
  const inputs = ['v5.4.0', '5.4', '1.0.0-beta.2', '2.1-RC1', '1.0-p1', '1.x-dev', '2024-01-15', '1.0.0+build', '3.0.0@dev'];
  const script = `require '${AUTOLOAD}'; $p = new Composer\\Semver\\VersionParser(); foreach (array_slice($argv, 1) as $v) echo $p->normalize($v), "\\n";`;
  const want = execFileSync('php', ['-r', script, '--', ...inputs])
    .toString()
    .trim()
    .split('\n');
  assert.deepEqual(inputs.map(normalizeComposerVersion), want);
});
