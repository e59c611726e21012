// The runtime on the real Kafka and MinIO: events in and out by contract, dead letters for bytes
// that are no event, metrics and health on HTTP, and a graceful stop that lets the in-flight
// message finish and commits it.
import assert from 'node:assert/strict';
import test, { type TestContext } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'minio';
import { dlqTopic } from '@strata/bus';
import { Topics, type EventOf } from '@strata/contracts';
import { infra, skipUnless, uniqueName } from '@strata/testing';
import { createRuntime, loadServiceConfig, type Runtime } from './index.js';

const skip = skipUnless('kafka', 'minio');

function envFor(prefix: string, bucket: string): Record<string, string> {
  const s3 = infra.s3()!;
  return {
    KAFKA_BROKERS: infra.kafka()!.brokers.join(','),
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    KAFKA_HEARTBEAT_INTERVAL_MS: '1000',
    S3_ENDPOINT: `http://${s3.endPoint}:${s3.port}`,
    S3_ACCESS_KEY: s3.accessKey,
    S3_SECRET_KEY: s3.secretKey,
    S3_BUCKET: bucket,
    STRATA_TOPIC_PREFIX: prefix,
    STRATA_TOPIC_PARTITIONS: '2',
    STRATA_MAX_ATTEMPTS: '2',
    STRATA_RETRY_INITIAL_MS: '50',
    STRATA_RETRY_MAX_MS: '100',
    STRATA_LOG_LEVEL: 'warn',
    STRATA_BUS_LOG_LEVEL: 'fatal',
  };
}

/** A topic prefix and a bucket of this test alone, removed after it. */
function isolated(t: TestContext, name: string): { prefix: string; bucket: string } {
  const prefix = `${uniqueName(`t-${name}`)}.`;
  const bucket = uniqueName(`strata-${name}`).toLowerCase();
  t.after(() => cleanup(prefix, bucket));
  return { prefix, bucket };
}

async function cleanup(prefix: string, bucket: string): Promise<void> {
  const admin = new Kafka({ brokers: infra.kafka()!.brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix) || t.startsWith(`strata.dlq.${prefix}`));
  if (topics.length) await admin.deleteTopics({ topics });
  await admin.disconnect();
  const s3 = infra.s3()!;
  const client = new Client({ endPoint: s3.endPoint, port: s3.port, useSSL: false, accessKey: s3.accessKey, secretKey: s3.secretKey });
  if (await client.bucketExists(bucket)) await client.removeBucket(bucket);
}

const waitFor = async <T>(pick: () => T | undefined, what: string, ms = 60_000): Promise<T> => {
  const end = Date.now() + ms;
  for (;;) {
    const v = pick();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

test('events flow by contract; undecodable bytes are dead-lettered; metrics and health are served; stop finishes in-flight work', {
  skip,
  timeout: 180_000,
}, async (t) => {
  const { prefix, bucket } = isolated(t, 'runtime');
  const config = loadServiceConfig({}, envFor(prefix, bucket));
  const runtime: Runtime = await createRuntime('probe', config, { processMetrics: false });
  let stopped = false;
  t.after(() => (stopped ? undefined : runtime.abort()));

  // Every pipeline topic exists, under the prefix.
  const admin = new Kafka({ brokers: config.KAFKA_BROKERS, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const topics = await admin.listTopics();
  await admin.disconnect();
  for (const logical of Object.values(Topics)) assert.ok(topics.includes(`${prefix}${logical}`), `${logical} created`);

  const seen: EventOf<typeof Topics.scanFailed>[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  await runtime.consume({
    group: 'probe',
    topic: Topics.scanFailed,
    handler: async (event) => {
      seen.push(event);
      if (event.reason === 'slow') await gate;
    },
  });
  await runtime.publish(Topics.scanFailed, { scanId: 's-1', imageRef: 'r/a:1', reason: 'fast' });
  await waitFor(() => seen.find((e) => e.scanId === 's-1'), 'the first event');

  // Garbage on the topic: dead-lettered, counted, and the partition keeps flowing.
  const producer = new Kafka({ brokers: config.KAFKA_BROKERS, logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  await producer.send({ topic: runtime.topic(Topics.scanFailed), messages: [{ key: 's-1', value: Buffer.from([0xff, 0xff, 0xff]) }] });
  await producer.disconnect();
  await runtime.publish(Topics.scanFailed, { scanId: 's-1', imageRef: 'r/a:1', reason: 'after garbage' });
  await waitFor(() => seen.find((e) => e.reason === 'after garbage'), 'the event after the garbage');
  assert.equal(await runtime.metrics.value('strata_events_handled_total', { outcome: 'dead_letter' }), 1);
  assert.equal(await runtime.metrics.value('strata_events_handled_total', { outcome: 'ok' }), 2);

  const dlq = new Kafka({ brokers: config.KAFKA_BROKERS, logLevel: logLevel.NOTHING }).consumer({ groupId: `${prefix}dlq-reader` });
  await dlq.connect();
  await dlq.subscribe({ topics: [dlqTopic(`${prefix}probe`)], fromBeginning: true });
  const dead: string[] = [];
  await dlq.run({ eachMessage: async ({ message }) => void dead.push(String(message.headers?.['strata-dlq-error'])) });
  await waitFor(() => (dead.length ? true : undefined), 'the dead letter');
  await dlq.disconnect();
  assert.match(dead[0]!, /cannot decode strata\.v1\.ScanFailed/);

  const health = await fetch(`${runtime.opsUrl}/healthz`);
  assert.equal(health.status, 200);
  const metrics = await (await fetch(`${runtime.opsUrl}/metrics`)).text();
  assert.match(metrics, /strata_events_handled_total\{topic="[^"]+",outcome="ok",service="probe"\} 2/);
  assert.match(metrics, new RegExp(`strata_consumer_lag\\{group="${prefix.replace(/\./g, '\\.')}probe"`));

  // Graceful stop while a handler runs: it finishes, its offset is committed.
  await runtime.publish(Topics.scanFailed, { scanId: 's-1', imageRef: 'r/a:1', reason: 'slow' });
  await waitFor(() => seen.find((e) => e.reason === 'slow'), 'the slow event');
  const stopping = runtime.close();
  stopped = true;
  await new Promise((r) => setTimeout(r, 300));
  release();
  await stopping;
  assert.equal(runtime.health().ok, false);

  // A new member of the group starts after the committed slow message: nothing is redelivered.
  const again = await createRuntime('probe', config, { processMetrics: false });
  t.after(() => again.close());
  const redelivered: string[] = [];
  await again.consume({ group: 'probe', topic: Topics.scanFailed, handler: async (event) => void redelivered.push(event.reason) });
  await again.publish(Topics.scanFailed, { scanId: 's-1', imageRef: 'r/a:1', reason: 'marker' });
  await waitFor(() => (redelivered.includes('marker') ? true : undefined), 'the marker event');
  assert.deepEqual(redelivered, ['marker']);
});

test('findings topic: retention from STRATA_FINDINGS_RETENTION_MS (changed on restart), never compacted; a lagging subscriber group loses nothing', {
  skip,
  timeout: 180_000,
}, async (t) => {
  const { prefix, bucket } = isolated(t, 'retention');
  const kafka = new Kafka({ brokers: infra.kafka()!.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.after(() => admin.disconnect());
  const findingsTopic = `${prefix}${Topics.findings}`;
  const topicSettings = async () => {
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: 2 /* TOPIC */, name: findingsTopic, configNames: ['retention.ms', 'cleanup.policy'] }],
    });
    return Object.fromEntries((resources[0]?.configEntries ?? []).map((e) => [e.configName, e.configValue]));
  };

  const first = await createRuntime('retention', loadServiceConfig({}, { ...envFor(prefix, bucket), STRATA_FINDINGS_RETENTION_MS: '86400000' }), {
    processMetrics: false,
  });
  assert.deepEqual(await topicSettings(), { 'retention.ms': '86400000', 'cleanup.policy': 'delete' });
  // A subscriber group reads the first 10 of 30 events, commits and goes away.
  const event = (i: number) => ({ manifestDigest: `sha256:${String(i % 3).padStart(64, '0')}`, imageRef: `img-${i}`, advisoryDbVersion: `v${i}` });
  await first.publishAll(
    Topics.findings,
    Array.from({ length: 30 }, (_, i) => event(i)),
  );
  const seen: string[] = [];
  const consume = async (until: number) => {
    const consumer = kafka.consumer({ groupId: `${prefix}lagging`, sessionTimeout: 6000, heartbeatInterval: 1000 });
    await consumer.connect();
    await consumer.subscribe({ topics: [findingsTopic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        if (seen.length >= until) return;
        seen.push(Buffer.from(message.value ?? []).toString('latin1'));
        await consumer.commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }]);
      },
    });
    await waitFor(() => (seen.length >= until ? true : undefined), `${until} events`);
    await consumer.disconnect();
  };
  await consume(10);
  await first.publishAll(
    Topics.findings,
    Array.from({ length: 30 }, (_, i) => event(30 + i)),
  );
  await first.close();

  // Restarted with another retention: the topic follows; the group picks up exactly where it was.
  const second = await createRuntime('retention', loadServiceConfig({}, { ...envFor(prefix, bucket), STRATA_FINDINGS_RETENTION_MS: '-1' }), {
    processMetrics: false,
  });
  t.after(() => second.close());
  assert.deepEqual(await topicSettings(), { 'retention.ms': '-1', 'cleanup.policy': 'delete' });
  await consume(60);
  const refs = seen.map((bytes) => /img-\d+/.exec(bytes)?.[0]).sort();
  assert.deepEqual(refs, Array.from({ length: 60 }, (_, i) => `img-${i}`).sort(), 'every event exactly once');
});
