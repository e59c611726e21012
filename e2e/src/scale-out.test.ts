// Two analyzer instances in one consumer group share the layers of ten images; each unique layer
// is still analyzed once.
import assert from 'node:assert/strict';
import test from 'node:test';
import { Partitioners } from 'kafkajs';
import { Topics } from '@strata/contracts';
import { uniqueLayer, uniqueName } from '@strata/testing';
import { createDeployment, pushSharedBaseImages, waitUntil, workCounts } from './testing/harness.js';
import { skipUnlessPipelineInfra } from './testing/gate.js';

const skip = skipUnlessPipelineInfra();
const PARTITIONS = 6;

/** The partition Kafka's default (murmur2) partitioner picks for a key. */
function kafkaPartition(key: string): number {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: PARTITIONS }, (_, partitionId) => ({
    partitionErrorCode: 0,
    partitionId,
    leader: 0,
    replicas: [0],
    isr: [0],
  }));
  return partitioner({ topic: 'any', partitionMetadata, message: { key, value: null } });
}

test('two analyzers in one group share the work of ten images, each layer analyzed once', { skip, timeout: 300_000 }, async (t) => {
  const d = await createDeployment('scale', { STRATA_TOPIC_PARTITIONS: String(PARTITIONS) });
  t.after(() => d.teardown());
  const services = await d.startAll({ analyzers: 2 });
  const analyzers = services.filter((s) => s.name === 'analyzer');
  const fetchedTopic = d.topic(Topics.layerFetched);
  const ownedBy = () =>
    analyzers.map(
      (a) =>
        new Set(
          a.runtime
            .assignments()
            .filter((x) => x.topic === fetchedTopic)
            .map((x) => x.partition),
        ),
    );
  // Right after the second member joins, the first may still report its old assignment: wait for
  // the group to settle (disjoint sets covering every partition).
  const owned = await waitUntil(
    () => {
      const sets = ownedBy();
      const all = sets.flatMap((set) => [...set]);
      return sets.every((set) => set.size > 0) && all.length === PARTITIONS && new Set(all).size === PARTITIONS ? sets : undefined;
    },
    60_000,
    'the two analyzers to split the partitions',
  );

  // Ten unique layers whose diffIDs land on partitions of both members (layer.fetched is keyed by diffID).
  const run = uniqueName('scale');
  const names: string[] = [];
  const hit = [false, false];
  for (let i = 0; names.length < 10; i++) {
    if (i > 1000) throw new Error('no layer name hashes to both analyzers');
    const name = `${run}-${i}`;
    const partition = kafkaPartition((await uniqueLayer(name)).diffId);
    const member = owned.findIndex((set) => set.has(partition));
    if (names.length === 9 && !hit.every(Boolean) && hit[member]) continue;
    hit[member] = true;
    names.push(name);
  }
  const images = await pushSharedBaseImages(names);

  const outside = await d.subscriber();
  const ids = await Promise.all(images.map((image) => d.submit(image.ref)));
  await outside.waitFor(() => (ids.every((id) => outside.completed.some((c) => c.scanId === id)) ? true : undefined), 240_000, 'ten scans to complete');
  assert.deepEqual(outside.failed, []);

  const counts = await Promise.all(analyzers.map((a) => a.runtime.metrics.value('strata_layers_analyzed_total')));
  assert.ok(
    counts.every((n) => n > 0),
    `both analyzers analyzed layers: ${counts.join(' + ')}`,
  );
  const uniqueLayers = new Set(images.flatMap((i) => i.layers.map((l) => l.diffId)));
  assert.equal(uniqueLayers.size, 11);
  assert.equal(counts[0]! + counts[1]!, uniqueLayers.size);
  const { analyzed, fetched } = workCounts(d.events);
  for (const diffId of uniqueLayers) assert.equal(analyzed.get(diffId), 1, `layer ${diffId} analyzed once`);
  for (const [digest, n] of fetched) assert.equal(n, 1, `blob ${digest} fetched once`);
  for (const image of images) {
    const record = await d.scanRecord(ids[images.indexOf(image)]!);
    assert.equal(record?.status, 'COMPLETED');
    assert.equal(record?.manifestDigest, image.manifestDigest);
  }
});
