// The services (matcher, gateway) read the advisory limits from the same variables as the CLI,
// and the index they open honours them: a record over STRATA_ADVISORY_MAX_RECORD_BYTES is skipped
// with a warning, as `strata image` skips it.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { ADVISORY_LIMIT_ENV, advisoryIndexSource, advisoryLimitsFromEnv } from '@strata/advisories';
import { loadConfig, SettingsError } from '@strata/config';
import { advisoryIndexSettings, advisoryLimitsOf } from './settings.js';

const record = (id: string, pad: number): string =>
  JSON.stringify({
    id,
    modified: '2024-01-01T00:00:00Z',
    details: 'x'.repeat(pad),
    affected: [{ package: { ecosystem: 'npm', name: 'lodash' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '4.17.21' }] }] }],
  });

test('the advisory limit settings are the CLI variables, read the same way', () => {
  const env = {
    STRATA_ADVISORY_MAX_RECORD_BYTES: '1000',
    STRATA_ADVISORY_MAX_ARCHIVE_ENTRIES: '7',
    STRATA_ADVISORY_MAX_ARCHIVE_BYTES: '123456',
    STRATA_ADVISORY_MAX_ARCHIVE_RATIO: '50',
  };
  const limits = advisoryLimitsOf(loadConfig(advisoryIndexSettings, env));
  assert.deepEqual(limits, advisoryLimitsFromEnv(env), 'the same limits as the CLI reads from the same environment');
  assert.deepEqual(limits, { maxRecordBytes: 1000, maxArchiveEntries: 7, maxArchiveBytes: 123456, maxArchiveRatio: 50 });
  for (const key of Object.keys(limits)) assert.ok(ADVISORY_LIMIT_ENV[key as keyof typeof ADVISORY_LIMIT_ENV] in advisoryIndexSettings, key);
  assert.deepEqual(advisoryLimitsOf(loadConfig(advisoryIndexSettings, {})), {}, 'unset: the library defaults');
  assert.throws(
    () => loadConfig(advisoryIndexSettings, { STRATA_ADVISORY_MAX_RECORD_BYTES: '12abc', STRATA_ADVISORY_MAX_ARCHIVE_RATIO: '-1' }),
    (err: unknown) =>
      err instanceof SettingsError &&
      /STRATA_ADVISORY_MAX_RECORD_BYTES must be an integer/.test(err.message) &&
      /STRATA_ADVISORY_MAX_ARCHIVE_RATIO must be >= 0/.test(err.message),
  );
});

test('the index a service opens with those settings skips a record over the record bound, with a warning', async () => {
  const work = mkdtempSync(join(tmpdir(), 'strata-stage-limits-'));
  try {
    const db = join(work, 'db');
    mkdirSync(db);
    writeFileSync(join(db, 'SMALL-1.json'), record('SMALL-1', 10));
    writeFileSync(join(db, 'BIG-1.json'), record('BIG-1', 5000));
    const config = loadConfig(advisoryIndexSettings, { STRATA_CACHE_DIR: join(work, 'cache'), STRATA_ADVISORY_MAX_RECORD_BYTES: '2000' });
    const bounded = await advisoryIndexSource(db, config.STRATA_CACHE_DIR, config.STRATA_DB_RECHECK_MS, advisoryLimitsOf(config))();
    assert.ok(
      bounded.warnings.some((w) => w.path.includes('BIG-1.json')),
      JSON.stringify(bounded.warnings),
    );
    const unbounded = await advisoryIndexSource(db, join(work, 'cache2'), 60_000, advisoryLimitsOf(loadConfig(advisoryIndexSettings, {})))();
    assert.ok(!unbounded.warnings.some((w) => w.path.includes('BIG-1.json')), JSON.stringify(unbounded.warnings));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('a layer-reading service keeps its temp files under <STRATA_CACHE_DIR>/tmp, one folder per service and host', async () => {
  const { hostname } = await import('node:os');
  const { removeStaleLayerTempDirs, LAYER_TEMP_PREFIX } = await import('@strata/analyzers');
  const { existsSync } = await import('node:fs');
  const { serviceCacheDirSettings, serviceTmpRoot } = await import('./settings.js');
  const work = mkdtempSync(join(tmpdir(), 'strata-stage-tmp-'));
  try {
    const config = loadConfig(serviceCacheDirSettings, { STRATA_CACHE_DIR: work });
    const root = serviceTmpRoot(config.STRATA_CACHE_DIR, 'analyzer');
    assert.equal(root, join(work, 'tmp', `analyzer-${hostname()}`));
    // a crashed replica's leftover (a pid that no longer runs) goes at the next start; a live one stays
    mkdirSync(join(root, `${LAYER_TEMP_PREFIX}999999999-x`), { recursive: true });
    mkdirSync(join(root, `${LAYER_TEMP_PREFIX}${process.ppid}-y`), { recursive: true });
    await removeStaleLayerTempDirs(root);
    assert.ok(!existsSync(join(root, `${LAYER_TEMP_PREFIX}999999999-x`)));
    assert.ok(existsSync(join(root, `${LAYER_TEMP_PREFIX}${process.ppid}-y`)));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
