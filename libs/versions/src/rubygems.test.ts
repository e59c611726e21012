import assert from 'node:assert/strict';
import { test } from 'node:test';
import { comparator } from './index.js';

// Ruby refuses these too (rubygems.oracle.test.ts checks that against Ruby where it runs); this
// part runs everywhere.
test('rubygems: refuses what Gem::Version.correct? refuses', () => {
  const gems = comparator('rubygems');
  for (const v of ['1beta', '.1', '1..2', '1.0-', 'v1.0', '1.0_1', '', '1.0 ']) assert.equal(gems.isValid(v), false, v);
  for (const v of ['1', '1.0.a', '1.0-rc1', '1.0-rc-1.x', '99999999999999999999999999']) assert.equal(gems.isValid(v), true, v);
});
