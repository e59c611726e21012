// Real grpc-js servers and clients on loopback (127.0.0.1, port 0), speaking protobuf-es binary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { create, toBinary } from '@bufbuild/protobuf';
import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  FindingsKind,
  FindingsPublishedSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
  Health,
  HealthClient,
  ReportFormat,
  ScanImageRequestSchema,
  ScanService,
  ScanServiceClient,
  ScanStatus,
  Severity,
  addService,
  bearerAuthInterceptor,
  bearerCallCredentials,
  connect,
  createHealthService,
  healthServiceDefinition,
  healthStatusMap,
  isServiceError,
  promiseClient,
  scanServiceDefinition,
} from './index.js';
import type { Connection, FindingsPublished, MethodsOf, ScanImageRequest, ScanServiceHandlers, WatchFindingsRequest } from './index.js';

interface Harness {
  address: string;
  received: ScanImageRequest[];
  watchRequests: WatchFindingsRequest[];
  watchCancelled: Promise<void>;
  handlerCalls: () => number;
  stop(): void;
}

function findingsEvent(i: number): MessageInitShape<typeof FindingsPublishedSchema> {
  return {
    scanId: `scan-${i}`,
    imageRef: `registry.local/app:${i}`,
    manifestDigest: `sha256:${String(i).repeat(64).slice(0, 64)}`,
    advisoryDbVersion: 'osv-2025-06-01',
    kind: i % 2 === 0 ? FindingsKind.FULL : FindingsKind.DELTA,
    counts: { critical: i, high: 2 * i },
    added: [{ vulnerabilityId: `CVE-2024-000${i}`, packageName: 'openssl', severity: Severity.CRITICAL }],
  };
}

async function startServer(options: grpc.ServerOptions = {}): Promise<Harness> {
  const received: ScanImageRequest[] = [];
  const watchRequests: WatchFindingsRequest[] = [];
  let calls = 0;
  let cancelled!: () => void;
  const watchCancelled = new Promise<void>((resolve) => (cancelled = resolve));

  const handlers: ScanServiceHandlers = {
    scanImage(call, callback) {
      calls++;
      received.push(call.request);
      const report = new TextEncoder().encode(JSON.stringify({ SchemaVersion: 2, ArtifactName: call.request.imageRef }));
      callback(null, {
        scanId: `scan-of-${call.request.imageRef}`,
        status: call.request.wait ? ScanStatus.COMPLETED : ScanStatus.QUEUED,
        report: call.request.wait ? report : new Uint8Array(),
        counts: { high: 3, critical: 1 },
        manifestDigest: 'sha256:feed',
      });
    },
    getReport(call, callback) {
      calls++;
      callback({ code: grpc.status.NOT_FOUND, details: `no scan ${JSON.stringify(call.request.selector.value)}` });
    },
    watchFindings(call) {
      calls++;
      watchRequests.push(call.request);
      call.on('cancelled', () => cancelled());
      if (call.request.manifestDigests.includes('sha256:forever')) {
        // An open-ended stream: one event, then wait for the client to go away.
        call.write(findingsEvent(9));
        return;
      }
      for (const i of [1, 2, 3]) call.write(findingsEvent(i));
      call.end();
    },
    listAffectedImages(_call, callback) {
      calls++;
      callback(null, { images: [{ imageRef: 'registry.local/app:1', manifestDigest: 'sha256:1' }], advisoryDbVersion: 'v1' });
    },
  };

  const health = createHealthService(healthStatusMap({ '': ServingStatus.SERVING, 'strata.v1.ScanService': ServingStatus.SERVING }));
  const server = new grpc.Server(options);
  addService(server, ScanService, handlers);
  addService(server, Health, health.handlers);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
  );
  return {
    address: `127.0.0.1:${port}`,
    received,
    watchRequests,
    watchCancelled,
    handlerCalls: () => calls,
    stop() {
      health.close();
      server.forceShutdown();
    },
  };
}

/** A server and a ScanService client of it, both closed after `run`. */
async function withClient(run: (client: Connection<MethodsOf<typeof ScanService>>['client'], h: Harness) => Promise<void>): Promise<void> {
  const h = await startServer();
  const { client, close } = connect(ScanService, h.address);
  try {
    await run(client, h);
  } finally {
    close();
    h.stop();
  }
}

test('ScanImage: unary call through protobuf-es serialization', async () => {
  await withClient(async (client, h) => {
    const response = await client.scanImage({
      imageRef: 'registry.local/app:1',
      platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
      wait: true,
      options: { ignoreUnfixed: true, severities: [Severity.HIGH, Severity.CRITICAL] },
      credentialsRef: 'local-registry',
    });
    assert.equal(response.scanId, 'scan-of-registry.local/app:1');
    assert.equal(response.status, ScanStatus.COMPLETED);
    assert.equal(response.counts?.high, 3);
    assert.equal(response.counts?.critical, 1);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(response.report)), { SchemaVersion: 2, ArtifactName: 'registry.local/app:1' });

    const seen = h.received[0];
    assert.ok(seen);
    assert.equal(seen.$typeName, 'strata.v1.ScanImageRequest');
    assert.equal(seen.platform?.architecture, 'arm64');
    assert.deepEqual(seen.options?.severities, [Severity.HIGH, Severity.CRITICAL]);
    assert.equal(seen.credentialsRef, 'local-registry');

    const affected = await client.listAffectedImages({ query: { case: 'advisoryId', value: 'CVE-2024-0001' } });
    assert.equal(affected.images[0]?.manifestDigest, 'sha256:1');
  });
});

test('errors come back as ServiceErrors with code and details', async () => {
  await withClient(async (client) => {
    await assert.rejects(client.getReport({ selector: { case: 'scanId', value: 'missing' }, format: ReportFormat.JSON }), (error: unknown) => {
      assert.ok(isServiceError(error));
      assert.equal(error.code, grpc.status.NOT_FOUND);
      assert.equal(error.details, 'no scan "missing"');
      return true;
    });
  });
});

test('WatchFindings: server stream of FindingsPublished, through the generic client constructor', async () => {
  const h = await startServer();
  const raw = new ScanServiceClient(h.address, grpc.credentials.createInsecure());
  const client = promiseClient(ScanService, raw);
  try {
    const events: FindingsPublished[] = [];
    for await (const event of client.watchFindings({ minSeverity: Severity.HIGH, kinds: [FindingsKind.DELTA] })) events.push(event);
    assert.deepEqual(
      events.map((e) => [e.scanId, e.kind, e.counts?.critical, e.added[0]?.vulnerabilityId]),
      [1, 2, 3].map((i) => [`scan-${i}`, i % 2 === 0 ? FindingsKind.FULL : FindingsKind.DELTA, i, `CVE-2024-000${i}`]),
    );
    assert.equal(h.watchRequests[0]?.minSeverity, Severity.HIGH);
    assert.deepEqual(h.watchRequests[0]?.kinds, [FindingsKind.DELTA]);
  } finally {
    raw.close();
    h.stop();
  }
});

test('WatchFindings: leaving the loop early cancels the server stream', async () => {
  await withClient(async (client, h) => {
    for await (const event of client.watchFindings({ manifestDigests: ['sha256:forever'] })) {
      assert.equal(event.scanId, 'scan-9');
      break;
    }
    await h.watchCancelled; // resolves only when the server saw the cancellation
  });
});

test('a request that is not valid protobuf is refused before the handler runs', async () => {
  const h = await startServer();
  const raw = new grpc.Client(h.address, grpc.credentials.createInsecure());
  try {
    const error = await new Promise<grpc.ServiceError | null>((resolve) =>
      raw.makeUnaryRequest(
        '/strata.v1.ScanService/ScanImage',
        () => Buffer.from([0x0f, 0xff, 0xff]),
        (b: Buffer) => b,
        null,
        (e) => resolve(e),
      ),
    );
    assert.ok(error);
    // grpc-js answers INTERNAL "Error deserializing request" and does not forward our
    // ContractDecodeError text to the peer.
    assert.equal(error.code, grpc.status.INTERNAL);
    assert.equal(h.handlerCalls(), 0);
  } finally {
    raw.close();
    h.stop();
  }
});

test('health: Check and Watch per grpc.health.v1', async () => {
  const statuses = healthStatusMap({ '': ServingStatus.SERVING, 'strata.v1.ScanService': ServingStatus.SERVING });
  const health = createHealthService(statuses);
  const server = new grpc.Server();
  server.addService(healthServiceDefinition, health.handlers);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  const raw = new HealthClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const client = promiseClient(Health, raw);
  try {
    assert.equal((await client.check({ service: '' })).status, ServingStatus.SERVING);
    assert.equal((await client.check({ service: 'strata.v1.ScanService' })).status, ServingStatus.SERVING);
    await assert.rejects(client.check({ service: 'no.such.Service' }), (e: unknown) => isServiceError(e) && e.code === grpc.status.NOT_FOUND);

    const seen: ServingStatus[] = [];
    for await (const update of client.watch({ service: 'strata.v1.ScanService' })) {
      seen.push(update.status);
      if (seen.length === 1) statuses.set('strata.v1.ScanService', ServingStatus.NOT_SERVING);
      if (seen.length === 2) health.close(); // ends the stream, so the loop finishes
    }
    assert.deepEqual(seen, [ServingStatus.SERVING, ServingStatus.NOT_SERVING]);

    for await (const update of client.watch({ service: 'no.such.Service' })) {
      assert.equal(update.status, ServingStatus.SERVICE_UNKNOWN);
      break;
    }
  } finally {
    raw.close();
    health.close();
    server.forceShutdown();
  }
});

test('bearer token: the interceptor answers UNAUTHENTICATED before any handler runs', async () => {
  const token = 'tok-' + 'x'.repeat(20);
  const h = await startServer({ interceptors: [bearerAuthInterceptor(token)] });
  const request = { imageRef: 'registry.local/app:1' };
  const anonymous = connect(ScanService, h.address);
  const wrong = connect(ScanService, h.address, { token: 'not-the-token' });
  const right = connect(ScanService, h.address, { token });
  try {
    for (const [client, details] of [
      [anonymous.client, /missing bearer token/],
      [wrong.client, /invalid bearer token/],
    ] as const) {
      await assert.rejects(client.scanImage(request), (e: unknown) => {
        assert.ok(isServiceError(e));
        assert.equal(e.code, grpc.status.UNAUTHENTICATED);
        assert.match(e.details, details);
        assert.ok(!e.details.includes('not-the-token'), 'details must not echo the token');
        return true;
      });
      await assert.rejects(
        async () => {
          for await (const _ of client.watchFindings({})) assert.fail('stream must not yield');
        },
        (e: unknown) => isServiceError(e) && e.code === grpc.status.UNAUTHENTICATED,
      );
    }
    assert.equal(h.handlerCalls(), 0, 'no handler ran for rejected calls');

    assert.equal((await right.client.scanImage(request)).scanId, 'scan-of-registry.local/app:1');
    // Per-call credentials instead of the interceptor.
    const perCall = await anonymous.client.scanImage(request, { credentials: bearerCallCredentials(token) });
    assert.equal(perCall.scanId, 'scan-of-registry.local/app:1');
    assert.equal(h.handlerCalls(), 2);

    // Health stays reachable without a token (probes).
    const health = connect(Health, h.address);
    try {
      assert.equal((await health.client.check({ service: '' })).status, ServingStatus.SERVING);
    } finally {
      health.close();
    }
  } finally {
    anonymous.close();
    wrong.close();
    right.close();
    h.stop();
  }
});

test('service definitions expose protobuf-es codecs for grpc-js', () => {
  const def = scanServiceDefinition.scanImage;
  assert.equal(def.path, '/strata.v1.ScanService/ScanImage');
  assert.equal(def.requestStream, false);
  assert.equal(def.responseStream, false);
  assert.equal(scanServiceDefinition.watchFindings.responseStream, true);
  const request = create(ScanImageRequestSchema, { imageRef: 'a/b:c', wait: true });
  const bytes = def.requestSerialize(request);
  assert.deepEqual(new Uint8Array(bytes), toBinary(ScanImageRequestSchema, request));
  assert.equal(def.requestDeserialize(bytes).imageRef, 'a/b:c');
  assert.equal(healthServiceDefinition.check.path, '/grpc.health.v1.Health/Check');
});
