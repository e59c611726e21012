// Scan state never goes backwards, and the FULL findings event survives a matcher crash in its one
// duplicate window, through the real services on Kafka and MinIO.
import assert from 'node:assert/strict';
import test from 'node:test';
import { getJson } from '@strata/blobstore';
import { findingsMarkerKey, type ScanRecord } from '@strata/scan-records';
import { createDeployment, fixtureImages, waitUntil } from './testing/harness.js';
import { skipUnlessPipelineInfra } from './testing/gate.js';

const skip = skipUnlessPipelineInfra();
const tinyImage = () => fixtureImages().refs.find((r) => r.registry === 'anonymous' && r.repository === 'strata/debian-tiny')!;

test('the merger records MATCH before it publishes: held after the publish while the matcher completes, it leaves the record COMPLETED', {
  skip,
  timeout: 300_000,
}, async (t) => {
  const d = await createDeployment('state-order');
  t.after(() => d.teardown());
  const atPublish: Array<ScanRecord | undefined> = [];
  const held: string[] = [];
  // The deliberate delay: the merger's handler stops right after image.inventory is out (where it
  // used to write RUNNING/MATCH) until the matcher has completed the scan, then a little longer.
  const hold = async (point: string, scanId: string) => {
    if (point !== 'merger.inventory-published') return;
    atPublish.push(await d.scanRecord(scanId));
    await d.waitForRecord(scanId, (r) => r.status === 'COMPLETED', 180_000);
    held.push(scanId);
    await new Promise((r) => setTimeout(r, 1_000));
  };
  await Promise.all([d.start('fetcher'), d.start('analyzer'), d.start('matcher'), d.start('merger', {}, hold)]);
  const outside = await d.subscriber();

  const scanId = await d.submit(tinyImage().ref);
  await outside.waitFor(() => outside.completed.find((c) => c.scanId === scanId), 240_000, `completion of scan ${scanId}`);
  await waitUntil(
    () => d.events.find((e) => e.service === 'merger' && e.scanId === scanId && e.outcome === 'merged'),
    60_000,
    'the held merger to finish its handler',
  );

  assert.deepEqual(held, [scanId], 'the matcher completed the scan while the merger was held after its publish');
  assert.equal(atPublish.length, 1);
  assert.equal(atPublish[0]?.status, 'RUNNING', 'when image.inventory went out, the record said so already');
  assert.equal(atPublish[0]?.stage, 'MATCH');
  assert.ok(atPublish[0]?.mergedFrom, 'the record names the layer event that merged it');
  const record = await d.scanRecord(scanId);
  assert.equal(record?.status, 'COMPLETED', 'the merger finishing late did not turn the record back');
  assert.equal(record?.stage, 'MATCH');
  assert.ok(record?.reportKey);
  assert.deepEqual(outside.failed, []);
});

test('a matcher killed between publishing FULL findings and marking them re-sends the identical event once, and replays add none', {
  skip,
  timeout: 420_000,
}, async (t) => {
  const tiny = tinyImage();
  const d = await createDeployment('dup-window');
  t.after(() => d.teardown());
  await Promise.all([d.start('fetcher'), d.start('analyzer'), d.start('merger')]);
  const victim = d.spawn('matcher', {}, { crashPoint: 'matcher.findings-published' });
  await victim.waitForLog((l) => l.msg === 'service started', 120_000);
  const outside = await d.subscriber();

  const scanId = await d.submit(tiny.ref);
  const crash = await victim.waitForLog((l) => l.msg === 'test crash point reached' && l.scanId === scanId, 240_000);
  assert.equal(crash.point, 'matcher.findings-published');
  assert.equal(await victim.exited, 'SIGKILL');
  const first = await outside.waitFor(() => outside.findings.find((f) => f.scanId === scanId), 60_000, 'the findings event sent before the crash');
  const markerKey = findingsMarkerKey(tiny.manifestDigest, first.advisoryDbVersion);
  const pending = await getJson<{ pending?: unknown }>(d.store, markerKey);
  assert.ok(pending?.pending, 'the marker still holds the event: the crash came before it was marked published');
  assert.notEqual((await d.scanRecord(scanId))?.status, 'COMPLETED');

  // A new matcher gets the uncommitted image.inventory once the dead member's session expires.
  await d.start('matcher');
  const completed = await outside.waitFor(() => outside.completed.find((c) => c.scanId === scanId), 240_000, `completion of scan ${scanId}`);
  assert.equal(completed.findingsPublished, true);
  const record = await d.waitForRecord(scanId, (r) => r.status === 'COMPLETED');
  assert.equal(record.findingsPublished, true);
  const marker = await getJson<{ pending?: unknown; scanId: string; reportKey: string }>(d.store, markerKey);
  assert.equal(marker?.pending, undefined, 'the marker is marked published now');
  assert.equal(marker?.reportKey, record.reportKey);

  // Replays after that: the inventory event again, and a rescan of the same image.
  const rescan = await d.submit(tiny.ref);
  await outside.waitFor(() => outside.completed.find((c) => c.scanId === rescan), 180_000, 'the rescan');
  await d.submit(tiny.ref, { scanId });
  await waitUntil(
    () => d.events.find((e) => e.service === 'fetcher' && e.stage === 'resolve' && e.scanId === scanId && e.outcome === 'skipped'),
    60_000,
    'the fetcher to skip the replayed request',
  );
  // Anything still in flight would arrive within moments of the rescan's completion.
  await new Promise((r) => setTimeout(r, 3_000));

  const full = outside.findings.filter((f) => f.manifestDigest === tiny.manifestDigest && f.advisoryDbVersion === first.advisoryDbVersion);
  assert.equal(full.length, 2, 'the crash window re-sent the event once (at least once), no more');
  assert.deepEqual(full[1], full[0], 'and the copy is identical, publishedAt included: dedupe on (manifest digest, DB version, kind) loses nothing');
  const deduped = new Set(full.map((f) => `${f.manifestDigest} ${f.advisoryDbVersion} ${f.kind}`));
  assert.equal(deduped.size, 1);
  assert.equal((await d.scanRecord(rescan))?.findingsPublished, false);
  assert.deepEqual(outside.failed, []);
});
