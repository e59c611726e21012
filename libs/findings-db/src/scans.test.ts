// Scan records in the findings DB (strata.scans) against the real PostgreSQL of infra/local: the
// same contract as the blob store's scans/<id>.json (forward only, first terminal status wins,
// conditional on the revision read), one fresh database per run.
import { describe } from 'node:test';
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
