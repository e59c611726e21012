// Scan records only move forward, whatever order the stages' writes arrive in.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { createFsBlobStore } from '@strata/blobstore';
import { advanceScanRecord, inventoryKey, readScanRecord, reportKey } from './records.js';

test('a scan record advances by status then stage, and the first terminal status wins', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-records-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = await createFsBlobStore({ root: dir });
  t.after(() => store.close());
  const scan = { scanId: 'scan-1', imageRef: 'r/a:1', traceId: 't-1' };

  assert.equal((await advanceScanRecord(store, scan, { status: 'QUEUED', stage: 'SUBMIT' })).written, true);
  assert.equal((await advanceScanRecord(store, scan, { status: 'RUNNING', stage: 'RESOLVE' })).written, true);
  assert.equal((await advanceScanRecord(store, scan, { status: 'RUNNING', stage: 'FETCH', manifestDigest: 'sha256:m' })).written, true);
  // a redelivered request would put it back to RESOLVE: dropped
  assert.equal((await advanceScanRecord(store, scan, { status: 'RUNNING', stage: 'RESOLVE' })).written, false);
  assert.equal((await advanceScanRecord(store, scan, { status: 'QUEUED' })).written, false);
  const failed = await advanceScanRecord(store, scan, { status: 'FAILED', stage: 'ANALYZE', error: { stage: 'ANALYZE', code: 'INTERNAL', reason: 'bad layer' } });
  assert.equal(failed.written, true);
  // a later completion (or a second failure) does not overwrite the first terminal status
  assert.equal((await advanceScanRecord(store, scan, { status: 'COMPLETED', stage: 'MATCH' })).written, false);
  assert.equal((await advanceScanRecord(store, scan, { status: 'FAILED', stage: 'MERGE', error: { stage: 'MERGE', code: 'INTERNAL', reason: 'other' } })).written, false);

  const record = await readScanRecord(store, 'scan-1');
  assert.equal(record?.status, 'FAILED');
  assert.equal(record?.error?.reason, 'bad layer');
  assert.equal(record?.manifestDigest, 'sha256:m', 'fields of earlier writes are kept');
  assert.equal(record?.traceId, 't-1');
  assert.ok(record?.createdAt && record.updatedAt >= record.createdAt);
});

test('document keys are valid store keys', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-records-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = await createFsBlobStore({ root: dir });
  t.after(() => store.close());
  const digest = `sha256:${'a'.repeat(64)}`;
  for (const key of [inventoryKey(digest, 'framework@1;dpkg@2;npm@1'), reportKey(digest, `sha256:${'b'.repeat(64)}`)]) {
    await store.putObject(key, '{}');
    assert.equal(await store.exists(key), true, key);
  }
});
