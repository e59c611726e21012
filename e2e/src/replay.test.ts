// Idempotent consumers: re-delivering a finished scan's scan.requested and image.inventory events,
// and scanning the same image again, publish no second findings event for the same (manifest
// digest, advisory DB version) and leave the stored report as it was.
import assert from 'node:assert/strict';
import test from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { decodeEvent, Topics } from '@strata/contracts';
import { infra } from '@strata/testing';
import { fixtureImages, waitUntil, runningDeployment } from './testing/harness.js';
import { skipUnlessPipelineInfra } from './testing/gate.js';

const skip = skipUnlessPipelineInfra();

test('replayed events and a rescan publish no duplicate findings and change no stored result', { skip, timeout: 300_000 }, async (t) => {
  const tiny = fixtureImages().refs.find((r) => r.registry === 'anonymous' && r.repository === 'strata/debian-tiny')!;
  const { d, outside } = await runningDeployment(t, 'replay');

  const scanId = await d.submit(tiny.ref);
  const findings = await outside.waitFor(() => outside.findings.find((f) => f.scanId === scanId), 180_000, 'findings');
  await outside.waitFor(() => outside.completed.find((c) => c.scanId === scanId), 60_000, 'completion');
  const record = await d.waitForRecord(scanId, (r) => r.status === 'COMPLETED');
  const report = await d.store.getObject(record.reportKey!);
  const result = await d.store.getObject(record.resultKey!);

  // The inventory event exactly as it was published, read back from the topic.
  const kafka = new Kafka({ brokers: infra.kafka()!.brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `${d.prefix}replay-reader` });
  await consumer.connect();
  await consumer.subscribe({ topics: [d.topic(Topics.imageInventory)], fromBeginning: true });
  const published: Array<{ key: Buffer; value: Buffer }> = [];
  await consumer.run({
    eachMessage: async ({ message }) => {
      if (message.value && decodeEvent(Topics.imageInventory, message.value).scanId === scanId) published.push({ key: message.key!, value: message.value });
    },
  });
  await waitUntil(() => (published.length > 0 ? true : undefined), 60_000, 'the image.inventory event');
  await consumer.disconnect();
  assert.equal(published.length, 1, 'the merger handed the scan to the matcher once');

  // Re-deliver both, and scan the same image again under a new scan id.
  await d.submit(tiny.ref, { scanId });
  await d.publishRaw(Topics.imageInventory, published[0]!.key.toString(), published[0]!.value);
  const rescan = await d.submit(tiny.ref);

  await waitUntil(
    () => d.events.find((e) => e.service === 'fetcher' && e.stage === 'resolve' && e.scanId === scanId && e.outcome === 'skipped'),
    60_000,
    'the fetcher to skip the replayed request',
  );
  await waitUntil(
    () => d.events.find((e) => e.service === 'matcher' && e.scanId === scanId && e.outcome === 'duplicate'),
    60_000,
    'the matcher to see the replayed inventory',
  );
  const again = await outside.waitFor(() => outside.completed.find((c) => c.scanId === rescan), 180_000, 'the rescan');
  assert.equal(again.findingsPublished, false);
  assert.equal(again.report?.key, record.reportKey);
  // Findings would have been published before the rescan's completion event; give the outside
  // consumer a moment to receive anything else that is in flight.
  await new Promise((r) => setTimeout(r, 3_000));

  assert.equal(outside.findings.filter((f) => f.manifestDigest === findings.manifestDigest).length, 1, 'one findings event per (digest, DB version)');
  assert.deepEqual(await d.store.getObject(record.reportKey!), report, 'the stored report is unchanged');
  assert.deepEqual(await d.store.getObject(record.resultKey!), result, 'the stored result is unchanged');
  assert.deepEqual(await d.scanRecord(scanId), record, 'the finished scan record is unchanged');
  const rescanRecord = await d.scanRecord(rescan);
  assert.equal(rescanRecord?.status, 'COMPLETED');
  assert.deepEqual(rescanRecord?.counts, record.counts);
  assert.equal(rescanRecord?.findingsPublished, false);
  assert.deepEqual(rescanRecord?.layers, { total: 2, cached: 2 }, 'the rescan reused every layer');
  assert.ok(!d.events.some((e) => e.scanId === rescan && (e.outcome === 'fetched' || e.outcome === 'analyzed')), 'the rescan fetched and analyzed nothing');
});
