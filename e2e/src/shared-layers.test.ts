// Two images that share their base layer, scanned at the same time: every unique layer is
// fetched once and analyzed once (counted per layer from what the services did).
import assert from 'node:assert/strict';
import test from 'node:test';
import { fixtureImages, workCounts, runningDeployment } from './testing/harness.js';
import { skipUnlessPipelineInfra } from './testing/gate.js';

const skip = skipUnlessPipelineInfra();

test('layers shared by images scanned concurrently are fetched and analyzed exactly once', { skip, timeout: 300_000 }, async (t) => {
  const fixtures = fixtureImages();
  const multi = fixtures.refs.find((r) => r.registry === 'anonymous' && r.repository === 'strata/debian-multi' && r.tag === 'gzip-oci')!;
  const tiny = fixtures.refs.find((r) => r.registry === 'anonymous' && r.repository === 'strata/debian-tiny')!;
  const multiLayers = fixtures.images['debian-multi']!.layers;
  const tinyLayers = fixtures.images['debian-tiny']!.layers;
  const shared = tinyLayers.filter((l) => multiLayers.some((m) => m.diffId === l.diffId));
  assert.equal(shared.length, 1, 'the fixtures share the base layer');
  const uniqueDiffIds = new Set([...multiLayers, ...tinyLayers].map((l) => l.diffId));
  const uniqueDigests = new Set([...multiLayers, ...tinyLayers].map((l) => l.digest));

  const { d, services, outside } = await runningDeployment(t, 'shared');
  const ids = await Promise.all([d.submit(multi.ref), d.submit(tiny.ref)]);
  await outside.waitFor(() => (ids.every((id) => outside.completed.some((c) => c.scanId === id)) ? true : undefined), 240_000, 'both scans to complete');
  assert.deepEqual(outside.failed, []);

  const { fetched, analyzed } = workCounts(d.events);
  assert.deepEqual([...fetched.keys()].sort(), [...uniqueDigests].sort(), 'every unique blob was fetched');
  assert.deepEqual([...analyzed.keys()].sort(), [...uniqueDiffIds].sort(), 'every unique layer was analyzed');
  for (const [digest, n] of fetched) assert.equal(n, 1, `blob ${digest} fetched once`);
  for (const [diffId, n] of analyzed) assert.equal(n, 1, `layer ${diffId} analyzed once`);

  const fetcher = services.find((s) => s.name === 'fetcher')!;
  const analyzer = services.find((s) => s.name === 'analyzer')!;
  assert.equal(await fetcher.runtime.metrics.value('strata_layers_fetched_total'), uniqueDigests.size);
  assert.equal(await analyzer.runtime.metrics.value('strata_layers_analyzed_total'), uniqueDiffIds.size);
  // The second request for the shared layer found either the analyzed result or the blob.
  const sharedWork = d.events.filter((e) => e.diffId === shared[0]!.diffId && ['cached', 'blob_present', 'fetched', 'analyzed'].includes(e.outcome));
  assert.ok(
    sharedWork.some((e) => e.outcome === 'cached' || e.outcome === 'blob_present'),
    'the second scan reused the shared layer',
  );

  for (const id of ids) {
    const record = await d.scanRecord(id);
    assert.equal(record?.status, 'COMPLETED', `scan ${id}`);
  }
});
