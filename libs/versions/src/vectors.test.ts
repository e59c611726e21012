// Every `*-versions*.txt` vector file in shared/data/versions (osv-scalibr's test data), checked in
// both directions. Lines where the vector file disagrees with the real tool are listed below with
// the reason; each of them must still disagree (so a change of behaviour is noticed), and every
// other line must agree.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { skipUnless } from '@strata/testing';
import { comparator, type VersionScheme } from './index.js';
import { mismatches, ours, readVectors, vectorFiles, versionsDir, type VectorLine } from './testing/index.js';
import { ALPINE, MAVEN, NUGET, pypiExceptions, RUBYGEMS, SEMVER, type Exception } from './testing/vector-exceptions.js';

const SUITES: Array<{ prefix: string; scheme: VersionScheme; exceptions: (lines: VectorLine[]) => Exception[] }> = [
  { prefix: 'alpine', scheme: 'apk', exceptions: () => ALPINE },
  { prefix: 'debian', scheme: 'dpkg', exceptions: () => [] },
  { prefix: 'redhat', scheme: 'rpm', exceptions: () => [] },
  { prefix: 'semver', scheme: 'semver', exceptions: () => SEMVER },
  // Go has no vector file upstream: Go versions are semver, with or without the "v" (see README).
  { prefix: 'semver', scheme: 'go', exceptions: () => SEMVER },
  { prefix: 'pypi', scheme: 'pep440', exceptions: pypiExceptions },
  { prefix: 'maven', scheme: 'maven', exceptions: () => MAVEN },
  { prefix: 'rubygems', scheme: 'rubygems', exceptions: () => RUBYGEMS },
  // NuGet has no oracle here (no .NET SDK in Debian): these vectors and nuget.test.ts are its checks.
  { prefix: 'nuget', scheme: 'nuget', exceptions: () => NUGET },
];

for (const { prefix, scheme, exceptions } of SUITES) {
  test(`${prefix} vectors with the ${scheme} comparator`, { skip: skipUnless('data') }, (t) => {
    const c = comparator(scheme);
    const files = vectorFiles(prefix);
    assert.ok(files.length > 0, `no ${prefix}-versions*.txt in ${versionsDir()}`);
    const lines = files.flatMap(readVectors);
    const expected = new Map(exceptions(lines).map((e) => [e.at, e]));
    const regular = lines.filter((l) => !expected.has(`${l.file}:${l.line}`));
    assert.deepEqual(mismatches(c, regular), []);

    for (const e of expected.values()) {
      const line = lines.find((l) => `${l.file}:${l.line}` === e.at);
      assert.ok(line, `exception ${e.at} names no vector line`);
      assert.equal(ours(c, line.a, line.b), e.ours, `${e.at} ${line.a} ${line.op} ${line.b}: ${e.reason}`);
    }
    t.diagnostic(
      `${files.map((f) => f.split('/').pop()).join(', ')}: ${regular.length} lines agree in both directions, ` + `${expected.size} documented exceptions`,
    );
  });
}

test('alpine: real `apk version -t` answers (apk-tools 2.14.4, Alpine 3.20.3)', { skip: skipUnless('data') }, (t) => {
  // No Alpine rootfs with an apk binary is available here (Debian ships no apk-tools), so apk has
  // no live oracle; these 63 pairs were produced by the real apk and are the next best thing.
  const lines = readVectors(join(versionsDir(), 'alpine-apk-oracle-3.20.3.txt'));
  assert.equal(lines.length, 63);
  assert.deepEqual(mismatches(comparator('apk'), lines), []);
  t.diagnostic(`${lines.length} apk oracle pairs agree`);
});
