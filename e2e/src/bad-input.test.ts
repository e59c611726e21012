// Bad input ends in a FAILED scan record and a scan.failed event that say why, and nothing is
// stuck behind it: a missing image, refused credentials, a tampered blob, a local path, an
// undecodable message (dead-lettered). A good scan after them completes.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { dlqTopic, DLQ_HEADERS } from '@strata/bus';
import { FailureCode, ScanStage, Topics } from '@strata/contracts';
import { fileLayer, infra, pushImage, uniqueLayer, uniqueName } from '@strata/testing';
import { baseLayerFixture, createDeployment, fixtureImages, waitUntil } from './testing/harness.js';
import { skipUnlessPipelineInfra } from './testing/gate.js';

const skip = skipUnlessPipelineInfra();

function registryBlobPath(digest: string): string {
  const hex = digest.slice('sha256:'.length);
  const cache = process.env.STRATA_INFRA_CACHE ?? join(process.env.HOME ?? '/root', '.cache/strata-infra');
  return join(cache, 'registry/anonymous/storage/docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
}

test('bad input fails the scan with its reason; a good scan afterwards completes', { skip, timeout: 300_000 }, async (t) => {
  const anonymous = infra.registry('anonymous')!.host;
  const basic = infra.registry('basic')!;
  const tiny = fixtureImages().refs.find((r) => r.registry === 'basic' && r.repository === 'strata/debian-tiny')!;
  const d = await createDeployment('badinput');
  t.after(() => d.teardown());
  await d.start('fetcher', {
    STRATA_REGISTRY_CREDENTIALS: JSON.stringify({
      wrong: { username: basic.username, password: 'not-the-password' },
      right: { username: basic.username, password: basic.password },
    }),
  });
  await Promise.all([d.start('analyzer'), d.start('merger'), d.start('matcher')]);
  const outside = await d.subscriber();

  // A blob whose bytes in the registry no longer match its digest.
  const run = uniqueName('tampered');
  const base = baseLayerFixture();
  const victimLayer = await uniqueLayer(run);
  const tampered = await pushImage(anonymous, 'strata-test/pipeline-test', run, [await fileLayer(base.path, base), victimLayer]);
  const blobFile = registryBlobPath(victimLayer.digest);
  const original = readFileSync(blobFile);
  t.after(() => writeFileSync(blobFile, original));
  writeFileSync(blobFile, randomBytes(original.length));

  const cases = [
    { ref: `${anonymous}/strata-test/pipeline-test-missing:nope`, stage: ScanStage.RESOLVE, code: FailureCode.IMAGE_NOT_FOUND, says: /pipeline-test-missing/ },
    { ref: tiny.ref, credentialsRef: 'wrong', stage: ScanStage.RESOLVE, code: FailureCode.UNAUTHORIZED, says: new RegExp(basic.host.replace(/\./g, '\\.')) },
    { ref: tiny.ref, credentialsRef: 'unknown-entry', stage: ScanStage.RESOLVE, code: FailureCode.UNAUTHORIZED, says: /"unknown-entry" is not configured/ },
    { ref: tampered.ref, stage: ScanStage.FETCH, code: FailureCode.DIGEST_MISMATCH, says: new RegExp(victimLayer.digest), layer: victimLayer.digest },
    { ref: 'oci:/etc:latest', stage: ScanStage.RESOLVE, code: FailureCode.INVALID_REFERENCE, says: /registry reference/ },
  ];
  const submitted = [];
  for (const c of cases) submitted.push({ ...c, scanId: await d.submit(c.ref, c.credentialsRef ? { credentialsRef: c.credentialsRef } : {}) });
  // Bytes that are no ScanRequested at all.
  await d.publishRaw(Topics.scanRequested, 'garbage', Uint8Array.from([0xff, 0xff, 0xff, 0x07, 0x01]));

  for (const c of submitted) {
    const failed = await outside.waitFor(() => outside.failed.find((f) => f.scanId === c.scanId), 180_000, `scan.failed for ${c.ref}`);
    assert.equal(failed.stage, c.stage, `${c.ref}: stage ${ScanStage[failed.stage]} (${failed.reason})`);
    assert.equal(failed.code, c.code, `${c.ref}: code ${FailureCode[failed.code]} (${failed.reason})`);
    assert.match(failed.reason, c.says);
    if (c.layer) assert.equal(failed.layerDigest, c.layer);
    const record = await d.waitForRecord(c.scanId, (r) => r.status === 'FAILED');
    assert.equal(record.error?.code, FailureCode[c.code]);
    assert.equal(record.error?.stage, ScanStage[c.stage]);
    assert.equal(record.error?.reason, failed.reason);
  }
  assert.equal(await d.store.exists(victimLayer.digest), false, 'a blob that failed verification is not in the store');

  // The undecodable message went to the fetcher group's dead-letter topic.
  const kafka = new Kafka({ brokers: infra.kafka()!.brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `${d.prefix}dlq-reader` });
  await consumer.connect();
  await consumer.subscribe({ topics: [dlqTopic(`${d.prefix}strata-fetcher`)], fromBeginning: true });
  const dead: Array<Record<string, string>> = [];
  await consumer.run({
    eachMessage: async ({ message }) => {
      dead.push(Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])));
    },
  });
  await waitUntil(() => (dead.length > 0 ? true : undefined), 60_000, 'the dead letter');
  await consumer.disconnect();
  assert.equal(dead[0]![DLQ_HEADERS.topic], d.topic(Topics.scanRequested));
  assert.match(dead[0]![DLQ_HEADERS.error]!, /cannot decode strata\.v1\.ScanRequested/);

  // Nothing is stuck: a good scan (with the right credentials) completes.
  const good = await d.submit(tiny.ref, { credentialsRef: 'right' });
  await outside.waitFor(() => outside.completed.find((c) => c.scanId === good), 180_000, 'the good scan');
  assert.equal((await d.scanRecord(good))?.status, 'COMPLETED');
});
