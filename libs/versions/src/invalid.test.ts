// Versions each comparator refuses: isValid() is false and compare() throws InvalidVersionError
// (naming the scheme and the version) whichever side the version is on. The tool-derived cases
// (dpkg errors, rpm's empty version, Python's InvalidVersion) are also confirmed by the oracle tests.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { skipUnless } from '@strata/testing';
import { comparator, InvalidVersionError, type VersionScheme } from './index.js';
import { readVectors, vectorFiles } from './testing/index.js';

// Refused by every scheme: nothing to compare, or text that is not a version token.
const EVERYWHERE = ['', ' ', '1.0 ', ' 1.0', '1.0\t1', '1.0\n', '1\u00000'];

const INVALID: Record<VersionScheme, string[]> = {
  // dpkg errors (not its mere warnings), and non-ASCII, which dpkg orders per platform
  dpkg: ['1.0-', '1:', ':1', 'a:1', '-1', '1:-1', '99999999999:1', '1.0\u00e9'],
  // apk orders any other string, as `apk version -t` does
  apk: [],
  // rpm.vercmp refuses only the empty version
  rpm: [],
  semver: ['abc', '1.2.3.4', '1..2', 'v', '^1.2.3', '1.2.x', '>=1.0.0', '12345678901234567.0.0', '1.2.3+'],
  go: ['v1.2.3.4', '1.02.3', 'v1.2.3-01', 'v1.2-pre', 'devel', 'go', 'latest', 'go1.21.3-bigcorp', 'v1.2.3beta'],
  pep440: ['abc', '1.0-foo', '1.0+', '1.0.', '0.9-doduo', 'trunk', '1.0.10000000000000000', '1!', 'v'],
  // Maven orders any ASCII string
  maven: ['1.0\u00e9', '\u0661.0'],
  // Gem::Version.correct? false (checked against Ruby in rubygems.oracle.test.ts)
  rubygems: ['1beta', '.1', '1..2', '1.0-', 'v1.0', '1.0_1', 'a'],
  // VersionParser::normalize refuses, or a branch without an order (packagist.oracle.test.ts)
  packagist: ['abc', 'dev-main', 'master', '1.0.0.0.0', '1.0-foo', 'v', 'x.1'],
  // NuGet.Versioning refuses
  nuget: ['v1.0.0', '1.0.0.0.0', '1..0', '1.0-', '2147483648.0', '1.0.0-bet@', 'abc'],
};

for (const [scheme, samples] of Object.entries(INVALID) as Array<[VersionScheme, string[]]>) {
  test(`${scheme}: refused versions`, () => {
    const c = comparator(scheme);
    for (const v of [...EVERYWHERE, ...samples]) {
      assert.equal(c.isValid(v), false, `${scheme} isValid(${JSON.stringify(v)})`);
      for (const [a, b] of [
        [v, '1.0'],
        ['1.0', v],
      ] as const) {
        assert.throws(
          () => c.compare(a, b),
          (e: unknown) =>
            e instanceof InvalidVersionError && e.scheme === scheme && e.version === v && e.message.includes(scheme) && e.message.includes(JSON.stringify(v)),
          `${scheme} compare(${JSON.stringify(a)}, ${JSON.stringify(b)})`,
        );
      }
    }
  });
}

const VECTOR_PREFIX: Array<[VersionScheme, string]> = [
  ['apk', 'alpine'],
  ['dpkg', 'debian'],
  ['rpm', 'redhat'],
  ['semver', 'semver'],
  ['go', 'semver'],
  ['pep440', 'pypi'],
  ['maven', 'maven'],
];

for (const [scheme, prefix] of VECTOR_PREFIX) {
  test(`${scheme}: isValid(v) is exactly "compare accepts v" on every vector version`, { skip: skipUnless('data') }, (t) => {
    const c = comparator(scheme);
    const versions = new Set(
      vectorFiles(prefix)
        .flatMap(readVectors)
        .flatMap((l) => [l.a, l.b]),
    );
    let valid = 0;
    for (const v of versions) {
      let accepted = true;
      try {
        c.compare(v, v);
      } catch (e) {
        assert.ok(e instanceof InvalidVersionError, `${v}: ${String(e)}`);
        accepted = false;
      }
      assert.equal(c.isValid(v), accepted, v);
      if (accepted) valid++;
    }
    t.diagnostic(`${versions.size} distinct versions, ${valid} valid`);
  });
}
