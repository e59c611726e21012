// The merger keeps no state of its own: stopped (SIGTERM, graceful) while an image is half
// analyzed and started again after the rest was analyzed, it completes the scan from the store.
import assert from 'node:assert/strict';
import test from 'node:test';
import { layerResultKey } from '@strata/pipeline';
import { readImageRecord } from '@strata/scan-records';
import { createDeployment, fixtureImages, waitUntil } from './testing/harness.js';
import { skipUnlessPipelineInfra } from './testing/gate.js';

const skip = skipUnlessPipelineInfra();

test('a merger restarted while an image is half analyzed completes the scan', { skip, timeout: 300_000 }, async (t) => {
  const fixtures = fixtureImages();
  const multi = fixtures.refs.find((r) => r.registry === 'anonymous' && r.repository === 'strata/debian-multi' && r.tag === 'gzip-oci')!;
  const tiny = fixtures.refs.find((r) => r.registry === 'anonymous' && r.repository === 'strata/debian-tiny')!;
  const d = await createDeployment('restart');
  t.after(() => d.teardown());
  await Promise.all([d.start('fetcher'), d.start('matcher')]);
  let analyzer = await d.start('analyzer');
  const first = d.spawn('merger');
  await first.waitForLog((l) => l.msg === 'service started', 90_000);
  const outside = await d.subscriber();

  // debian-tiny puts the shared base layer into the layer cache.
  const warmup = await d.submit(tiny.ref);
  await outside.waitFor(() => outside.completed.find((c) => c.scanId === warmup), 180_000, 'the warm-up scan');

  // Without an analyzer, debian-multi stops half way: the cached base layer is announced as
  // analyzed at once, the five others wait in layer.fetched.
  await analyzer.stop();
  const scanId = await d.submit(multi.ref);
  const waiting = await first.waitForLog((l) => l.msg === 'layer analyzed; waiting for the others' && l.scanId === scanId);
  assert.equal(waiting.missing, 5);
  first.child.kill('SIGTERM');
  assert.equal(await first.exited, 0, 'graceful stop exits 0');

  analyzer = await d.start('analyzer');
  const image = await readImageRecord(d.store, multi.manifestDigest);
  assert.ok(image);
  await waitUntil(
    async () => ((await Promise.all(image.layers.map((l) => d.store.exists(layerResultKey(l.cacheKey))))).every(Boolean) ? true : undefined),
    180_000,
    'all layers analyzed',
  );
  const halfway = await d.scanRecord(scanId);
  assert.equal(halfway?.status, 'RUNNING', 'no merger, no completion');

  const second = d.spawn('merger');
  await outside.waitFor(() => outside.completed.find((c) => c.scanId === scanId), 180_000, `completion of scan ${scanId}`);
  assert.deepEqual(outside.failed, []);
  assert.ok(
    second.lines.some((l) => l.msg === 'image inventory ready' && l.scanId === scanId),
    'the new merger merged the image',
  );
  const record = await d.scanRecord(scanId);
  assert.equal(record?.status, 'COMPLETED');
  assert.equal(record?.manifestDigest, multi.manifestDigest);
  second.child.kill('SIGTERM');
  assert.equal(await second.exited, 0);
});
