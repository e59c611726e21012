// Distributed pipeline benchmark: M images that share the debian base layer and have one small
// unique layer each are pushed to the anonymous registry, submitted all at once to the services
// (running as real processes: fetcher, merger, matcher and 1 or 2 analyzers, each run on a fresh
// bucket and topic prefix, so the cache starts cold), and compared with the embedded CLI scanning
// the same images one after the other (one cache, as a user would).
//
//   bash tools/node.sh --import tsx bench/pipeline/run.ts [--images 50] [--analyzers 1,2] [--no-embedded]
//   (STRATA_BENCH_IMAGES overrides the default image count)
//
// Needs Kafka, MinIO, the registry and the fixture images (infra/local/up.sh, images.sh) and the
// STRATA_TEST_* variables (source <(bash infra/local/env.sh)).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'minio';
import { decodeEvent, encodeKeyedEvent, Topics } from '@strata/contracts';
import { eachLine, fileLayer, fixturesCacheDir, infra, type PushedImage, pushImage, repoRoot, uniqueLayer } from '@strata/testing';

const { values: args } = parseArgs({
  options: {
    images: { type: 'string', default: process.env.STRATA_BENCH_IMAGES ?? '50' },
    analyzers: { type: 'string', default: '1,2' },
    'no-embedded': { type: 'boolean', default: false },
  },
});
const M = Math.max(1, Number(args.images));
const ANALYZER_COUNTS = args.analyzers
  .split(',')
  .map(Number)
  .filter((n) => n > 0);
const kafka = infra.kafka();
const s3 = infra.s3();
const registry = infra.registry('anonymous');
if (!kafka || !s3 || !registry) throw new Error('Kafka, MinIO and the registry are needed: source <(bash infra/local/env.sh)');

const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const MB = 1024 * 1024;

/** Bundles the four services (esbuild, seconds), so the processes run what the sources say. */
function ensureBundles(): void {
  for (const svc of ['fetcher', 'analyzer', 'merger', 'matcher']) {
    const r = spawnSync(process.execPath, [join(repoRoot, 'tools/bundle.mjs'), 'src/main.ts', 'dist/main.mjs'], {
      cwd: join(repoRoot, 'services', svc),
      stdio: 'inherit',
    });
    if (r.status !== 0) throw new Error(`bundling ${svc} failed`);
  }
}

async function pushImages(): Promise<PushedImage[]> {
  const images = JSON.parse(readFileSync(join(fixturesCacheDir(), 'images.json'), 'utf8')) as {
    images: Record<string, { layers: Array<{ digest: string; diffId: string; createdBy?: string }>; ociLayout?: { dir: string } }>;
  };
  const base = images.images['debian-tiny']!.layers[0]!;
  const dir = images.images['debian-multi']!.ociLayout?.dir ?? join(fixturesCacheDir(), 'oci-layout');
  const baseLayer = await fileLayer(join(dir, 'blobs/sha256', base.digest.slice(7)), {
    digest: base.digest,
    diffId: base.diffId,
    createdBy: base.createdBy ?? 'base',
  });
  const out: PushedImage[] = [];
  for (let i = 0; i < M; i++)
    out.push(await pushImage(registry!.host, 'strata-test/bench', `${run}-${i}`, [baseLayer, await uniqueLayer(`bench-${run}-${i}`)]));
  return out;
}

interface Service {
  name: string;
  child: ChildProcess;
  metricsUrl: Promise<string>;
  exited: Promise<number | null>;
}

function startService(kind: string, name: string, env: Record<string, string>): Service {
  const child = spawn(process.execPath, [join(repoRoot, 'services', kind, 'dist/main.mjs')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let resolveUrl!: (url: string) => void;
  let rejectUrl!: (e: Error) => void;
  const metricsUrl = new Promise<string>((res, rej) => ((resolveUrl = res), (rejectUrl = rej)));
  const tail: string[] = [];
  eachLine(child.stderr!, (line) => {
    tail.push(line);
    if (tail.length > 20) tail.shift();
    if (line.includes('"service started"')) resolveUrl((JSON.parse(line) as { metrics: string }).metrics.replace(/\/metrics$/, ''));
  });
  const exited = new Promise<number | null>((res) =>
    child.on('exit', (code) => {
      rejectUrl(new Error(`${name} exited (${code}) before starting:\n${tail.join('\n')}`));
      res(code);
    }),
  );
  return { name, child, metricsUrl, exited };
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;

interface Distributed {
  analyzers: number;
  wallSeconds: number;
  imagesPerMinute: number;
  p50: number;
  p95: number;
  failed: number;
  layersFetched: number;
  layersAnalyzed: number;
  perAnalyzer: number[];
  rssMB: Record<string, number>;
}

async function runDistributed(images: PushedImage[], analyzers: number): Promise<Distributed> {
  const prefix = `bench-${run}-a${analyzers}.`;
  const bucket = `strata-bench-${run}-a${analyzers}`;
  const cacheDir = mkdtempSync(join(tmpdir(), 'strata-bench-'));
  const env: Record<string, string> = {
    KAFKA_BROKERS: kafka!.brokers.join(','),
    S3_ENDPOINT: `http://${s3!.endPoint}:${s3!.port}`,
    S3_ACCESS_KEY: s3!.accessKey,
    S3_SECRET_KEY: s3!.secretKey,
    S3_BUCKET: bucket,
    STRATA_TOPIC_PREFIX: prefix,
    STRATA_DB: join(repoRoot, 'fixtures/advisories'),
    STRATA_CACHE_DIR: cacheDir,
    STRATA_LOG_LEVEL: 'info',
    STRATA_BUS_LOG_LEVEL: 'fatal',
    METRICS_PORT: '0',
  };
  const services = [
    startService('fetcher', 'fetcher', env),
    startService('merger', 'merger', env),
    startService('matcher', 'matcher', env),
    ...Array.from({ length: analyzers }, (_, i) => startService('analyzer', `analyzer-${i + 1}`, env)),
  ];
  const urls = await Promise.all(services.map((s) => s.metricsUrl));

  const client = new Kafka({ clientId: 'strata-bench', brokers: kafka!.brokers, logLevel: logLevel.NOTHING });
  const consumer = client.consumer({ groupId: `${prefix}bench-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topics: [`${prefix}${Topics.scanCompleted}`, `${prefix}${Topics.scanFailed}`], fromBeginning: true });
  const submitted = new Map<string, number>();
  const finished = new Map<string, { at: number; ok: boolean }>();
  let joined!: () => void;
  const join_ = new Promise<void>((r) => (joined = r));
  consumer.on(consumer.events.GROUP_JOIN, () => joined());
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      const ok = topic.endsWith(Topics.scanCompleted);
      const scanId = ok ? decodeEvent(Topics.scanCompleted, message.value!).scanId : decodeEvent(Topics.scanFailed, message.value!).scanId;
      if (submitted.has(scanId) && !finished.has(scanId)) finished.set(scanId, { at: performance.now(), ok });
    },
  });
  await join_;

  const producer = client.producer();
  await producer.connect();
  const start = performance.now();
  const messages = images.map((image) => {
    const scanId = randomUUID();
    submitted.set(scanId, performance.now());
    const { key, value } = encodeKeyedEvent(Topics.scanRequested, { scanId, imageRef: image.ref, traceId: scanId });
    return { key, value: Buffer.from(value) };
  });
  await producer.send({ topic: `${prefix}${Topics.scanRequested}`, acks: -1, messages });
  const deadline = Date.now() + 30 * 60_000;
  while (finished.size < submitted.size) {
    if (Date.now() > deadline) throw new Error(`only ${finished.size}/${submitted.size} scans finished in 30 min`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const wall = (Math.max(...[...finished.values()].map((f) => f.at)) - start) / 1000;
  const latencies = [...finished.entries()].map(([id, f]) => (f.at - submitted.get(id)!) / 1000).sort((a, b) => a - b);

  const rssMB: Record<string, number> = {};
  for (const [i, s] of services.entries()) rssMB[s.name] = (await metric(urls[i]!, 'strata_process_max_rss_bytes')) / MB;
  const perAnalyzer = await Promise.all(
    services.filter((s) => s.name.startsWith('analyzer')).map((s) => metric(urls[services.indexOf(s)]!, 'strata_layers_analyzed_total')),
  );
  const layersFetched = await metric(urls[0]!, 'strata_layers_fetched_total');

  await producer.disconnect();
  await consumer.disconnect();
  for (const s of services) s.child.kill('SIGTERM');
  await Promise.all(services.map((s) => s.exited));

  // clean up: topics, groups, bucket
  const admin = client.admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix) || t.startsWith(`strata.dlq.${prefix}`));
  if (topics.length) await admin.deleteTopics({ topics });
  const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix));
  if (groups.length) await admin.deleteGroups(groups).catch(() => undefined);
  await admin.disconnect();
  const minio = new Client({ endPoint: s3!.endPoint, port: s3!.port, useSSL: s3!.useSSL, accessKey: s3!.accessKey, secretKey: s3!.secretKey });
  const names: string[] = [];
  for await (const o of minio.listObjectsV2(bucket, '', true) as AsyncIterable<{ name?: string }>) if (o.name) names.push(o.name);
  for (let i = 0; i < names.length; i += 500) await minio.removeObjects(bucket, names.slice(i, i + 500));
  await minio.removeBucket(bucket);
  rmSync(cacheDir, { recursive: true, force: true });

  return {
    analyzers,
    wallSeconds: wall,
    imagesPerMinute: (images.length / wall) * 60,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    failed: [...finished.values()].filter((f) => !f.ok).length,
    layersFetched,
    layersAnalyzed: perAnalyzer.reduce((a, b) => a + b, 0),
    perAnalyzer,
    rssMB,
  };
}

function runEmbedded(images: PushedImage[]): { seconds: number[]; peakRssMB: number } {
  const cacheDir = mkdtempSync(join(tmpdir(), 'strata-bench-cli-'));
  const cli = join(repoRoot, 'apps/cli/bin/strata.mjs');
  const seconds: number[] = [];
  let peak = 0;
  try {
    for (const image of images) {
      const t0 = performance.now();
      const r = spawnSync(
        '/usr/bin/time',
        [
          '-f',
          '%M',
          process.execPath,
          cli,
          'image',
          image.ref,
          '--format',
          'json',
          '--output',
          '/dev/null',
          '--no-progress',
          '--db',
          join(repoRoot, 'fixtures/advisories'),
          '--cache-dir',
          cacheDir,
        ],
        {
          encoding: 'utf8',
        },
      );
      seconds.push((performance.now() - t0) / 1000);
      if (r.status !== 0) throw new Error(`embedded scan of ${image.ref} failed: ${r.stderr}`);
      const kb = Number(r.stderr.trim().split('\n').pop());
      if (Number.isFinite(kb)) peak = Math.max(peak, kb / 1024);
    }
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
  return { seconds, peakRssMB: peak };
}

console.log(
  `pipeline benchmark: ${M} images (debian base 63 MB + 1 small unique layer each), ${cpus().length} CPUs, load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
ensureBundles();
let t = performance.now();
const images = await pushImages();
const unique = new Set(images.flatMap((i) => i.layers.map((l) => l.diffId))).size;
console.log(`pushed ${images.length} images in ${((performance.now() - t) / 1000).toFixed(1)} s; unique layers: ${unique}`);

const results: Distributed[] = [];
for (const n of ANALYZER_COUNTS) {
  t = performance.now();
  const r = await runDistributed(images, n);
  results.push(r);
  console.log(
    `distributed, ${n} analyzer(s): ${r.imagesPerMinute.toFixed(1)} images/min (${r.wallSeconds.toFixed(1)} s for ${M}), ` +
      `scan latency p50 ${r.p50.toFixed(1)} s p95 ${r.p95.toFixed(1)} s, failed ${r.failed}; ` +
      `layers fetched ${r.layersFetched} / analyzed ${r.layersAnalyzed} (per analyzer ${r.perAnalyzer.join('+')}) vs unique ${unique}; ` +
      `peak RSS MB ${Object.entries(r.rssMB)
        .map(([k, v]) => `${k} ${v.toFixed(0)}`)
        .join(', ')}`,
  );
}

if (!args['no-embedded']) {
  const e = runEmbedded(images);
  const total = e.seconds.reduce((a, b) => a + b, 0);
  const sorted = [...e.seconds].sort((a, b) => a - b);
  console.log(
    `embedded CLI, one image after the other (shared cache, process start included): ${((images.length / total) * 60).toFixed(1)} images/min (${total.toFixed(1)} s), ` +
      `first (cold) ${e.seconds[0]!.toFixed(1)} s, others p50 ${percentile(sorted, 50).toFixed(1)} s p95 ${percentile(sorted, 95).toFixed(1)} s, peak RSS ${e.peakRssMB.toFixed(0)} MB`,
  );
}
