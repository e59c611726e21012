// Blob housekeeping against the real services, MinIO and PostgreSQL: sweeps run while scans (and
// rescans of the same images) run, and nothing a scan relies on is deleted — every scan completes,
// and every layer blob and layer result still referenced is present and whole — while blobs and
// results no scan referenced for the grace period are deleted. Then the race made deterministic:
// a sweep holds stale keys locked while a scan of their image starts.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import test from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSweeper, sweepOnce } from '@strata/fetcher-service';
import { layerResultKey } from '@strata/pipeline';
import { readImageRecord, type ImageRecord } from '@strata/scan-records';
import { infra, pushImage, skipUnless, uniqueLayer, uniqueName } from '@strata/testing';
import { createDeployment, waitUntil, type Deployment } from './testing/index.js';

const skip = skipUnless('kafka', 'minio', 'registry', 'postgres');
const GRACE_MS = 4_000;

async function sha256Of(d: Deployment, digest: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of await d.store.getBlob(digest)) hash.update(chunk as Uint8Array);
  return `sha256:${hash.digest('hex')}`;
}

/** Every key of the image that still has a reference row is present and whole; returns how many were checked. */
async function assertReferencedWhole(d: Deployment, image: ImageRecord): Promise<number> {
  const keys = image.layers.flatMap((l) => [l.digest, layerResultKey(l.cacheKey)]);
  const { rows } = await d.findingsDb!.pool.query<{ blob_key: string }>('select blob_key from strata.blob_refs where blob_key = any($1::text[])', [keys]);
  for (const { blob_key: key } of rows) {
    if (key.startsWith('sha256:')) assert.equal(await sha256Of(d, key), key, `referenced blob ${key} of ${image.manifestDigest} is whole`);
    else
      JSON.parse(
        Buffer.from((await d.store.getObject(key)) ?? assert.fail(`referenced layer result ${key} of ${image.manifestDigest} is missing`)).toString('utf8'),
      );
  }
  return rows.length;
}

test('blob housekeeping: sweeps during scans delete only what no scan referenced for the grace period', { skip, timeout: 600_000 }, async (t) => {
  const d = await createDeployment('sweeper', { STRATA_SWEEP_INTERVAL_MS: '0' });
  t.after(() => d.teardown());
  const services = await d.startAll();
  const fetcher = services.find((s) => s.name === 'fetcher')!;
  const db = d.findingsDb ?? assert.fail('the deployment has no findings DB');
  const sweep = (beforeRemove?: Parameters<typeof sweepOnce>[2]['beforeRemove']) =>
    sweepOnce(fetcher.runtime, db, { graceMs: GRACE_MS, openScanMaxAgeMs: 600_000, batch: 7, ...(beforeRemove ? { beforeRemove } : {}) });

  // Leftovers no image references any more: blobs and layer results already in the store.
  const orphans: string[] = [];
  for (let i = 0; i < 4; i++) {
    const bytes = randomBytes(4096);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    await d.store.putBlob(
      digest,
      (async function* () {
        yield bytes;
      })(),
    );
    const result = `layers/${randomBytes(32).toString('hex')}.json`;
    await d.store.putObject(result, '{"schemaVersion":1}');
    orphans.push(digest, result);
  }
  const adopted = await sweep();
  assert.equal(adopted.adopted, orphans.length, 'keys no scan touched are adopted, with one grace period');
  assert.deepEqual(adopted.keys, [], 'nothing deleted before its grace period');

  const host = infra.registry('anonymous')!.host;
  const base = await uniqueLayer(`${uniqueName('sweep-base')}`);
  const images = await Promise.all(
    Array.from({ length: 5 }, async (_, i) => {
      const repository = `${uniqueName('sweep')}/app${i}`;
      const pushed = await pushImage(host, repository, 'v1', [base, await uniqueLayer(`${repository}-a`), await uniqueLayer(`${repository}-b`)]);
      return { ref: `${host}/${repository}:v1`, manifestDigest: pushed.manifestDigest };
    }),
  );
  await sleep(GRACE_MS + 500);

  await t.test('scans and rescans of the same images, with a sweep every 100 ms: every scan completes', async () => {
    let sweeping = true;
    const swept = new Set<string>();
    let sweeps = 0;
    const loop = (async () => {
      while (sweeping) {
        for (const key of (await sweep()).keys) swept.add(key);
        sweeps++;
        await sleep(100);
      }
    })();
    // Each image scanned, then scanned again once its keys may have gone stale: a rescan starts
    // while sweeps are deleting what the first scan used.
    const ids: string[] = [];
    for (const round of [0, 1, 2]) {
      for (const image of images) ids.push(await d.submit(image.ref));
      await sleep(round === 2 ? 0 : GRACE_MS + 300);
    }
    const records = await Promise.all(ids.map((id) => d.waitForRecord(id, (r) => r.status === 'COMPLETED' || r.status === 'FAILED', 240_000)));
    sweeping = false;
    await loop;
    for (const r of records) assert.equal(r.status, 'COMPLETED', `scan ${r.scanId} of ${r.imageRef}: ${JSON.stringify(r.error)}`);
    for (const key of orphans) {
      assert.ok(swept.has(key), `the leftover ${key} was swept`);
      assert.equal(await d.store.exists(key), false, `the leftover ${key} is gone`);
    }
    const imageRecords = await Promise.all(images.map(async (i) => (await readImageRecord(d.store, i.manifestDigest))!));
    const imageKeys = new Set(imageRecords.flatMap((r) => r.layers.flatMap((l) => [l.digest, layerResultKey(l.cacheKey)])));
    const sweptImageKeys = [...swept].filter((k) => imageKeys.has(k)).length;
    assert.ok(sweptImageKeys > 0, 'keys of the images went stale between their scans and were swept while other scans ran');

    // Every image scanned once more, then a sweep whose grace period reaches back to that round:
    // every key the round referenced is kept, present and whole.
    const roundStart = Date.now();
    const last = await Promise.all(images.map((image) => d.submit(image.ref)));
    for (const id of last) assert.equal((await d.waitForRecord(id, (r) => r.status === 'COMPLETED' || r.status === 'FAILED', 240_000)).status, 'COMPLETED');
    const final = await sweepOnce(fetcher.runtime, db, { graceMs: Date.now() - roundStart + 1_000, openScanMaxAgeMs: 600_000, batch: 7 });
    assert.deepEqual(
      final.keys.filter((k) => imageKeys.has(k)),
      [],
      'nothing the last round referenced was swept',
    );
    let checked = 0;
    for (const record of imageRecords) {
      const n = await assertReferencedWhole(d, record);
      assert.equal(n, record.layers.length * 2, `every layer blob and result of ${record.manifestDigest} is referenced, present and whole`);
      checked += n;
    }
    // With the findings DB the scan records are its rows: none in the blob store.
    const inStore: string[] = [];
    for await (const key of d.store.list('scans/')) inStore.push(key);
    assert.deepEqual(inStore, [], 'no scans/ documents in the blob store');
    const recorded = new Set(await d.scanIds());
    for (const id of [...ids, ...last]) assert.ok(recorded.has(id), `scan ${id} is a row of strata.scans`);
    t.diagnostic(
      `${ids.length} scans, ${sweeps} sweeps, ${swept.size} keys swept (${sweptImageKeys} of the images' between their scans); after a last round, ${checked} referenced keys checked whole`,
    );
  });

  await t.test('a scan that starts while a sweep holds its stale keys waits, then fetches and analyzes again', async () => {
    const image = images[0]!;
    const record = (await readImageRecord(d.store, image.manifestDigest))!;
    // scanned again (its keys referenced, present), then left alone until every key is stale
    const rescan = await d.submit(image.ref);
    assert.equal((await d.waitForRecord(rescan, (r) => r.status === 'COMPLETED' || r.status === 'FAILED', 240_000)).status, 'COMPLETED');
    await sleep(GRACE_MS + 300);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let holding!: () => void;
    const locked = new Promise<void>((r) => (holding = r));
    const mine = new Set(record.layers.flatMap((l) => [l.digest, layerResultKey(l.cacheKey)]));
    let heldKeys: string[] = [];
    const sweeping = sweep(async (refs) => {
      if (heldKeys.length > 0 || !refs.some((r) => mine.has(r.key))) return;
      heldKeys = refs.map((r) => r.key).filter((k) => mine.has(k));
      holding();
      await held;
    });
    await Promise.race([locked, sweeping.then(() => assert.fail("the sweep never reached the image's keys"))]);
    const before = d.events.length;
    const scanId = await d.submit(image.ref);
    // The fetcher's touch waits on the locked rows: the scan stays at RESOLVE.
    await waitUntil(async () => ((await d.scanRecord(scanId))?.stage === 'RESOLVE' ? true : undefined), 60_000, 'the scan to start resolving');
    await sleep(1_000);
    assert.equal((await d.scanRecord(scanId))?.stage, 'RESOLVE', 'the scan waits while the sweep holds its keys');
    release();
    const report = await sweeping;
    for (const key of heldKeys) assert.ok(report.keys.includes(key), `the sweep deleted ${key}, which it held`);
    const done = await d.waitForRecord(scanId, (r) => r.status === 'COMPLETED' || r.status === 'FAILED', 240_000);
    assert.equal(done.status, 'COMPLETED', JSON.stringify(done.error));
    // What the sweep deleted under the waiting scan was fetched (blob) or analyzed (result) again.
    const redone = d.events.slice(before).filter((e) => e.scanId === scanId);
    for (const layer of record.layers) {
      const resultGone = heldKeys.includes(layerResultKey(layer.cacheKey));
      if (resultGone)
        assert.ok(
          redone.some((e) => e.outcome === 'analyzed' && e.diffId === layer.diffId),
          `layer ${layer.diffId} analyzed again`,
        );
      if (resultGone && heldKeys.includes(layer.digest))
        assert.ok(
          redone.some((e) => e.outcome === 'fetched' && e.layerDigest === layer.digest),
          `blob ${layer.digest} fetched again`,
        );
    }
    t.diagnostic(
      `the sweep held ${heldKeys.length} keys of the image while its scan waited; ${redone.filter((e) => e.outcome === 'fetched').length} blobs fetched and ${redone.filter((e) => e.outcome === 'analyzed').length} layers analyzed again`,
    );
    assert.equal(await assertReferencedWhole(d, record), record.layers.length * 2, 'every key of the image is referenced, present and whole');
  });

  await t.test('a layer result that outlived its blob (swept in another batch) is not taken as cached: the blob is fetched again', async () => {
    const image = images[1]!;
    const record = (await readImageRecord(d.store, image.manifestDigest))!;
    const layer = record.layers[1]!;
    // scanned again first, so its result and blob are both there (earlier sweeps took stale ones)
    const warm = await d.submit(image.ref);
    assert.equal((await d.waitForRecord(warm, (r) => r.status === 'COMPLETED' || r.status === 'FAILED', 240_000)).status, 'COMPLETED');
    assert.equal(await d.store.exists(layerResultKey(layer.cacheKey)), true);
    assert.equal(await d.store.exists(layer.digest), true);
    await d.store.delete(layer.digest);
    const before = d.events.length;
    const scanId = await d.submit(image.ref);
    const done = await d.waitForRecord(scanId, (r) => r.status === 'COMPLETED' || r.status === 'FAILED', 240_000);
    assert.equal(done.status, 'COMPLETED', JSON.stringify(done.error));
    const redone = d.events.slice(before).filter((e) => e.scanId === scanId);
    assert.ok(
      redone.some((e) => e.outcome === 'fetched' && e.layerDigest === layer.digest),
      `the blob was fetched again: ${JSON.stringify(redone.map((e) => [e.stage, e.outcome, e.layerDigest ?? e.diffId]))}`,
    );
    assert.equal(await assertReferencedWhole(d, record), record.layers.length * 2, 'every key of the image is referenced, present and whole');
  });

  await t.test('the sweeper of a running fetcher counts what it deleted', async () => {
    await sleep(GRACE_MS + 300);
    const metric = (name: string, labels: Record<string, string>) => fetcher.runtime.metrics.value(name, labels);
    const deletedBefore = await metric('strata_sweeper_deleted_total', { kind: 'blob' });
    const stop = startSweeper(fetcher.runtime, db, 200, { graceMs: GRACE_MS, openScanMaxAgeMs: 600_000, batch: 50 });
    try {
      await waitUntil(async () => ((await metric('strata_sweeper_runs_total', { outcome: 'ok' })) >= 1 ? true : undefined), 30_000, 'a sweep of the sweeper');
    } finally {
      await stop();
    }
    assert.equal(await metric('strata_sweeper_runs_total', { outcome: 'failed' }), 0);
    assert.ok((await metric('strata_sweeper_deleted_total', { kind: 'blob' })) > deletedBefore, 'the stale blobs of the last scan were deleted and counted');
    assert.ok((await metric('strata_sweeper_tracked_keys', { kind: 'blob' })) >= 0);
  });
});
