// Test support (not a production export): the behaviour every ScanRecordStore must show (blob
// store: filesystem and MinIO; the findings DB), run by each adapter's tests against the real thing.
import assert from 'node:assert/strict';
import test from 'node:test';
import { advancesRecord, type ScanRecordStore, type ScanRecordUpdate, type ScanStatusName, type StageName } from './records.js';

/** The updates the concurrent-writer tests race: every stage three times, two completions, two failures. */
export const RACING_UPDATES: ReadonlyArray<{ status: ScanStatusName; stage?: StageName }> = [
  { status: 'QUEUED', stage: 'SUBMIT' },
  ...['RESOLVE', 'FETCH', 'MERGE', 'MATCH'].flatMap((stage) => [0, 1, 2].map(() => ({ status: 'RUNNING' as const, stage: stage as StageName }))),
  { status: 'COMPLETED', stage: 'MATCH' },
  { status: 'COMPLETED', stage: 'MATCH' },
  { status: 'FAILED', stage: 'ANALYZE' },
  { status: 'FAILED', stage: 'FETCH' },
];

/**
 * Runs one writer per RACING_UPDATES entry (a FAILED one with an error naming its writer): every
 * writer reads first, then all write at once, the widest race there is. Results in entry order.
 */
export function raceWriters<T>(write: (update: ScanRecordUpdate, options: { beforeWrite: () => Promise<void> }) => Promise<T>): Promise<T[]> {
  let arrived = 0;
  let go!: () => void;
  const barrier = new Promise<void>((r) => (go = r));
  return Promise.all(
    RACING_UPDATES.map((update, i) =>
      write(
        { ...update, ...(update.status === 'FAILED' ? { error: { stage: update.stage!, code: 'INTERNAL', reason: `writer ${i}` } } : {}) },
        {
          beforeWrite: async () => {
            if (++arrived === RACING_UPDATES.length) go();
            await barrier;
          },
        },
      ),
    ),
  );
}

/** Registers the contract tests; `make` gives a fresh, empty store of records for one test. */
export function scanRecordStoreContract(make: (t: test.TestContext) => Promise<ScanRecordStore>): void {
  test('a scan record advances by status then stage, and the first terminal status wins', async (t) => {
    const records = await make(t);
    const scan = { scanId: 'scan-1', imageRef: 'r/a:1', traceId: 't-1' };

    assert.equal((await records.advance(scan, { status: 'QUEUED', stage: 'SUBMIT' })).written, true);
    assert.equal((await records.advance(scan, { status: 'RUNNING', stage: 'RESOLVE' })).written, true);
    assert.equal((await records.advance(scan, { status: 'RUNNING', stage: 'FETCH', manifestDigest: 'sha256:m' })).written, true);
    // a redelivered request would put it back to RESOLVE: dropped
    assert.equal((await records.advance(scan, { status: 'RUNNING', stage: 'RESOLVE' })).written, false);
    assert.equal((await records.advance(scan, { status: 'QUEUED' })).written, false);
    const failed = await records.advance(scan, {
      status: 'FAILED',
      stage: 'ANALYZE',
      error: { stage: 'ANALYZE', code: 'INTERNAL', reason: 'bad layer' },
    });
    assert.equal(failed.written, true);
    // a later completion (or a second failure) does not overwrite the first terminal status
    assert.equal((await records.advance(scan, { status: 'COMPLETED', stage: 'MATCH' })).written, false);
    assert.equal(
      (await records.advance(scan, { status: 'FAILED', stage: 'MERGE', error: { stage: 'MERGE', code: 'INTERNAL', reason: 'other' } })).written,
      false,
    );

    const record = await records.read('scan-1');
    assert.equal(record?.status, 'FAILED');
    assert.equal(record?.error?.reason, 'bad layer');
    assert.equal(record?.manifestDigest, 'sha256:m', 'fields of earlier writes are kept');
    assert.equal(record?.traceId, 't-1');
    assert.ok(record?.createdAt && record.updatedAt >= record.createdAt);
  });

  test('a writer that read before the scan completed cannot write RUNNING over COMPLETED', async (t) => {
    const records = await make(t);
    const scan = { scanId: 'late-writer', imageRef: 'r/a:1' };
    await records.advance(scan, { status: 'RUNNING', stage: 'FETCH' });
    // The merger's old race: it reads RUNNING/FETCH, the matcher completes, then the merger writes.
    let completedMeanwhile: { written: boolean } | undefined;
    let reads = 0;
    const late = await records.advance(
      scan,
      { status: 'RUNNING', stage: 'MATCH' },
      {
        beforeWrite: async (current) => {
          reads++;
          if (current?.status === 'RUNNING' && !completedMeanwhile) {
            completedMeanwhile = await records.advance(scan, {
              status: 'COMPLETED',
              stage: 'MATCH',
              counts: { unknown: 0, low: 1, medium: 0, high: 0, critical: 0 },
            });
          }
        },
      },
    );
    assert.equal(completedMeanwhile?.written, true);
    assert.equal(reads, 1, 'the losing write read again and found nothing to advance');
    assert.equal(late.written, false);
    assert.equal(late.record.status, 'COMPLETED', 'the late writer is told what stands');
    const record = await records.read(scan.scanId);
    assert.equal(record?.status, 'COMPLETED');
    assert.deepEqual(record?.counts, { unknown: 0, low: 1, medium: 0, high: 0, critical: 0 });
  });

  test('many concurrent writers: exactly one terminal write lands, and every loser was not behind what stands', async (t) => {
    const records = await make(t);
    const scan = { scanId: 'raced', imageRef: 'r/a:1' };
    const updates = RACING_UPDATES;
    const results = await raceWriters((update, options) => records.advance(scan, update, options));
    const terminal = results.filter((r) => r.written && (r.record.status === 'COMPLETED' || r.record.status === 'FAILED'));
    assert.equal(terminal.length, 1, 'exactly one terminal write landed');
    assert.deepEqual(await records.read(scan.scanId), terminal[0]!.record, 'and it is the record that stands');
    results.forEach((r, i) => {
      if (!r.written)
        assert.ok(
          !advancesRecord(r.record, updates[i]!),
          `writer ${i} gave up only when ${r.record.status}/${r.record.stage} was not behind ${updates[i]!.status}/${updates[i]!.stage}`,
        );
    });
  });
}
