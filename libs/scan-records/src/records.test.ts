// Scan records only move forward, whatever order the stages' writes arrive in, and however
// writers race: the write is conditional on what was read (filesystem store and real MinIO).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { describe } from 'node:test';
import { Client } from 'minio';
import { createFsBlobStore, createS3BlobStore, type BlobStore } from '@strata/blobstore';
import { infra, skipUnless, uniqueName } from '@strata/testing';
import { RACING_UPDATES, raceWriters, scanRecordStoreContract } from './testing.js';
import {
  advanceScanRecord,
  advancesRecord,
  blobScanRecords,
  inventoryKey,
  readScanRecord,
  reportKey,
  scanRecordKey,
  type ScanRecord,
  type StageName,
} from './records.js';

type StoreFactory = (t: test.TestContext) => Promise<BlobStore>;

const fsStore: StoreFactory = async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-records-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = await createFsBlobStore({ root: dir });
  t.after(() => store.close());
  return store;
};

const s3 = infra.s3();
const s3Store: StoreFactory = async (t) => {
  const bucket = uniqueName('strata-records').toLowerCase();
  const store = await createS3BlobStore({ ...s3!, bucket });
  t.after(async () => {
    await store.close();
    const client = new Client(s3!);
    const names: string[] = [];
    for await (const item of client.listObjectsV2(bucket, '', true) as AsyncIterable<{ name?: string }>) if (item.name) names.push(item.name);
    if (names.length) await client.removeObjects(bucket, names);
    await client.removeBucket(bucket);
  });
  return store;
};

/**
 * A store that notes every conditional write that succeeded: (the version it replaced, the new
 * version, the body). Only observes; every call goes to the real store.
 */
function recording(store: BlobStore): { store: BlobStore; writes: Array<{ from: string | null; to: string; record: ScanRecord }> } {
  const writes: Array<{ from: string | null; to: string; record: ScanRecord }> = [];
  const observed: BlobStore = Object.create(store) as BlobStore;
  observed.putObjectIfMatch = async (key, body, expected) => {
    const version = await store.putObjectIfMatch(key, body, expected);
    if (version !== undefined) writes.push({ from: expected, to: version, record: JSON.parse(String(body)) as ScanRecord });
    return version;
  };
  return { store: observed, writes };
}

const RANK_OF: Record<string, number> = { QUEUED: 0, RUNNING: 1, COMPLETED: 2, FAILED: 2 };
const STAGES: StageName[] = ['SUBMIT', 'RESOLVE', 'FETCH', 'ANALYZE', 'MERGE', 'MATCH', 'REPORT'];

for (const [name, makeStore, skip] of [
  ['filesystem', fsStore, false],
  ['s3 (MinIO)', s3Store, skipUnless('minio')],
] as const) {
  describe(`scan records on ${name}`, { skip }, () => {
    scanRecordStoreContract(async (t) => blobScanRecords(await makeStore(t)));

    test('many concurrent writers: the history is one chain of forward moves and exactly one terminal write lands', async (t) => {
      const base = await makeStore(t);
      const { store, writes } = recording(base);
      const scan = { scanId: 'raced', imageRef: 'r/a:1' };
      const updates = RACING_UPDATES;
      const results = await raceWriters((update, options) => advanceScanRecord(store, scan, update, options));

      // The successful writes form one chain: created from nothing, each replacing the one before.
      const chain: typeof writes = [];
      for (let from: string | null = null; ; ) {
        const next = writes.filter((w) => w.from === from);
        assert.ok(next.length <= 1, `two writes both replaced version ${from}`);
        if (!next[0]) break;
        chain.push(next[0]);
        from = next[0].to;
      }
      assert.equal(chain.length, writes.length, 'every successful write is in the chain');
      for (let i = 1; i < chain.length; i++) {
        const [before, after] = [chain[i - 1]!.record, chain[i]!.record];
        assert.ok(advancesRecord(before, after), `write ${i} moved ${before.status}/${before.stage} to ${after.status}/${after.stage}`);
        assert.ok(RANK_OF[after.status]! > RANK_OF[before.status]! || STAGES.indexOf(after.stage!) > STAGES.indexOf(before.stage!));
      }
      const terminal = results.filter((r) => r.written && (r.record.status === 'COMPLETED' || r.record.status === 'FAILED'));
      assert.equal(terminal.length, 1, 'exactly one terminal write landed');
      const final = await readScanRecord(base, scan.scanId);
      assert.deepEqual(final, terminal[0]!.record, 'and it is the record that stands');
      assert.deepEqual(final, chain.at(-1)!.record);
      results.forEach((r, i) => {
        if (!r.written)
          assert.ok(
            !advancesRecord(r.record, updates[i]!),
            `writer ${i} gave up only when ${r.record.status}/${r.record.stage} was not behind ${updates[i]!.status}/${updates[i]!.stage}`,
          );
      });
      console.log(`# ${name}: ${updates.length} racing writers, ${writes.length} writes landed`);
    });
  });
}

test('document keys are valid store keys', async (t) => {
  const store = await fsStore(t);
  const digest = `sha256:${'a'.repeat(64)}`;
  for (const key of [inventoryKey(digest, 'framework@1;dpkg@2;npm@1'), reportKey(digest, `sha256:${'b'.repeat(64)}`), scanRecordKey('0f8e-uuid')]) {
    await store.putObject(key, '{}');
    assert.equal(await store.exists(key), true, key);
  }
});
