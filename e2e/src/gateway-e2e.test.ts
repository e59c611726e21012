// End to end over gRPC on the real Kafka, MinIO and registry: the fetcher, analyzer, merger,
// matcher and gateway run in this process (their start functions, each with its own runtime); the
// `strata` CLI runs as a child process, once embedded and once with --server. The gateway's report
// must equal the embedded CLI's for the same image and advisory DB, and so must the CLI's output.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { FailureCode, ScanService, ScanStatus, Topics, connect, decodeEvent, type FindingsPublished } from '@strata/contracts';
import { gatewaySettings, startGatewayService, type GatewayService } from '@strata/gateway';
import { loadServiceConfig } from '@strata/service-runtime';
import { fixturesCacheDir, infra, repoRoot, skipUnless } from '@strata/testing';
import { advisoryDb, createDeployment } from './testing/harness.js';

const run = promisify(execFile);
const IMAGE = '127.0.0.1:15000/strata/debian-multi:gzip-oci';

function skipReason(): string | false {
  const reason = skipUnless('kafka', 'minio', 'registry');
  if (reason) return reason;
  if (existsSync(join(fixturesCacheDir(), 'images.json'))) return false;
  if (process.env.STRATA_REQUIRE_INFRA === '1') throw new Error('required for this test run but missing: test images (run infra/local/images.sh)');
  return 'test images not built (run infra/local/images.sh)';
}

/** `strata image …` through the CLI's sources; stdout is the report. */
async function strata(args: string[], env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(repoRoot, 'apps/cli/src/main.ts'), 'image', ...args, '--no-progress'], {
    cwd: repoRoot,
    env: { ...process.env, STRATA_SERVER: '', STRATA_TOKEN: '', ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

/** The report without the time it was made. */
function withoutCreatedAt(json: string | Uint8Array): unknown {
  const report = JSON.parse(typeof json === 'string' ? json : Buffer.from(json).toString('utf8')) as Record<string, unknown>;
  assert.equal(typeof report.CreatedAt, 'string');
  delete report.CreatedAt;
  return report;
}

test('ScanImage(wait) over gRPC through all services returns the embedded CLI report; strata --server prints the same; a missing image fails with its reason', {
  skip: skipReason(),
  timeout: 600_000,
}, async (t) => {
  const kafka = infra.kafka()!;
  const token = 'e2e-token';
  const d = await createDeployment('gw-e2e', { GATEWAY_HOST: '127.0.0.1', GATEWAY_PORT: '0', GATEWAY_TOKEN: token, GATEWAY_POLL_INTERVAL_MS: '500' });
  const cacheDir = mkdtempSync(join(tmpdir(), 'strata-gateway-e2e-'));
  const outside = new Kafka({ clientId: 'gateway-e2e-outside', brokers: kafka.brokers, logLevel: logLevel.NOTHING });
  const consumer = outside.consumer({ groupId: `${d.prefix}outside`, sessionTimeout: 6000, heartbeatInterval: 1000 });
  const started: { gateway?: GatewayService } = {};
  t.after(async () => {
    await consumer.disconnect().catch(() => undefined);
    await started.gateway?.stop().catch(() => undefined);
    await d.teardown();
    rmSync(cacheDir, { recursive: true, force: true });
  });

  // The pipeline, each service on its own runtime, as its main.ts would start it; the gateway too.
  await d.startAll();
  const gatewayService = await startGatewayService(loadServiceConfig(gatewaySettings, d.env), {
    processMetrics: false,
    logger: d.logger.child({ svc: 'gateway' }),
  });
  started.gateway = gatewayService;
  const address = gatewayService.gateway.address;

  // An outside subscriber, written with plain kafkajs as any other system would.
  const findings: { key: string; event: FindingsPublished }[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics: [d.topic(Topics.findings)], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      findings.push({ key: message.key?.toString() ?? '', event: decodeEvent(Topics.findings, message.value ?? Buffer.alloc(0)) });
    },
  });

  // The reference: the embedded CLI on the same image and advisory DB, in a cache of its own.
  const embeddedArgs = ['--db', advisoryDb, '--cache-dir', join(cacheDir, 'embedded')];
  const embeddedJson = strata([IMAGE, '--format', 'json', ...embeddedArgs]);

  const client = connect(ScanService, address, { token });
  t.after(() => client.close());
  const scanned = await client.client.scanImage({ imageRef: IMAGE, wait: true }, { timeoutMs: 400_000 });
  assert.equal(scanned.status, ScanStatus.COMPLETED, `scan failed: ${scanned.error?.reason}`);
  assert.deepEqual(withoutCreatedAt(scanned.report), withoutCreatedAt(await embeddedJson));
  const report = JSON.parse(Buffer.from(scanned.report).toString('utf8')) as {
    Metadata: { AdvisoryDB?: { Path: string; Version: string } };
    Results: { Vulnerabilities?: unknown[] }[];
  };
  assert.ok(
    report.Results.some((r) => (r.Vulnerabilities ?? []).length > 0),
    'the fixture DB has advisories for this image',
  );
  assert.deepEqual(
    report.Metadata.AdvisoryDB && [report.Metadata.AdvisoryDB.Path, report.Metadata.AdvisoryDB.Version],
    [advisoryDb, scanned.advisoryDbVersion],
    "the report names the gateway's advisory DB",
  );

  const stored = await client.client.getReport({ selector: { case: 'scanId', value: scanned.scanId } });
  assert.equal(stored.status, ScanStatus.COMPLETED);
  assert.deepEqual(withoutCreatedAt(stored.content), withoutCreatedAt(scanned.report));
  assert.equal(stored.manifestDigest, scanned.manifestDigest);

  // The outside subscriber got the findings event of this scan, keyed by the manifest digest.
  const deadline = Date.now() + 60_000;
  while (!findings.some((f) => f.event.scanId === scanned.scanId) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const event = findings.find((f) => f.event.scanId === scanned.scanId);
  assert.ok(event, 'the outside consumer received the findings event');
  assert.equal(event.key, scanned.manifestDigest);
  assert.equal(event.event.report?.key, `reports/${scanned.manifestDigest}/${scanned.advisoryDbVersion}.json`);

  // The CLI in client mode prints what embedded mode prints: the table, and filtered JSON.
  const serverEnv = { STRATA_SERVER: address, STRATA_TOKEN: token };
  const [embeddedTable, serverTable] = await Promise.all([
    strata([IMAGE, '--format', 'table', ...embeddedArgs]),
    strata([IMAGE, '--format', 'table'], serverEnv),
  ]);
  assert.ok(serverTable.includes('CVE-'), serverTable);
  assert.ok(serverTable.includes(`Advisory DB: ${advisoryDb} (`), serverTable);
  assert.equal(serverTable, embeddedTable);
  const filters = ['--severity', 'HIGH,CRITICAL', '--ignore-unfixed'];
  const [embeddedFiltered, serverFiltered] = await Promise.all([
    strata([IMAGE, '--format', 'json', ...filters, ...embeddedArgs]),
    strata([IMAGE, '--format', 'json', ...filters], serverEnv),
  ]);
  assert.deepEqual(withoutCreatedAt(serverFiltered), withoutCreatedAt(embeddedFiltered));
  assert.notDeepEqual(withoutCreatedAt(serverFiltered), withoutCreatedAt(scanned.report), 'the filters changed the report');

  // Without the token the gateway refuses, and the CLI says why.
  await assert.rejects(strata([IMAGE], { STRATA_SERVER: address }), /UNAUTHENTICATED: missing bearer token/);

  // A missing image ends FAILED, with the reason, in ScanImage, GetReport and the CLI.
  const missing = '127.0.0.1:15000/strata/no-such-image:1';
  const failed = await client.client.scanImage({ imageRef: missing, wait: true }, { timeoutMs: 120_000 });
  assert.equal(failed.status, ScanStatus.FAILED);
  assert.equal(failed.error?.code, FailureCode.IMAGE_NOT_FOUND, failed.error?.reason);
  assert.match(failed.error?.reason ?? '', /no-such-image/);
  const failedReport = await client.client.getReport({ selector: { case: 'scanId', value: failed.scanId } });
  assert.equal(failedReport.status, ScanStatus.FAILED);
  assert.equal(failedReport.error?.reason, failed.error?.reason);
  await assert.rejects(strata([missing], serverEnv), /failed in RESOLVE \(IMAGE_NOT_FOUND\): .*no-such-image/);
});
