// The gateway against the real Kafka and MinIO: the pipeline stages are played by the test (it
// consumes scan.requested and publishes findings / scan.failed like the matcher and fetcher do).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { createS3BlobStore, putJson, type BlobStore } from '@strata/blobstore';
import { connectKafkaBus, type EventBus, type Subscription } from '@strata/bus';
import {
  FailureCode,
  FindingsKind,
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
  SCAN_ID_METADATA,
  ScanService,
  ScanStage,
  ScanStatus,
  Severity,
  Topics,
  connect,
  decodeEvent,
  encodeKeyedEvent,
  isServiceError,
  type Connection,
  type EventInit,
  type EventTopic,
  type FindingsPublished,
  type MethodsOf,
  type ScanRequested,
} from '@strata/contracts';
import { createLogger } from '@strata/log';
import { advanceScanRecord, readScanRecord } from '@strata/scan-records';
import { deleteTopicsOfRun, infra, skipUnless, uniqueName } from '@strata/testing';
import { startGateway, type Gateway } from './gateway.js';
import { dropStore } from './testing/index.js';

const skip = skipUnless('kafka', 'minio');
const runId = `gw${randomBytes(4).toString('hex')}`;
// Topics of this run carry a prefix (as STRATA_TOPIC_PREFIX does), so no other suite's services see them.
const topic = (logical: EventTopic) => `${runId}.${logical}`;
const logger = createLogger({ service: 'gateway-test', level: process.env.STRATA_LOG_LEVEL ?? 'warn' });

type ScanClient = Connection<MethodsOf<typeof ScanService>>;

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function rejectsWith(promise: Promise<unknown>, code: grpc.status, details?: RegExp): Promise<grpc.ServiceError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isServiceError(error), `expected a gRPC error, got ${String(error)}`);
    assert.equal(error.code, code, `expected ${grpc.status[code]}, got ${grpc.status[error.code]}: ${error.details}`);
    if (details) assert.match(error.details, details);
    return error;
  }
  assert.fail(`expected ${grpc.status[code]}, the call succeeded`);
}

function publishEvent<T extends typeof Topics.findings | typeof Topics.scanFailed | typeof Topics.scanCompleted>(
  bus: EventBus,
  logical: T,
  event: EventInit<T>,
) {
  const { key, value } = encodeKeyedEvent(logical, event);
  return bus.publish(topic(logical), [{ key, value }]);
}

/** Plays the pipeline's first consumer: collects every ScanRequested of this run. */
async function watchScanRequests(bus: EventBus) {
  const seen: { key: string; event: ScanRequested }[] = [];
  const subscription: Subscription = await bus.subscribe({
    group: `strata-test-requests-${runId}`,
    topics: [topic(Topics.scanRequested)],
    fromBeginning: true,
    handler: (message) => {
      const event = decodeEvent(Topics.scanRequested, message.value);
      if (event.imageRef.includes(runId)) seen.push({ key: message.key, event });
    },
  });
  return {
    subscription,
    next: (imageRef: string) => waitFor(`ScanRequested for ${imageRef}`, () => seen.find((s) => s.event.imageRef === imageRef)),
  };
}

/** A report in the stored shape (Trivy schema v2 subset); the gateway treats it as opaque bytes. */
function sampleReport(imageRef: string, manifestDigest: string) {
  return {
    SchemaVersion: 2,
    CreatedAt: new Date().toISOString(),
    ArtifactName: imageRef,
    ArtifactType: 'container_image',
    Metadata: { ImageID: manifestDigest },
    Results: [
      {
        Target: `${imageRef} (debian 12.7)`,
        Class: 'os-pkgs',
        Type: 'debian',
        Vulnerabilities: [
          { VulnerabilityID: 'CVE-2024-0001', PkgName: 'libexpat1', Severity: 'HIGH' },
          { VulnerabilityID: 'CVE-2024-0002', PkgName: 'zstd', Severity: 'LOW' },
          { VulnerabilityID: 'CVE-2024-0003', PkgName: 'zstd', Severity: 'LOW' },
        ],
      },
    ],
  };
}

function fakeDigest(): string {
  return `sha256:${randomBytes(32).toString('hex')}`;
}

// Every topic this run created (the gateways' dead-letter topics) has the run id in its name.
after(() => deleteTopicsOfRun(runId));

/** Collects a WatchFindings stream into `into` until it ends or is cancelled. */
async function collect(stream: AsyncIterable<FindingsPublished>, into: FindingsPublished[]): Promise<void> {
  try {
    for await (const event of stream) into.push(event);
  } catch (error) {
    if (!(isServiceError(error) && error.code === grpc.status.CANCELLED)) throw error;
  }
}

/** The gateway's count of open WatchFindings streams. */
const watchStreams = (metrics: Registry): Promise<number> =>
  metrics
    .getSingleMetric('strata_gateway_watch_streams')!
    .get()
    .then((m) => m.values[0]?.value ?? 0);

/**
 * A gateway on a Kafka client and a fresh bucket of its own (`name` tells the suites apart: client id
 * and event group), with the topics it publishes and reads in place.
 */
async function startTestGateway(
  name: string,
  bucketPrefix: string,
  options: Partial<Parameters<typeof startGateway>[0]>,
): Promise<{ bus: EventBus; store: BlobStore; gateway: Gateway }> {
  const bus = await connectKafkaBus({
    brokers: infra.kafka()!.brokers,
    clientId: name,
    sessionTimeoutMs: 6000,
    heartbeatIntervalMs: 500,
    rebalanceTimeoutMs: 10000,
  });
  const store = await createS3BlobStore({ ...infra.s3()!, bucket: uniqueName(bucketPrefix).toLowerCase().slice(0, 63) });
  await bus.ensureTopics([Topics.scanRequested, Topics.findings, Topics.scanCompleted, Topics.scanFailed].map(topic), 4);
  const gateway = await startGateway({
    bus,
    store,
    logger,
    host: '127.0.0.1',
    port: 0,
    pollIntervalMs: 200,
    eventGroup: `strata-${name}-${runId}`,
    topic,
    ...options,
  });
  return { bus, store, gateway };
}

describe('gateway on Kafka + MinIO', { skip }, () => {
  let bus: EventBus;
  let store: BlobStore;
  let gateway: Gateway;
  let client: ScanClient;
  let requests: Awaited<ReturnType<typeof watchScanRequests>>;
  const metrics = new Registry();
  const image = (name: string) => `127.0.0.1:15000/strata/${runId}-${name}:v1`;

  before(async () => {
    ({ bus, store, gateway } = await startTestGateway('gateway-test', 'gw', { metricsRegistry: metrics }));
    client = connect(ScanService, gateway.address);
    requests = await watchScanRequests(bus);
  });

  after(async () => {
    client?.close();
    await gateway?.close(2000);
    await requests?.subscription.stop();
    await bus?.close();
    if (store) await dropStore(store);
  });

  test('ScanImage records the scan as QUEUED and publishes ScanRequested keyed by the image ref', async () => {
    const ref = image('submit');
    const response = await client.client.scanImage({ imageRef: ref, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } });
    assert.equal(response.status, ScanStatus.QUEUED);
    assert.match(response.scanId, /^[0-9a-f-]{36}$/);
    const { key, event } = await requests.next(ref);
    assert.equal(key, ref);
    assert.equal(event.scanId, response.scanId);
    assert.equal(event.platform?.architecture, 'arm64');
    assert.equal(event.platform?.variant, 'v8');
    const record = await readScanRecord(store, response.scanId);
    assert.equal(record?.status, 'QUEUED');
    assert.equal(record?.imageRef, ref);
    const report = await client.client.getReport({ selector: { case: 'scanId', value: response.scanId } });
    assert.equal(report.status, ScanStatus.QUEUED);
    assert.equal(report.content.length, 0);
  });

  test('ScanImage(wait) sends the scan id as a header before its answer (and in the trailers of an error); many waiting calls raise no listener warning', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const calls = Array.from({ length: 12 }, async (_, i) => {
        const ref = image(`header-${i}`);
        let headerId: string | undefined;
        let headerFirst = false;
        const error = await rejectsWith(
          client.client
            .scanImage({ imageRef: ref, wait: true }, { timeoutMs: 3_000, onMetadata: (metadata) => (headerId = String(metadata.get(SCAN_ID_METADATA)[0])) })
            .finally(() => {
              headerFirst = headerId !== undefined;
            }),
          grpc.status.DEADLINE_EXCEEDED,
        );
        return { ref, headerId, headerFirst, trailerId: error.metadata.get(SCAN_ID_METADATA)[0] };
      });
      for (const { ref, headerId, headerFirst, trailerId } of await Promise.all(calls)) {
        assert.ok(headerFirst, `the scan id of ${ref} arrived before the answer`);
        assert.match(headerId ?? '', /^[0-9a-f-]{36}$/);
        const record = await readScanRecord(store, headerId!);
        assert.equal(record?.imageRef, ref, 'the header names the recorded scan');
        // The client's own deadline ends the call, so the server's trailers may not arrive; when they do, they agree.
        if (trailerId !== undefined) assert.equal(trailerId, headerId);
      }
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(
        warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message),
        [],
      );
    } finally {
      process.removeListener('warning', onWarning);
    }
  });

  test('ScanImage rejects a bad reference or a local path with INVALID_ARGUMENT and the reason', async () => {
    await rejectsWith(client.client.scanImage({ imageRef: 'UPPER/Case:tag' }), grpc.status.INVALID_ARGUMENT, /invalid image reference "UPPER\/Case:tag": .+/);
    await rejectsWith(client.client.scanImage({ imageRef: '' }), grpc.status.INVALID_ARGUMENT, /empty image reference/);
    await rejectsWith(client.client.scanImage({ imageRef: 'oci:/tmp/layout:v1' }), grpc.status.INVALID_ARGUMENT, /registry images only/);
  });

  test('GetReport: unknown scan id or digest is NOT_FOUND, a malformed one INVALID_ARGUMENT', async () => {
    await rejectsWith(client.client.getReport({ selector: { case: 'scanId', value: 'no-such-scan' } }), grpc.status.NOT_FOUND, /no scan no-such-scan/);
    await rejectsWith(client.client.getReport({ selector: { case: 'manifestDigest', value: fakeDigest() } }), grpc.status.NOT_FOUND, /no report for manifest/);
    await rejectsWith(client.client.getReport({ selector: { case: 'scanId', value: '../etc' } }), grpc.status.INVALID_ARGUMENT);
    await rejectsWith(client.client.getReport({ selector: { case: 'manifestDigest', value: 'sha256:zz' } }), grpc.status.INVALID_ARGUMENT);
    await rejectsWith(client.client.getReport({}), grpc.status.INVALID_ARGUMENT, /scan_id or a manifest_digest/);
  });

  test('GetReport of a FAILED scan record returns FAILED with the stage, code and reason', async () => {
    const scanId = `failed-${runId}`;
    const reason = `manifest unknown: ${image('missing')} does not exist in 127.0.0.1:15000`;
    await advanceScanRecord(
      store,
      { scanId, imageRef: image('missing') },
      { status: 'FAILED', stage: 'RESOLVE', error: { stage: 'RESOLVE', code: 'IMAGE_NOT_FOUND', reason } },
    );
    const report = await client.client.getReport({ selector: { case: 'scanId', value: scanId } });
    assert.equal(report.status, ScanStatus.FAILED);
    assert.equal(report.error?.reason, reason);
    assert.equal(report.error?.stage, ScanStage.RESOLVE);
    assert.equal(report.error?.code, FailureCode.IMAGE_NOT_FOUND);
    assert.equal(report.imageRef, image('missing'));
    assert.equal(report.content.length, 0);
  });

  test('ScanImage(wait) returns the report of the findings event, and WatchFindings streams that event', async () => {
    const ref = image('findings');
    const manifestDigest = fakeDigest();
    const dbVersion = `db-${runId}`;
    const reportKey = `reports/${manifestDigest}/${dbVersion}.json`;

    const watch = new AbortController();
    const streamed: FindingsPublished[] = [];
    const watching = collect(client.client.watchFindings({ repositoryPrefixes: [`127.0.0.1:15000/strata/${runId}-find`] }, { signal: watch.signal }), streamed);
    const streams = () => watchStreams(metrics);
    await waitFor('the watch stream to be open', async () => ((await streams()) === 1 ? true : undefined));

    const waiting = client.client.scanImage({ imageRef: ref, wait: true }, { timeoutMs: 60_000 });
    const { event: requested } = await requests.next(ref);
    const report = sampleReport(ref, manifestDigest);
    await putJson(store, reportKey, report);
    // Another image's event on the same topic must reach neither the waiter nor this watcher.
    await publishEvent(bus, Topics.findings, {
      scanId: `other-${runId}`,
      imageRef: 'registry.example/other/image:1',
      manifestDigest: fakeDigest(),
      advisoryDbVersion: dbVersion,
      kind: FindingsKind.FULL,
      counts: { high: 9 },
    });
    await publishEvent(bus, Topics.findings, {
      scanId: requested.scanId,
      imageRef: ref,
      manifestDigest,
      advisoryDbVersion: dbVersion,
      counts: { high: 1, low: 2 },
      report: { bucket: 'strata', key: reportKey },
      kind: FindingsKind.FULL,
    });

    const response = await waiting;
    assert.equal(response.status, ScanStatus.COMPLETED);
    assert.equal(response.scanId, requested.scanId);
    assert.deepEqual(JSON.parse(Buffer.from(response.report).toString('utf8')), report);
    assert.equal(response.manifestDigest, manifestDigest);
    assert.equal(response.advisoryDbVersion, dbVersion);
    assert.equal(response.counts?.high, 1);
    assert.equal(response.counts?.low, 2);

    const event = await waitFor('the streamed findings event', () => streamed.find((e) => e.scanId === requested.scanId));
    assert.equal(event.manifestDigest, manifestDigest);
    assert.equal(event.report?.key, reportKey);
    assert.equal(streamed.length, 1, 'the other image was filtered out');

    // The newest report of the manifest, in JSON by default.
    const byDigest = await client.client.getReport({ selector: { case: 'manifestDigest', value: manifestDigest } });
    assert.equal(byDigest.status, ScanStatus.COMPLETED);
    assert.deepEqual(JSON.parse(Buffer.from(byDigest.content).toString('utf8')), report);
    assert.equal(byDigest.imageRef, ref);
    assert.equal(byDigest.counts?.high, 1);
    assert.equal(byDigest.counts?.low, 2);

    // A client that cancels ends its stream on the server too.
    watch.abort();
    await watching;
    await waitFor('the watch stream to close on the server', async () => ((await streams()) === 0 ? true : undefined));
  });

  test('ScanImage(wait) returns FAILED with the reason of a scan.failed event', async () => {
    const ref = image('failing');
    const waiting = client.client.scanImage({ imageRef: ref, wait: true }, { timeoutMs: 60_000 });
    const { event: requested } = await requests.next(ref);
    const reason = `401 Unauthorized from 127.0.0.1:15001 for ${ref}`;
    await publishEvent(bus, Topics.scanFailed, {
      scanId: requested.scanId,
      imageRef: ref,
      stage: ScanStage.RESOLVE,
      code: FailureCode.UNAUTHORIZED,
      reason,
    });
    const response = await waiting;
    assert.equal(response.status, ScanStatus.FAILED);
    assert.equal(response.error?.reason, reason);
    assert.equal(response.error?.code, FailureCode.UNAUTHORIZED);
    assert.equal(response.report.length, 0);
  });

  /** A ScanImage(wait) call for a new image, its scan.requested event, and the report already stored for it. */
  async function waitingScanWithReport(name: string) {
    const ref = image(name);
    const manifestDigest = fakeDigest();
    const reportKey = `reports/${manifestDigest}/db-${runId}.json`;
    const waiting = client.client.scanImage({ imageRef: ref, wait: true }, { timeoutMs: 60_000 });
    const { event: requested } = await requests.next(ref);
    await putJson(store, reportKey, sampleReport(ref, manifestDigest));
    return { ref, manifestDigest, reportKey, waiting, requested };
  }

  test('ScanImage(wait) also completes from the scan record alone (no findings event for an already-reported image)', async () => {
    const { ref, manifestDigest, reportKey, waiting, requested } = await waitingScanWithReport('cached');
    await advanceScanRecord(
      store,
      { scanId: requested.scanId, imageRef: ref },
      { status: 'COMPLETED', stage: 'MATCH', manifestDigest, reportKey, counts: { unknown: 0, low: 2, medium: 0, high: 1, critical: 0 } },
    );
    const response = await waiting;
    assert.equal(response.status, ScanStatus.COMPLETED);
    assert.equal(response.counts?.high, 1);
    assert.equal(JSON.parse(Buffer.from(response.report).toString('utf8')).ArtifactName, ref);
    const report = await client.client.getReport({ selector: { case: 'scanId', value: requested.scanId } });
    assert.equal(report.status, ScanStatus.COMPLETED);
    assert.equal(report.manifestDigest, manifestDigest);
    assert.equal(JSON.parse(Buffer.from(report.content).toString('utf8')).ArtifactName, ref);
  });

  test('ScanImage(wait) completes from a scan.completed event (a rescan publishes no findings event)', async () => {
    const { ref, manifestDigest, reportKey, waiting, requested } = await waitingScanWithReport('completed');
    await publishEvent(bus, Topics.scanCompleted, {
      scanId: requested.scanId,
      imageRef: ref,
      manifestDigest,
      advisoryDbVersion: `db-${runId}`,
      counts: { high: 1, low: 2 },
      report: { key: reportKey },
      findingsPublished: false,
    });
    const response = await waiting;
    assert.equal(response.status, ScanStatus.COMPLETED);
    assert.equal(response.manifestDigest, manifestDigest);
    assert.equal(response.counts?.low, 2);
    assert.equal(JSON.parse(Buffer.from(response.report).toString('utf8')).ArtifactName, ref);
    // Only the event said so: the record was never completed.
    assert.equal((await readScanRecord(store, requested.scanId))?.status, 'QUEUED');
  });

  test('ScanImage(wait) past its deadline is DEADLINE_EXCEEDED and the scan stays recorded', async () => {
    const ref = image('slow');
    await rejectsWith(client.client.scanImage({ imageRef: ref, wait: true }, { timeoutMs: 1500 }), grpc.status.DEADLINE_EXCEEDED);
    const { event } = await requests.next(ref);
    assert.equal((await readScanRecord(store, event.scanId))?.status, 'QUEUED');
    await waitFor('the waiter to be released', async () => {
      const value = (await metrics.getSingleMetric('strata_gateway_waiting_scans')!.get()).values[0]?.value;
      return value === 0 ? true : undefined;
    });
  });

  test('WatchFindings filters by kind, digest and minimum severity', async () => {
    const digest = fakeDigest();
    const received: FindingsPublished[] = [];
    const watch = new AbortController();
    const watching = collect(
      client.client.watchFindings({ manifestDigests: [digest], kinds: [FindingsKind.DELTA], minSeverity: Severity.HIGH }, { signal: watch.signal }),
      received,
    );
    await waitFor('the watch stream to be open', async () => ((await watchStreams(metrics)) === 1 ? true : undefined));
    const base = { imageRef: image('delta'), manifestDigest: digest, advisoryDbVersion: `db2-${runId}` };
    await publishEvent(bus, Topics.findings, { ...base, scanId: 'full', kind: FindingsKind.FULL, counts: { critical: 3 } });
    await publishEvent(bus, Topics.findings, {
      ...base,
      scanId: 'low-delta',
      kind: FindingsKind.DELTA,
      added: [{ vulnerabilityId: 'CVE-1', severity: Severity.LOW }],
    });
    await publishEvent(bus, Topics.findings, {
      ...base,
      manifestDigest: fakeDigest(),
      scanId: 'other-digest',
      kind: FindingsKind.DELTA,
      added: [{ vulnerabilityId: 'CVE-2', severity: Severity.CRITICAL }],
    });
    await publishEvent(bus, Topics.findings, {
      ...base,
      scanId: 'high-delta',
      kind: FindingsKind.DELTA,
      added: [{ vulnerabilityId: 'CVE-3', severity: Severity.HIGH }],
    });
    await waitFor('the matching delta', () => (received.some((e) => e.scanId === 'high-delta') ? true : undefined));
    // Same partition (same key) for every event but 'other-digest', so the earlier ones were seen first.
    assert.deepEqual(
      received.map((e) => e.scanId),
      ['high-delta'],
    );
    watch.abort();
    await watching;
  });

  test('ListAffectedImages is UNIMPLEMENTED on a gateway started without the reverse index', async () => {
    await rejectsWith(client.client.listAffectedImages({ query: { case: 'advisoryId', value: 'CVE-2024-0001' } }), grpc.status.UNIMPLEMENTED, /reverse index/);
  });

  test('health answers SERVING for the server and ScanService', async () => {
    const health = connect(Health, gateway.address);
    try {
      assert.equal((await health.client.check({ service: '' })).status, ServingStatus.SERVING);
      assert.equal((await health.client.check({ service: 'strata.v1.ScanService' })).status, ServingStatus.SERVING);
    } finally {
      health.close();
    }
  });

  test('metrics count requests by method and code', async () => {
    // Every ScanService method runs through the same wrapper: each one called above is timed and
    // counted by its final code (the aborted WatchFindings streams as CANCELLED).
    const counted = (text: string, method: string) =>
      new RegExp(`strata_gateway_request_duration_seconds_count\\{method="${method}"\\} [1-9]`).test(text) &&
      new RegExp(`strata_gateway_requests_total\\{method="${method}",code="[A-Z_]+"\\} [1-9]`).test(text);
    const text = await waitFor('every ScanService method measured', async () => {
      const t = await metrics.metrics();
      return ScanService.methods.every((m) => counted(t, m.name)) ? t : undefined;
    });
    assert.match(text, /strata_gateway_requests_total\{method="WatchFindings",code="CANCELLED"\} [1-9]/);
    assert.match(text, /strata_gateway_requests_total\{method="ListAffectedImages",code="UNIMPLEMENTED"\} 1/);
    assert.match(text, /strata_gateway_requests_total\{method="GetReport",code="NOT_FOUND"\} [1-9]/);
    assert.match(text, /strata_gateway_requests_total\{method="ScanImage",code="INVALID_ARGUMENT"\} 3/);
    assert.match(text, /strata_gateway_scans_submitted_total [1-9]/);
    assert.match(text, new RegExp(`strata_gateway_events_received_total\\{topic="${runId}\\.strata\\.findings\\.v1"\\} [1-9]`));
  });
});

describe('gateway auth and shutdown', { skip }, () => {
  let bus: EventBus;
  let store: BlobStore;
  let gateway: Gateway;
  const token = randomBytes(16).toString('hex');

  before(async () => {
    ({ bus, store, gateway } = await startTestGateway('gateway-test-auth', 'gwa', { token }));
  });

  after(async () => {
    await gateway?.close(2000);
    await bus?.close();
    if (store) await dropStore(store);
  });

  test('with a token configured: no token or a wrong one is UNAUTHENTICATED, the right one passes, health needs none', async () => {
    const anonymous = connect(ScanService, gateway.address);
    const wrong = connect(ScanService, gateway.address, { token: 'not-the-token' });
    const right = connect(ScanService, gateway.address, { token });
    const health = connect(Health, gateway.address);
    try {
      const request = { selector: { case: 'scanId' as const, value: 'no-such-scan' } };
      await rejectsWith(anonymous.client.getReport(request), grpc.status.UNAUTHENTICATED, /missing bearer token/);
      await rejectsWith(anonymous.client.scanImage({ imageRef: 'alpine:3.20' }), grpc.status.UNAUTHENTICATED);
      await rejectsWith(wrong.client.getReport(request), grpc.status.UNAUTHENTICATED, /invalid bearer token/);
      // Past auth: the handler itself answers.
      await rejectsWith(right.client.getReport(request), grpc.status.NOT_FOUND);
      assert.equal((await health.client.check({ service: '' })).status, ServingStatus.SERVING);
    } finally {
      for (const c of [anonymous, wrong, right, health]) c.close();
    }
  });

  test('close(): a waiting ScanImage gets UNAVAILABLE naming its scan, then the server stops answering', async () => {
    const client = connect(ScanService, gateway.address, { token });
    const health = connect(Health, gateway.address);
    try {
      const ref = `127.0.0.1:15000/strata/${runId}-shutdown:v1`;
      const waiting = client.client.scanImage({ imageRef: ref, wait: true }, { timeoutMs: 60_000 });
      await waitFor('the scan record', async () => {
        for await (const key of store.list('scans/')) return key;
        return undefined;
      });
      const closing = gateway.close(5000);
      const error = await rejectsWith(waiting, grpc.status.UNAVAILABLE, /shutting down; scan [0-9a-f-]{36} keeps running/);
      const scanId = /scan ([0-9a-f-]{36})/.exec(error.details)![1]!;
      assert.equal((await readScanRecord(store, scanId))?.status, 'QUEUED');
      await closing;
      await rejectsWith(health.client.check({ service: '' }, { timeoutMs: 2000 }), grpc.status.UNAVAILABLE);
    } finally {
      client.close();
      health.close();
    }
  });
});
