// Integration-test harness for the distributed pipeline on the real Kafka, MinIO and registry:
// one isolated "deployment" per suite (own topic prefix, consumer groups and bucket), services
// started in-process through their start functions or as child processes, an outside subscriber
// written with plain kafkajs, and the embedded scan as the reference.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { Client } from 'minio';
import { createS3BlobStore, getJson, type BlobStore } from '@strata/blobstore';
import { decodeEvent, encodeKeyedEvent, Topics, type EventOf, type EventTopic } from '@strata/contracts';
import { createLogger, type Logger } from '@strata/log';
import { loadServiceConfig, type RunningService } from '@strata/service-runtime';
import { eachLine, fileLayer, fixturesCacheDir, infra, pushImage, repoRoot, uniqueLayer, uniqueName, type PushedImage } from '@strata/testing';
import { analyzerSettings, startAnalyzer } from '@strata/analyzer-service';
import { fetcherSettings, startFetcher } from '@strata/fetcher-service';
import { matcherSettings, startMatcher } from '@strata/matcher-service';
import { mergerSettings, startMerger } from '@strata/merger-service';
import { scanImage, type ScanResult } from '@strata/pipeline';
import { blobScanRecords, type ScanRecord } from '@strata/scan-records';
import type { StageEvent, TestPoint, TestPointHook } from '@strata/stage-runtime';
import { describeError } from '@strata/errors';
import { createTestDatabase } from '@strata/findings-db/testing';
import { openFindingsDb, pgScanRecords, type FindingsDb } from '@strata/findings-db';

export const advisoryDb = join(repoRoot, 'fixtures/advisories');

export interface FixtureImages {
  images: Record<string, { layers: Array<{ index: number; digest: string; diffId: string; createdBy?: string }>; ociLayout?: { dir: string } }>;
  refs: Array<{ registry: string; ref: string; repository: string; tag: string; manifestDigest: string; image: string }>;
}

export function fixtureImages(): FixtureImages {
  return JSON.parse(readFileSync(join(fixturesCacheDir(), 'images.json'), 'utf8')) as FixtureImages;
}

export function fixtureImagesPresent(): boolean {
  return existsSync(join(fixturesCacheDir(), 'images.json'));
}

/** The blob file of the debian base layer (shared by debian-multi and debian-tiny) in the fixtures' OCI layout. */
export function baseLayerFixture(): { path: string; digest: string; diffId: string; createdBy: string } {
  const images = fixtureImages();
  const base = images.images['debian-tiny']!.layers[0]!;
  const dir = images.images['debian-multi']!.ociLayout?.dir ?? join(fixturesCacheDir(), 'oci-layout');
  return {
    path: join(dir, 'blobs/sha256', base.digest.slice('sha256:'.length)),
    digest: base.digest,
    diffId: base.diffId,
    createdBy: base.createdBy ?? 'base',
  };
}

export interface Deployment {
  /** topic/group prefix and bucket of this suite */
  readonly prefix: string;
  readonly bucket: string;
  /** environment for the services (also usable for child processes) */
  readonly env: Record<string, string>;
  readonly store: BlobStore;
  readonly logger: Logger;
  /** what every in-process service observed, in order */
  readonly events: StageEvent[];
  topic(logical: EventTopic): string;
  /** `testPoint` pauses the in-process service at named points (see TestPoint) */
  start(kind: StageServiceName, env?: Record<string, string>, testPoint?: TestPointHook): Promise<RunningService>;
  startAll(options?: { analyzers?: number }): Promise<RunningService[]>;
  /** a service as a child process running its main.ts through tsx; with `crashPoint`, the test entry that SIGKILLs itself there */
  spawn(kind: ServiceName, env?: Record<string, string>, options?: { crashPoint?: TestPoint }): ServiceProcess;
  submit(imageRef: string, init?: { scanId?: string; credentialsRef?: string; traceId?: string }): Promise<string>;
  publishRaw(logical: EventTopic, key: string, value: Uint8Array): Promise<void>;
  subscriber(): Promise<OutsideSubscriber>;
  /** where the services keep scan records: the findings DB when the deployment has one (env.STRATA_PG_URL), else the store's scans/ */
  scanRecord(scanId: string): Promise<ScanRecord | undefined>;
  /** every scan id recorded */
  scanIds(): Promise<string[]>;
  /** the findings DB of this deployment (when env.STRATA_PG_URL is set) */
  readonly findingsDb: FindingsDb | undefined;
  waitForRecord(scanId: string, done: (r: ScanRecord) => boolean, timeoutMs?: number): Promise<ScanRecord>;
  /** stops services, deletes topics and the bucket */
  teardown(): Promise<void>;
}

export interface ServiceProcess {
  readonly child: ChildProcess;
  /** resolves with the first log line (parsed) matching, from stderr */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** resolves with the exit code (or signal name) */
  exited: Promise<number | string>;
  lines: Record<string, unknown>[];
}

/** Events seen by an outside subscriber: a plain kafkajs consumer, as any other system would write it. */
export interface OutsideSubscriber {
  findings: EventOf<typeof Topics.findings>[];
  completed: EventOf<typeof Topics.scanCompleted>[];
  failed: EventOf<typeof Topics.scanFailed>[];
  waitFor<T>(pick: () => T | undefined, timeoutMs?: number, what?: string): Promise<T>;
  close(): Promise<void>;
}

export async function waitUntil<T>(pick: () => T | undefined | Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await pick();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every service of the distributed deployment, with the package whose `./main` entry runs it. */
export const servicePackages = {
  fetcher: '@strata/fetcher-service',
  analyzer: '@strata/analyzer-service',
  merger: '@strata/merger-service',
  matcher: '@strata/matcher-service',
  gateway: '@strata/gateway',
  watcher: '@strata/watcher-service',
} as const;
export type ServiceName = keyof typeof servicePackages;
/** The stage services the harness can also start in-process. */
export type StageServiceName = 'fetcher' | 'analyzer' | 'merger' | 'matcher';

/** The process entry point of a service, resolved through its package (never a path into it). */
export const serviceMain = (name: ServiceName): string => fileURLToPath(import.meta.resolve(`${servicePackages[name]}/main`));
/** The test-only entry with a crash point (testing/service-main.ts). */
const testServiceMain = fileURLToPath(new URL('./service-main.ts', import.meta.url));

/** A deployment with every service started (torn down after the test) and a subscriber outside it. */
export async function runningDeployment(t: TestContext, name: string): Promise<{ d: Deployment; services: RunningService[]; outside: OutsideSubscriber }> {
  const d = await createDeployment(name);
  t.after(() => d.teardown());
  const services = await d.startAll();
  return { d, services, outside: await d.subscriber() };
}

export async function createDeployment(name: string, extraEnv: Record<string, string> = {}): Promise<Deployment> {
  const kafka = infra.kafka()!;
  const s3 = infra.s3()!;
  const prefix = `${uniqueName(`t-${name}`)}.`;
  const bucket = uniqueName(`strata-${name}`)
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 63);
  const cacheDir = mkdtempSync(join(tmpdir(), 'strata-dist-'));
  const env: Record<string, string> = {
    KAFKA_BROKERS: kafka.brokers.join(','),
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    KAFKA_HEARTBEAT_INTERVAL_MS: '1000',
    S3_ENDPOINT: `${s3.useSSL ? 'https' : 'http'}://${s3.endPoint}:${s3.port}`,
    S3_ACCESS_KEY: s3.accessKey,
    S3_SECRET_KEY: s3.secretKey,
    S3_BUCKET: bucket,
    STRATA_TOPIC_PREFIX: prefix,
    STRATA_TOPIC_PARTITIONS: '6',
    STRATA_RETRY_INITIAL_MS: '200',
    STRATA_RETRY_MAX_MS: '2000',
    STRATA_LOG_LEVEL: process.env.STRATA_LOG_LEVEL ?? 'warn',
    // kafkajs reports topic-creation races and metadata lag as errors; the tests judge by outcomes.
    STRATA_BUS_LOG_LEVEL: process.env.STRATA_BUS_LOG_LEVEL ?? 'fatal',
    STRATA_DB: advisoryDb,
    STRATA_CACHE_DIR: cacheDir,
    METRICS_PORT: '0',
    // gateways of parallel suites must not share the console's default port
    GATEWAY_CONSOLE_PORT: '0',
    ...extraEnv,
  };
  const logger = createLogger({ service: `test-${name}`, level: env.STRATA_LOG_LEVEL! });
  const store = await createS3BlobStore({
    endPoint: s3.endPoint,
    port: s3.port,
    useSSL: s3.useSSL,
    accessKey: s3.accessKey,
    secretKey: s3.secretKey,
    bucket,
    logger,
  });
  const client = new Kafka({ clientId: `test-${name}`, brokers: kafka.brokers, logLevel: logLevel.NOTHING });
  const producer: Producer = client.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  // With PostgreSQL configured, the matcher and the gateway keep the findings state there, in a
  // database of this deployment's own (dropped at teardown).
  const findingsDb = infra.postgres() && extraEnv.STRATA_PG_URL === undefined ? await createTestDatabase() : undefined;
  if (findingsDb) env.STRATA_PG_URL = findingsDb.url;
  // The services keep their scan records where STRATA_PG_URL says: the tests read them from there.
  const recordsDb = env.STRATA_PG_URL ? await openFindingsDb({ url: env.STRATA_PG_URL, maxConnections: 3, applicationName: 'strata-test' }) : undefined;
  const records = recordsDb ? pgScanRecords(recordsDb) : blobScanRecords(store);
  const events: StageEvent[] = [];
  const running = new Set<RunningService>();
  const children = new Set<ChildProcess>();
  const subscribers = new Set<OutsideSubscriber>();
  const topic = (logical: EventTopic) => `${prefix}${logical}`;

  const settingsOf = { fetcher: fetcherSettings, analyzer: analyzerSettings, merger: mergerSettings, matcher: matcherSettings };
  const starters = { fetcher: startFetcher, analyzer: startAnalyzer, merger: startMerger, matcher: startMatcher } as const;

  async function start(kind: keyof typeof starters, more: Record<string, string> = {}, testPoint?: TestPointHook): Promise<RunningService> {
    const config = loadServiceConfig(settingsOf[kind], { ...env, ...more });
    const service = await (starters[kind] as (c: typeof config, o: object) => Promise<RunningService>)(config, {
      observe: (e: StageEvent) => events.push(e),
      processMetrics: false,
      logger: logger.child({ svc: kind }),
      ...(testPoint ? { testPoint } : {}),
    });
    running.add(service);
    const stop = service.stop;
    const abort = service.abort;
    return Object.assign(service, {
      stop: () => {
        running.delete(service);
        return stop();
      },
      abort: () => {
        running.delete(service);
        return abort();
      },
    });
  }

  function spawnService(kind: ServiceName, more: Record<string, string> = {}, options: { crashPoint?: TestPoint } = {}): ServiceProcess {
    const entry = options.crashPoint ? [testServiceMain, kind] : [serviceMain(kind)];
    const child = spawn(process.execPath, ['--import', 'tsx', ...entry], {
      env: { ...process.env, ...env, STRATA_LOG_LEVEL: 'info', ...more, ...(options.crashPoint ? { STRATA_TEST_CRASH_POINT: options.crashPoint } : {}) },
      stdio: ['ignore', 'ignore', 'pipe'],
      cwd: repoRoot,
    });
    children.add(child);
    const lines: Record<string, unknown>[] = [];
    const waiters: Array<{ match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }> = [];
    eachLine(child.stderr!, (text) => {
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        line = { msg: text };
      }
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.match(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    });
    const exited = new Promise<number | string>((resolve) =>
      child.on('exit', (code, signal) => {
        children.delete(child);
        resolve(code ?? signal ?? -1);
      }),
    );
    return {
      child,
      lines,
      exited,
      waitForLog(match, timeoutMs = 120_000) {
        const seen = lines.find(match);
        if (seen) return Promise.resolve(seen);
        return new Promise((resolve, reject) => {
          const timer = setTimeout(
            () =>
              reject(
                new Error(
                  `${kind} child: no matching log line within ${timeoutMs} ms; last lines:\n${lines
                    .slice(-10)
                    .map((l) => JSON.stringify(l))
                    .join('\n')}`,
                ),
              ),
            timeoutMs,
          );
          waiters.push({ match, resolve: (l) => (clearTimeout(timer), resolve(l)) });
          exited.then((code) =>
            reject(
              new Error(
                `${kind} child exited (${code}) before the expected log line; last lines:\n${lines
                  .slice(-10)
                  .map((l) => JSON.stringify(l))
                  .join('\n')}`,
              ),
            ),
          );
        });
      },
    };
  }

  async function subscriber(): Promise<OutsideSubscriber> {
    const consumer: Consumer = client.consumer({ groupId: `${prefix}outside-${randomUUID()}`, sessionTimeout: 6000, heartbeatInterval: 1000 });
    await consumer.connect();
    const wanted = [Topics.findings, Topics.scanCompleted, Topics.scanFailed] as const;
    await consumer.subscribe({ topics: wanted.map(topic), fromBeginning: true });
    const out: OutsideSubscriber = {
      findings: [],
      completed: [],
      failed: [],
      waitFor: (pick, timeoutMs = 180_000, what = 'an event') => waitUntil(pick, timeoutMs, what),
      close: async () => {
        subscribers.delete(out);
        await consumer.disconnect();
      },
    };
    let joined!: () => void;
    const join = new Promise<void>((r) => (joined = r));
    consumer.on(consumer.events.GROUP_JOIN, () => joined());
    await consumer.run({
      eachMessage: async ({ topic: t, message }) => {
        const value = message.value ?? Buffer.alloc(0);
        if (t === topic(Topics.findings)) out.findings.push(decodeEvent(Topics.findings, value));
        else if (t === topic(Topics.scanCompleted)) out.completed.push(decodeEvent(Topics.scanCompleted, value));
        else if (t === topic(Topics.scanFailed)) out.failed.push(decodeEvent(Topics.scanFailed, value));
      },
    });
    await join;
    subscribers.add(out);
    return out;
  }

  return {
    prefix,
    bucket,
    env,
    store,
    logger,
    events,
    topic,
    start,
    async startAll(options = {}) {
      const services = await Promise.all([
        start('fetcher'),
        start('merger'),
        start('matcher'),
        ...Array.from({ length: options.analyzers ?? 1 }, () => start('analyzer')),
      ]);
      return services;
    },
    spawn: spawnService,
    async submit(imageRef, init = {}) {
      const scanId = init.scanId ?? randomUUID();
      const { key, value } = encodeKeyedEvent(Topics.scanRequested, {
        scanId,
        imageRef,
        traceId: init.traceId ?? scanId,
        credentialsRef: init.credentialsRef ?? '',
      });
      await producer.send({ topic: topic(Topics.scanRequested), acks: -1, messages: [{ key, value: Buffer.from(value) }] });
      return scanId;
    },
    async publishRaw(logical, key, value) {
      await producer.send({ topic: topic(logical), acks: -1, messages: [{ key, value: Buffer.from(value) }] });
    },
    subscriber,
    findingsDb: recordsDb,
    scanRecord: (scanId) => records.read(scanId),
    async scanIds() {
      if (recordsDb) return (await recordsDb.pool.query<{ scan_id: string }>('select scan_id from strata.scans order by 1')).rows.map((r) => r.scan_id);
      const ids: string[] = [];
      for await (const key of store.list('scans/')) if (key.endsWith('.json')) ids.push(key.slice('scans/'.length, -'.json'.length));
      return ids;
    },
    waitForRecord: (scanId, done, timeoutMs = 180_000) =>
      waitUntil(
        async () => {
          const r = await records.read(scanId);
          return r && done(r) ? r : undefined;
        },
        timeoutMs,
        `scan record ${scanId}`,
      ),
    async teardown() {
      for (const s of [...subscribers]) await s.close().catch(() => undefined);
      await Promise.allSettled([...running].map((s) => s.stop()));
      for (const child of [...children]) child.kill('SIGKILL');
      await producer.disconnect().catch(() => undefined);
      const admin = client.admin();
      try {
        await admin.connect();
        const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix) || t.startsWith(`strata.dlq.${prefix}`));
        if (topics.length > 0) await admin.deleteTopics({ topics });
        const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix));
        if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
      } catch (error) {
        logger.warn({ err: describeError(error) }, 'could not delete the test topics');
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
      await removeBucket(bucket).catch((error: unknown) => logger.warn({ err: describeError(error), bucket }, 'could not remove the test bucket'));
      await store.close();
      await recordsDb?.close().catch(() => undefined);
      await findingsDb?.drop().catch((error: unknown) => logger.warn({ err: describeError(error) }, 'could not drop the test database'));
      rmSync(cacheDir, { recursive: true, force: true });
    },
  };
}

async function removeBucket(bucket: string): Promise<void> {
  const s3 = infra.s3()!;
  const client = new Client({ endPoint: s3.endPoint, port: s3.port, useSSL: s3.useSSL, accessKey: s3.accessKey, secretKey: s3.secretKey });
  const names: string[] = [];
  const stream = client.listObjectsV2(bucket, '', true);
  for await (const item of stream as AsyncIterable<{ name?: string }>) if (item.name) names.push(item.name);
  for (let i = 0; i < names.length; i += 500) await client.removeObjects(bucket, names.slice(i, i + 500));
  await client.removeBucket(bucket);
}

/** The embedded scan of the same image and DB, in a throwaway cache. */
export async function embeddedScan(imageRef: string): Promise<ScanResult> {
  const cacheDir = mkdtempSync(join(tmpdir(), 'strata-embedded-'));
  try {
    return await scanImage(imageRef, { cacheDir, dbDir: advisoryDb });
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

/**
 * What must match between two reports: per finding (vulnerability, package, versions, severity,
 * layer) and per package (name, version, layer), order-independent. Reads the ScanResult JSON and
 * the Trivy JSON alike, so the comparison holds whichever the stored report is.
 */
export function reportEssence(json: unknown): { findings: string[]; packages: string[] } {
  const doc = json as Record<string, unknown>;
  if (Array.isArray(doc.Results)) {
    const results = doc.Results as Array<{ Target?: string; Vulnerabilities?: Array<Record<string, unknown>>; Packages?: Array<Record<string, unknown>> }>;
    return {
      findings: results
        .flatMap((r) =>
          (r.Vulnerabilities ?? []).map((v) =>
            [r.Target, v.VulnerabilityID, v.PkgName, v.InstalledVersion, v.FixedVersion, v.Severity, (v.Layer as { DiffID?: string } | undefined)?.DiffID].join(
              '|',
            ),
          ),
        )
        .sort(),
      packages: results
        .flatMap((r) => (r.Packages ?? []).map((p) => [r.Target, p.Name, p.Version, (p.Layer as { DiffID?: string } | undefined)?.DiffID].join('|')))
        .sort(),
    };
  }
  const result = doc as unknown as ScanResult;
  return {
    findings: result.findings
      .map((f) => [f.target, f.vulnerabilityId, f.pkgName, f.installedVersion, f.fixedVersion, f.severity, f.layer.diffId].join('|'))
      .sort(),
    packages: [...result.inventory.osPackages, ...result.inventory.applications.flatMap((s) => s.packages)]
      .map((p) => [p.type, p.name, p.version, p.setPath, p.layer.diffId].join('|'))
      .sort(),
  };
}

export async function storedJson(store: BlobStore, key: string): Promise<unknown> {
  const doc = await getJson(store, key);
  if (doc === undefined) throw new Error(`${key} is not in ${store.location}`);
  return doc;
}

/** Per layer, how many times the in-process services fetched and analyzed it. */
export function workCounts(events: readonly StageEvent[]): { fetched: Map<string, number>; analyzed: Map<string, number> } {
  const fetched = new Map<string, number>();
  const analyzed = new Map<string, number>();
  for (const e of events) {
    if (e.outcome === 'fetched' && e.layerDigest) fetched.set(e.layerDigest, (fetched.get(e.layerDigest) ?? 0) + 1);
    if (e.outcome === 'analyzed' && e.diffId) analyzed.set(e.diffId, (analyzed.get(e.diffId) ?? 0) + 1);
  }
  return { fetched, analyzed };
}

/** Images pushed to the anonymous registry that share the debian base layer and have one small unique layer each. */
export async function pushSharedBaseImages(names: string[], repository = 'strata-test/pipeline-test'): Promise<PushedImage[]> {
  const host = infra.registry('anonymous')!.host;
  const baseFile = baseLayerFixture();
  const base = await fileLayer(baseFile.path, baseFile);
  const out: PushedImage[] = [];
  for (const name of names) out.push(await pushImage(host, repository, name, [base, await uniqueLayer(name)]));
  return out;
}

/** A report without its creation time, the one field two renderings of the same scan differ in. */
export function timeless(report: unknown): unknown {
  const { CreatedAt: _created, ...rest } = report as Record<string, unknown>;
  return rest;
}
