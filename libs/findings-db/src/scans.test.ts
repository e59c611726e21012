// Scan records in the findings DB (strata.scans) against the real PostgreSQL of infra/local: the
// same contract as the blob store's scans/<id>.json (forward only, first terminal status wins,
// conditional on the revision read), one fresh database per run.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { skipUnless, uniqueName } from '@strata/testing';
import { scanRecordStoreContract } from '@strata/scan-records/testing';
import type { ScanRecordStore } from '@strata/scan-records';
import { pgScanRecords, type FindingsDb } from './index.js';
import { useTestFindingsDb } from './testing.js';

const skip = skipUnless('postgres');
let db: FindingsDb;
useTestFindingsDb(skip, (opened) => (db = opened));

describe('scan records in PostgreSQL', { skip }, () => {
  // Every test gets scan ids of its own (the contract names its scans with fixed ids).
  scanRecordStoreContract(async () => {
    const records = pgScanRecords(db);
    const prefix = `${uniqueName('t')}-`;
    const unscoped = <T extends { scanId: string } | undefined>(record: T): T => (record ? { ...record, scanId: record.scanId.slice(prefix.length) } : record);
    const scoped: ScanRecordStore = {
      location: records.location,
      read: async (scanId) => unscoped(await records.read(prefix + scanId)),
      advance: async (scan, update, options) => {
        const { record, written } = await records.advance({ ...scan, scanId: prefix + scan.scanId }, update, {
          ...(options?.beforeWrite ? { beforeWrite: (current) => options.beforeWrite!(unscoped(current)) } : {}),
        });
        return { record: unscoped(record), written };
      },
    };
    return scoped;
  });
});

test('a NUL in a reference or an error reason (hostile registry text) does not stop a scan from failing', { skip }, async () => {
  const records = pgScanRecords(db);
  const scan = { scanId: uniqueName('nul'), imageRef: 'evil/\u0000image:1' };
  assert.equal((await records.advance(scan, { status: 'QUEUED', stage: 'SUBMIT' })).written, true);
  const failed = await records.advance(scan, {
    status: 'FAILED',
    stage: 'FETCH',
    error: { stage: 'FETCH', code: 'UNAVAILABLE', reason: 'registry said \u0000oops' },
  });
  assert.equal(failed.written, true);
  const stored = await records.read(scan.scanId);
  assert.equal(stored?.status, 'FAILED');
  assert.equal(stored?.error?.reason, 'registry said \uFFFDoops');
  const { rows } = await db.pool.query<{ image_ref: string; error_reason: string }>('select image_ref, error_reason from strata.scans where scan_id = $1', [
    scan.scanId,
  ]);
  assert.deepEqual(rows[0], { image_ref: 'evil/\uFFFDimage:1', error_reason: 'registry said \uFFFDoops' });
});
