// Comparator.sortKey against compare(): the keys of two versions order (by code point, as SQLite's
// BINARY collation orders UTF-8) exactly as compare() orders the versions, equal keys exactly for
// equal versions. On seeded random versions built from every kind of character run of the scheme,
// on its corner cases, and on the shared vectors; invalid versions have no key.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { skipUnless } from '@strata/testing';
import { comparator, type Comparator } from './index.js';
import { pick, prng, readVectors, vectorFiles } from './testing/index.js';

const dpkg = comparator('dpkg');
const semver = comparator('semver');
const pep440 = comparator('pep440');
const rpm = comparator('rpm');
const apk = comparator('apk');
const go = comparator('go');
const keyOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);

function checkPairs(list: ReadonlyArray<readonly [string, string]>, c: Comparator = dpkg): void {
  const wrong: string[] = [];
  for (const [a, b] of list) {
    const ka = c.sortKey?.(a);
    const kb = c.sortKey?.(b);
    if (!c.isValid(a)) assert.equal(ka, undefined, a);
    if (!c.isValid(b)) assert.equal(kb, undefined, b);
    if (ka === undefined || kb === undefined) continue;
    const want = sign(c.compare(a, b));
    if (keyOrder(ka, kb) !== want) wrong.push(`${a} vs ${b}: compare ${want}, keys ${keyOrder(ka, kb)}`);
  }
  assert.deepEqual(wrong.slice(0, 20), []);
}

const rand = prng(0x50f7_4e75);

/** 40,000 pairs drawn from the versions (seeded). */
function randomPairs(versions: readonly string[]): [string, string][] {
  const list: [string, string][] = [];
  for (let i = 0; i < 40_000; i++) list.push([pick(rand, versions), pick(rand, versions)]);
  return list;
}

/** The shared vectors of one data folder, checked as pairs. */
function vectorTest(scheme: string, dir: string, label: string, c: Comparator): void {
  test(`${scheme} sortKey orders as compare on the shared ${label} vectors`, { skip: skipUnless('data') }, () => {
    const lines = vectorFiles(dir).flatMap(readVectors);
    assert.ok(lines.length > 0);
    checkPairs(
      lines.map((l) => [l.a, l.b] as const),
      c,
    );
  });
}

const RUNS = ['', '.', '+', '~', '~~', '-', ':', 'a', 'b', 'z', 'A', 'Z', 'rc', 'dfsg', 'ubuntu', 'deb', '+b', '.~', '~a', 'a~', '_', '%'];
const DIGITS = ['', '0', '00', '1', '01', '001', '2', '9', '10', '010', '99', '100', '20240131', '99999999999999999999'];

function part(): string {
  let s = '';
  const n = Math.floor(rand() * 5);
  for (let i = 0; i < n; i++) s += pick(rand, RUNS) + pick(rand, DIGITS);
  return s;
}

function version(): string {
  const epoch = rand() < 0.2 ? `${pick(rand, ['0', '00', '1', '2', '10', '01'])}:` : '';
  const up = (rand() < 0.8 ? pick(rand, DIGITS.slice(1)) : '') + part().replace(/:/g, epoch ? ':' : '.');
  const rev = rand() < 0.6 ? `-${part().replace(/[-:]/g, '.') || '0'}` : '';
  return `${epoch}${up || '0'}${rev}`;
}

test('dpkg sortKey orders as compare on seeded random versions, equal exactly when compare says equal', () => {
  const versions = Array.from({ length: 3000 }, version);
  const list = randomPairs(versions);
  // near neighbours: a version against small edits of itself
  for (const v of versions.slice(0, 1000)) for (const tail of ['0', '.0', '~', '~0', 'a', '+', '-0', '.']) list.push([v, `${v}${tail}`]);
  checkPairs(list);
});

test('dpkg sortKey on the policy corner cases; refused versions have none', () => {
  checkPairs([
    ['1.0~rc1', '1.0'],
    ['1.0~~', '1.0~'],
    ['1.0~', '1.0'],
    ['1.0', '1.0+'],
    ['1.0', '1.0.'],
    ['1.0', '1.0.0'],
    ['1.0-0', '1.0'],
    ['1:1.0', '2.0'],
    ['0:1.0', '1.0'],
    ['00:1', '0:1'],
    ['1.0a', '1.0+'],
    ['1.0A', '1.0a'],
    ['1a', '1a0'],
    ['0a', 'a'],
    ['0', '00'],
    ['1.0-1~bpo1', '1.0-1'],
    ['2:1.0-1', '2:1.0-1+b1'],
    ['6.1.76-1', '6.1.76-1+deb12u1'],
    ['1.01', '1.1'],
    ['1.0-', '1.0'],
    ['1:', '1'],
    [':1', '1'],
    ['1.0 x', '1.0'],
  ]);
  assert.equal(dpkg.sortKey?.('1.0-'), undefined);
  assert.equal(dpkg.sortKey?.('é1'), undefined);
});

vectorTest('dpkg', 'debian', 'dpkg', dpkg);

const SEMVER_NUMBERS = ['0', '1', '2', '9', '10', '11', '99', '100', '12345'];
const SEMVER_IDS = ['alpha', 'beta', 'rc', 'RC', 'a', 'b', 'z', 'alpha-1', 'x-y', '0', '1', '2', '10', '01', '007', 'a1', '1a', '9007199254740993'];

function semverVersion(): string {
  const n = (): string => pick(rand, SEMVER_NUMBERS);
  let v = rand() < 0.1 ? `${n()}` : rand() < 0.15 ? `${n()}.${n()}` : `${n()}.${n()}.${n()}`;
  if (rand() < 0.05) v = `v${v}`;
  if (rand() < 0.5) {
    const ids = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => pick(rand, SEMVER_IDS));
    v += `-${ids.join('.')}`;
  }
  if (rand() < 0.2) v += `+build.${n()}`;
  return v;
}

test('semver sortKey orders as compare on seeded random versions (pre-releases, partial versions, build metadata)', () => {
  const versions = Array.from({ length: 2000 }, semverVersion);
  const list = randomPairs(versions);
  checkPairs(list, semver);
  // keys exist for everything valid but a numeric identifier beyond 2^53
  for (const v of versions) if (semver.isValid(v) && !v.includes('9007199254740993')) assert.notEqual(semver.sortKey?.(v), undefined, v);
});

test('semver sortKey on the corner cases; refused versions have none', () => {
  checkPairs(
    [
      ['1.0.0-alpha', '1.0.0'],
      ['1.0.0-alpha', '1.0.0-alpha.1'],
      ['1.0.0-alpha.1', '1.0.0-alpha.beta'],
      ['1.0.0-beta.2', '1.0.0-beta.11'],
      ['1.0.0-rc.1', '1.0.0'],
      ['1.0.0-01', '1.0.0-1'],
      ['1.0.0+build', '1.0.0'],
      ['1.2', '1.2.0'],
      ['0', '0.0.0'],
      ['v1.2.3', '1.2.3'],
      ['1.2.3beta', '1.2.3-beta'],
      ['1.0.0-a-b', '1.0.0-a'],
      ['10.0.0', '9.0.0'],
    ],
    semver,
  );
  assert.equal(semver.sortKey?.('not a version'), undefined);
  assert.equal(semver.sortKey?.('1.2.3.4'), undefined);
});

vectorTest('semver', 'semver', 'semver', semver);

const PEP_RELEASES = ['0', '1', '1.0', '1.0.0', '1.2', '1.2.0', '1.10', '2', '2.0.1', '10.0', '01.2'];
const PEP_SUFFIXES = [
  '',
  '',
  '',
  'a1',
  'a',
  'alpha2',
  'b0',
  'beta',
  'rc1',
  'c1',
  'pre2',
  'preview',
  '.post1',
  '-1',
  '.post',
  'r2',
  '.dev0',
  '.dev3',
  'a1.dev1',
  '.post1.dev2',
  'rc1.post1',
];
const PEP_LOCALS = ['', '', '', '+abc', '+1', '+1.abc', '+abc.1', '+ubuntu-1', '+1e5', '+0x1', '+01', '+local.7.z'];

function pep440Version(): string {
  const epoch = rand() < 0.1 ? `${pick(rand, ['0', '1', '2'])}!` : '';
  return `${rand() < 0.05 ? 'v' : ''}${epoch}${pick(rand, PEP_RELEASES)}${pick(rand, PEP_SUFFIXES)}${pick(rand, PEP_LOCALS)}`;
}

test('pep440 sortKey orders as compare on seeded random versions (epochs, pre/post/dev, local segments)', () => {
  const versions = Array.from({ length: 2000 }, pep440Version);
  const list = randomPairs(versions);
  checkPairs(list, pep440);
  for (const v of versions) if (pep440.isValid(v) && !/\+(1e5|0x1)/.test(v)) assert.notEqual(pep440.sortKey?.(v), undefined, v);
});

vectorTest('pep440', 'pypi', 'PyPI', pep440);

const RPM_SEGMENTS = ['0', '00', '1', '01', '2', '10', '9', '123', 'a', 'b', 'el', 'el9', 'fc', 'Z', 'rc', 'git', '~', '~~', '^', '^post', '~rc1', 'é'];
const RPM_SEPARATORS = ['.', '.', '', '_', '+', '-', '..'];

function rpmPart(): string {
  let s = pick(rand, RPM_SEGMENTS);
  const n = Math.floor(rand() * 4);
  for (let i = 0; i < n; i++) s += pick(rand, RPM_SEPARATORS).replace('-', '.') + pick(rand, RPM_SEGMENTS);
  return s;
}

function rpmVersion(): string {
  const epoch = rand() < 0.2 ? `${pick(rand, ['0', '1', '2', '01', '10'])}:` : '';
  return `${epoch}${rpmPart()}${rand() < 0.6 ? `-${rpmPart()}` : ''}`;
}

test('rpm sortKey orders as compare on seeded random versions (~, ^, separators, epochs, releases)', () => {
  const versions = Array.from({ length: 2000 }, rpmVersion);
  const list = randomPairs(versions);
  for (const v of versions.slice(0, 500)) for (const tail of ['~', '^', '.0', '0', 'a', '-1', '.']) list.push([v, `${v}${tail}`]);
  checkPairs(list, rpm);
  for (const v of versions) assert.notEqual(rpm.sortKey?.(v), undefined, v);
});

vectorTest('rpm', 'redhat', 'Red Hat', rpm);

const APK_PARTS = ['0', '00', '1', '01', '2', '10', '9', '012', '123'];

function apkVersion(): string {
  let v = pick(rand, APK_PARTS.slice(2));
  const n = Math.floor(rand() * 3);
  for (let i = 0; i < n; i++) v += `.${pick(rand, APK_PARTS)}`;
  if (rand() < 0.15) v += pick(rand, ['a', 'b', 'z']);
  const suffixes = Math.floor(rand() * 2.5);
  for (let i = 0; i < suffixes; i++)
    v += `_${pick(rand, ['alpha', 'beta', 'pre', 'rc', 'cvs', 'svn', 'git', 'hg', 'p'])}${rand() < 0.6 ? pick(rand, APK_PARTS) : ''}`;
  if (rand() < 0.7) v += `-r${pick(rand, APK_PARTS)}`;
  if (rand() < 0.03) v += pick(rand, ['x', '_unknown1', '.', '-']);
  return v;
}

test('apk sortKey orders as compare on seeded random versions (leading zeros, letters, suffixes, revisions)', () => {
  const versions = Array.from({ length: 2000 }, apkVersion);
  const list = randomPairs(versions);
  for (const v of versions.slice(0, 500)) for (const tail of ['.0', '0', 'a', '_rc1', '_p1', '-r1', '.01']) list.push([v, `${v}${tail}`]);
  checkPairs(list, apk);
  const keyed = versions.filter((v) => apk.sortKey?.(v) !== undefined).length;
  assert.ok(keyed > versions.length * 0.9, `${keyed} of ${versions.length} have a key`);
});

vectorTest('apk', 'alpine', 'Alpine', apk);

function goVersion(): string {
  const n = (): string => pick(rand, ['0', '1', '2', '9', '10', '21', '123']);
  switch (Math.floor(rand() * 6)) {
    case 0:
      return `go${n()}.${n()}${rand() < 0.5 ? `.${n()}` : ''}${rand() < 0.3 ? `${pick(rand, ['alpha', 'beta', 'rc'])}${n()}` : ''}`;
    case 1:
      return `v0.0.0-2021010${Math.floor(rand() * 9)}000000-abcdef12345${Math.floor(rand() * 9)}`;
    case 2:
      return `v${n()}.${n()}.${n()}-0.2021${n()}-abc${rand() < 0.5 ? '+incompatible' : ''}`;
    case 3:
      return rand() < 0.5 ? `v${n()}` : `v${n()}.${n()}`;
    default:
      return `${rand() < 0.5 ? 'v' : ''}${n()}.${n()}.${n()}${rand() < 0.4 ? `-${pick(rand, ['rc.1', 'rc.2', 'beta', 'alpha.10', 'pre.0.1'])}` : ''}${rand() < 0.1 ? '+incompatible' : ''}`;
  }
}

test('go sortKey orders as compare on seeded random module, pseudo- and toolchain versions', () => {
  const versions = Array.from({ length: 2000 }, goVersion);
  const list = randomPairs(versions);
  checkPairs(list, go);
  const keyed = versions.filter((v) => go.sortKey?.(v) !== undefined).length;
  assert.ok(keyed > versions.length * 0.9, `${keyed} of ${versions.length} have a key`);
});
