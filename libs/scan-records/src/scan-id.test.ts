// One scan-id rule for every writer and reader of scan records (fetcher, gateway), checked against
// the filesystem store: every accepted id names exactly one record file, every refused one cannot.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { ScanStage } from '@strata/contracts';
import { createFsBlobStore } from '@strata/blobstore';
import { advanceScanRecord, isValidScanId, stageRank, type StageName } from './records.js';

test('accepted scan ids each name one record file in scans/; refused ones are the unsafe or oversized', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-scan-id-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = await createFsBlobStore({ root: dir });
  const good = ['0b7c3c4e-6a4d-4d52-9f0e-2f1a7d3c9b11', 'ci.build-42', 'x', 'a:b_c.d-e', 'A'.repeat(128)];
  for (const scanId of good) {
    assert.ok(isValidScanId(scanId), scanId);
    await advanceScanRecord(store, { scanId, imageRef: 'r' }, { status: 'QUEUED' });
  }
  assert.deepEqual(readdirSync(join(dir, 'scans')).sort(), good.map((id) => `${id}.json`).sort());
  for (const bad of ['', '../x', 'a/b', '.hidden', '-dash', 'sp ace', 'A'.repeat(129), 'é', 'a\u0000b']) assert.ok(!isValidScanId(bad), JSON.stringify(bad));
});

test('stage ranks follow the ScanStage enum, SUBMIT first and REPORT last', () => {
  const names = Object.keys(ScanStage).filter((k) => Number.isNaN(Number(k)) && k !== 'UNSPECIFIED') as StageName[];
  const ranked = [...names].sort((a, b) => stageRank(a) - stageRank(b));
  assert.deepEqual(ranked, ['SUBMIT', 'RESOLVE', 'FETCH', 'ANALYZE', 'MERGE', 'MATCH', 'REPORT']);
  assert.ok(stageRank(undefined) < stageRank('SUBMIT'));
});
