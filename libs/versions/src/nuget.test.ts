// NuGet has no oracle on this machine (Debian ships no .NET SDK): these cases restate the ordering
// NuGet documents (docs.microsoft.com "Package versioning": version precedence) on top of
// osv-scalibr's nuget vectors (vectors.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { comparator } from './index.js';
import { opOf } from './testing/index.js';

const nuget = comparator('nuget');

test('nuget: four-part versions, missing parts are zero, leading zeros ignored', () => {
  const cases: Array<[string, '<' | '=' | '>', string]> = [
    ['1.0', '=', '1.0.0.0'],
    ['1', '=', '1.0.0'],
    ['1.0.0.1', '>', '1.0.0'],
    ['1.0.01', '=', '1.0.1'],
    ['4.0.0.0', '<', '4.0.0.10'],
    ['2147483647.0', '>', '2147483646.9.9.9'],
  ];
  for (const [a, op, b] of cases) assert.equal(opOf(nuget.compare(a, b)), op, `${a} ${op} ${b}`);
});

test('nuget: pre-release labels, case-insensitive, numeric below alphanumeric, metadata ignored', () => {
  const cases: Array<[string, '<' | '=' | '>', string]> = [
    ['1.0.0-alpha', '<', '1.0.0'],
    ['1.0.0-ALPHA', '=', '1.0.0-alpha'],
    ['1.0.0-alpha', '<', '1.0.0-alpha.1'],
    ['1.0.0-alpha.1', '<', '1.0.0-alpha.beta'],
    ['1.0.0-beta.2', '<', '1.0.0-beta.11'],
    ['1.0.0-rc.1', '>', '1.0.0-beta.11'],
    ['1.0.0-beta.01', '=', '1.0.0-beta.1'],
    ['1.0.0+build.1', '=', '1.0.0+other'],
    ['1.0.0-a+x', '<', '1.0.0+x'],
    ['1.0.0.1-rc', '>', '1.0.0'],
    ['1.0.0-2147483648', '>', '1.0.0-9'], // beyond an int: compared as text, after any number
  ];
  for (const [a, op, b] of cases) assert.equal(opOf(nuget.compare(a, b)), op, `${a} ${op} ${b}`);
});

test('nuget: refuses what NuGet.Versioning cannot parse', () => {
  for (const v of ['v1.0.0', '1.0.0.0.0', '1..0', '1.0-', '1.0.0-beta..1', '1.0.0-bet@', '2147483648.0', '', ' 1.0', '1.0.0+']) {
    assert.equal(nuget.isValid(v), false, v);
    assert.throws(() => nuget.compare(v, '1.0'), { name: 'InvalidVersionError' });
  }
});
