// dpkg comparator against the real `dpkg --compare-versions`, on seeded random and edge pairs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { skipUnless } from '@strata/testing';
import { comparator } from './index.js';
import { disagreements, mutator, pairs, pick, pipeOracle, prng } from './testing/index.js';

const rand = prng(0x5eed_d9c6);

const DIGITS = ['0', '1', '2', '9', '10', '01', '00', '007', '20240131', '4294967296', '99999999999999999999'];
const WORDS = ['a', 'b', 'z', 'A', 'Z', 'rc', 'alpha', 'dfsg', 'ubuntu', 'deb', 'git', 'p'];
const SEPARATORS = ['.', '.', '+', '~', '~~', '-', ':'];

function upstream(allowHyphen: boolean, allowColon: boolean): string {
  let s = rand() < 0.03 ? pick(rand, WORDS) : pick(rand, DIGITS); // dpkg only warns about a leading letter
  const n = Math.floor(rand() * 5);
  for (let i = 0; i < n; i++) {
    let sep = pick(rand, SEPARATORS);
    if ((sep === '-' && !allowHyphen) || (sep === ':' && !allowColon)) sep = '.';
    if (rand() < 0.3) sep = ''; // digits and letters right next to each other
    s += sep + (rand() < 0.55 ? pick(rand, DIGITS) : pick(rand, WORDS));
  }
  if (rand() < 0.1) s += pick(rand, ['~', '+', '.', '~rc1']);
  return s;
}

function revision(): string {
  let s = rand() < 0.7 ? pick(rand, DIGITS) : pick(rand, WORDS);
  if (rand() < 0.5) s += pick(rand, ['', '.', '+', '~']) + pick(rand, [...DIGITS, ...WORDS]);
  if (rand() < 0.2) s += pick(rand, ['~deb12u1', '+b1', 'ubuntu0.22.04.1', '~bpo11+1']);
  return s;
}

function version(): string {
  const epoch = rand() < 0.25 ? `${pick(rand, ['0', '1', '2', '10', '01'])}:` : '';
  const hasRevision = rand() < 0.6;
  const up = upstream(hasRevision, epoch !== '');
  return `${epoch}${up}${hasRevision ? `-${revision()}` : ''}`;
}

const mutate = mutator(rand, (m) => [
  (v) => `${v}~`,
  m.append(['.0', '0', 'a', '+1', '~1']),
  m.renumber(),
  m.toggleEpoch(':'),
  (v) => (v.includes('-') ? `${v}0` : `${v}-0`),
  (v) => v.replace(/[a-z]/, (c) => c.toUpperCase()),
  (v) => v.replace(/\./, '~'),
  m.dropLast,
]);

// Edge pairs: policy corner cases and inputs dpkg refuses (our compare must refuse them too).
const EDGES: Array<[string, string]> = [
  ['1.0~rc1', '1.0'],
  ['1.0~~', '1.0~'],
  ['1.0~', '1.0'],
  ['1.0', '1.0+'],
  ['1.0', '1.0.'],
  ['1.0-0', '1.0'],
  ['1:1.0', '2.0'],
  ['0:1.0', '1.0'],
  ['1.0a', '1.0+'],
  ['1.0A', '1.0a'],
  ['1.0-1~bpo1', '1.0-1'],
  ['2:1.0-1', '2:1.0-1+b1'],
  ['00:1', '0:1'],
  ['1.0-', '1.0'], // empty revision: error
  ['1:', '1'], // nothing after the colon: error
  [':1', '1'], // empty epoch: error
  ['a:1', '1'], // epoch not a number: error
  ['-1', '1'], // empty version: error
  ['99999999999:1', '1'], // epoch too big: error
  ['abc', '1'], // does not start with a digit: warning only, still compared
  ['1.0#', '1.0'], // invalid character: warning only
];

/** Runs dpkg on each pair: '<', '=', '>' or 'E' when dpkg reports bad syntax. */
function dpkgOracle(list: ReadonlyArray<readonly [string, string]>): string[] {
  const script = `
    while IFS='\t' read -r a b; do
      dpkg --compare-versions "$a" lt "$b" 2>/dev/null; r=$?
      if [ $r -eq 0 ]; then echo '<'
      elif [ $r -eq 1 ]; then
        if dpkg --compare-versions "$a" eq "$b" 2>/dev/null; then echo '='; else echo '>'; fi
      else echo E; fi
    done`;
  return pipeOracle('sh', ['-c', script], list);
}

test('dpkg comparator agrees with dpkg --compare-versions', { skip: skipUnless('tool:dpkg') }, (t) => {
  const list = pairs(rand, 600, version, mutate, EDGES);
  const oracle = dpkgOracle(list);
  assert.deepEqual(disagreements(comparator('dpkg'), list, oracle), []);
  const refused = oracle.filter((o) => o === 'E').length;
  assert.ok(refused >= 6, 'the edge pairs include versions dpkg refuses');
  const counts = { '<': 0, '=': 0, '>': 0 };
  for (const o of oracle) if (o !== 'E') counts[o as keyof typeof counts]++;
  t.diagnostic(`${list.length} pairs agree with dpkg ${JSON.stringify(counts)}, ${refused} refused by both`);
});
