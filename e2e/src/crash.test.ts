// SIGKILL of an analyzer process in the middle of a large layer: its uncommitted message goes to
// another member of the group once the dead member's session expires, and the scan completes with
// the same report as the embedded scan.
import assert from 'node:assert/strict';
import test from 'node:test';
import { cacheKeyFor, layerResultKey } from '@strata/pipeline';
import { renderJsonReport } from '@strata/matcher-service';
import { createDeployment, embeddedScan, fixtureImages, reportEssence, storedJson, timeless } from './testing/harness.js';
import { skipUnlessPipelineInfra } from './testing/gate.js';

const skip = skipUnlessPipelineInfra();

test('kill -9 of an analyzer mid-layer: another replica redoes the layer and the report is the same', { skip, timeout: 300_000 }, async (t) => {
  const fixtures = fixtureImages();
  const fixture = fixtures.refs.find((r) => r.registry === 'anonymous' && r.repository === 'strata/debian-multi' && r.tag === 'gzip-oci')!;
  const base = fixtures.images['debian-multi']!.layers[0]!;
  const d = await createDeployment('crash');
  t.after(() => d.teardown());
  await Promise.all([d.start('fetcher'), d.start('merger'), d.start('matcher')]);
  const victim = d.spawn('analyzer');
  await victim.waitForLog((l) => l.msg === 'service started', 90_000);
  const outside = await d.subscriber();

  const scanId = await d.submit(fixture.ref);
  // The base layer is the large one (63 MB compressed).
  await victim.waitForLog((l) => l.msg === 'analyzing layer' && l.layerDigest === base.digest && l.scanId === scanId);
  victim.child.kill('SIGKILL');
  assert.equal(await victim.exited, 'SIGKILL');
  assert.equal(await d.store.exists(layerResultKey(cacheKeyFor(base.diffId))), false, 'the process died before the layer result was stored');

  const rescuer = await d.start('analyzer');
  const completed = await outside.waitFor(() => outside.completed.find((c) => c.scanId === scanId), 240_000, `completion of scan ${scanId}`);
  assert.deepEqual(outside.failed, []);
  assert.ok(
    d.events.some((e) => e.service === 'analyzer' && e.outcome === 'analyzed' && e.diffId === base.diffId),
    'the surviving analyzer analyzed the layer the killed one was working on',
  );
  assert.ok((await rescuer.runtime.metrics.value('strata_layers_analyzed_total')) >= 1);

  const embedded = await embeddedScan(fixture.ref);
  const stored = await storedJson(d.store, completed.report!.key);
  const expected = JSON.parse(renderJsonReport(embedded)) as unknown;
  assert.deepEqual(reportEssence(stored), reportEssence(expected));
  assert.deepEqual(timeless(stored), timeless(expected));
});
