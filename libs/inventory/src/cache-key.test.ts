import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { analyzerSetVersion, defaultAnalyzers } from '@strata/analyzers';
import { skipUnless } from '@strata/testing';
import { layerCacheKey } from './cache-key.js';

const DIFF_ID = 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef';

test('cache key: sha256 of diffID + analyzer-set version (sha256sum is the oracle)', { skip: skipUnless('tool:sha256sum') }, () => {
  const version = analyzerSetVersion(defaultAnalyzers());
  const expected = execFileSync('sha256sum', { input: DIFF_ID + version, encoding: 'utf8' }).split(' ')[0];
  assert.equal(layerCacheKey(DIFF_ID, version), expected);
});

test("cache key: bumping one analyzer's version changes the key; order does not", () => {
  const analyzers = defaultAnalyzers();
  const base = layerCacheKey(DIFF_ID, analyzerSetVersion(analyzers));
  assert.equal(layerCacheKey(DIFF_ID, analyzerSetVersion([...analyzers].reverse())), base);
  for (const [i, a] of analyzers.entries()) {
    const bumped = analyzers.map((x, j) => (j === i ? { ...x, version: x.version + 1 } : x));
    assert.notEqual(layerCacheKey(DIFF_ID, analyzerSetVersion(bumped)), base, `bumping ${a.type} kept the key`);
  }
  const fewer = analyzers.slice(1);
  assert.notEqual(layerCacheKey(DIFF_ID, analyzerSetVersion(fewer)), base);
  assert.notEqual(layerCacheKey(DIFF_ID.replace('5f', '6f'), analyzerSetVersion(analyzers)), base);
  assert.throws(() => layerCacheKey('not-a-digest', 'x'), /diffID/);
});
