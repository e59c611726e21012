// Distributed pipeline benchmark: the services run as real processes (fetcher, merger, matcher and
// 1 or 2 analyzers, esbuild bundles of the sources) on the shared Kafka, MinIO and registry.
//
// Default workload `analyzer` (issue 17, "scale-out, shown"): images of distinct, large layers
// (bench/pipeline/workload.ts: generated deterministically, 64 MiB uncompressed / ~30 MB gzip each,
// with dpkg, Python and npm package databases, compressing ~2× like real layers), so that the
// analyzer is the bottleneck. To time the analyzer stage alone, the fetcher first copies every blob
// into the run's bucket (a pre-fetch pass with no analyzer running); then, for each analyzer count,
// the stored documents but the blobs are deleted, the services start with fresh topics, the bench
// waits until every analyzer holds its share of the layer.fetched partitions, and submits the scans.
// The fetcher then finds each blob in the store and only publishes layer.fetched. It prints:
//   - analyze stage: layers/s from the first layer.fetched to the last layer.analyzed (Kafka message
//     timestamps) with 1 and 2 analyzers, and the speed-up;
//   - end to end: submit to the last scan.completed (includes resolve, merge, match);
//   - each replica's share of the layers (its strata_layers_analyzed_total) and the layer.fetched
//     partitions it held, with the layers per partition (keys are diffIDs: murmur2 over 6 partitions);
//   - the CPU each service used in the analyze window (/proc/<pid>/stat utime+stime), and Kafka's,
//     MinIO's and the rest of the machine's (/proc/stat), with the load average.
// Layers are cached in ~/.cache/strata-infra/bench-pipeline (the first run generates them, ~3 s per
// layer); the registry keeps them too, so a rerun takes about 3 minutes on 2 idle cores.
//
//   bash tools/node.sh --import tsx bench/pipeline/run.ts                  # analyzer workload, 1 and 2 analyzers
//   bash tools/node.sh --import tsx bench/pipeline/run.ts --images 12 --layers 4 --layer-mib 64 --analyzers 1,2 --rounds 1
//   (--rounds N repeats the 1-then-2 pair N times, about 1.5 minutes a round, and prints the median
//   speed-up: on a machine shared with other work the load moves between the runs;
//   --one-cpu-per-analyzer pins analyzer i to CPU i mod the CPU count with taskset, as replicas
//   with a one-core limit each would run)
//
// Workload `small` (the earlier one): M images sharing the debian base layer with one small unique
// layer each, submitted all at once, compared with the embedded CLI scanning them one after the other:
//
//   bash tools/node.sh --import tsx bench/pipeline/run.ts --workload small [--images 50] [--no-embedded]
//   (STRATA_BENCH_IMAGES overrides the default image count)
//
// Needs Kafka, MinIO, the registry and the fixture images (infra/local/up.sh, images.sh) and the
// STRATA_TEST_* variables (source <(bash infra/local/env.sh)).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, homedir, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'minio';
import { decodeEvent, encodeKeyedEvent, Topics } from '@strata/contracts';
import { eachLine, fileLayer, fixturesCacheDir, infra, type PushedImage, pushImage, repoRoot, uniqueLayer } from '@strata/testing';
import { analyzerWorkload } from './workload.js';

const { values: args } = parseArgs({
  options: {
    workload: { type: 'string', default: 'analyzer' },
    images: { type: 'string' },
    layers: { type: 'string', default: '4' },
    'layer-mib': { type: 'string', default: '64' },
    analyzers: { type: 'string', default: '1,2' },
    rounds: { type: 'string', default: '1' },
    'no-embedded': { type: 'boolean', default: false },
    'one-cpu-per-analyzer': { type: 'boolean', default: false },
  },
});
const WORKLOAD = args.workload;
if (WORKLOAD !== 'analyzer' && WORKLOAD !== 'small') throw new Error('--workload is analyzer or small');
const M = Math.max(1, Number(args.images ?? (WORKLOAD === 'small' ? (process.env.STRATA_BENCH_IMAGES ?? '50') : '12')));
const ANALYZER_COUNTS = args.analyzers
  .split(',')
  .map(Number)
  .filter((n) => n > 0);
const ROUNDS = Math.max(1, Number(args.rounds));
// Each analyzer replica pinned to a CPU of its own (taskset), as a pod with a one-core limit would
// run: without it one replica alone spreads over both cores (inflate runs on libuv's threads beside
// the tar walk), so a second replica has little left to add on a 2-core machine.
const PIN_ANALYZERS = args['one-cpu-per-analyzer'];
// kafkajs' request queue sets a timer from a broker throttle time that can be negative; Node warns
// about it (TimeoutNegativeWarning, harmless: the timer fires at once). Keep other warnings.
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (w.name !== 'TimeoutNegativeWarning') console.warn(`${w.name}: ${w.message}`);
});
const kafka = infra.kafka();
const s3 = infra.s3();
const registry = infra.registry('anonymous');
if (!kafka || !s3 || !registry) throw new Error('Kafka, MinIO and the registry are needed: source <(bash infra/local/env.sh)');

const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const MB = 1024 * 1024;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const client = new Kafka({ clientId: 'strata-bench', brokers: kafka.brokers, logLevel: logLevel.NOTHING });
const minio = new Client({ endPoint: s3.endPoint, port: s3.port, useSSL: s3.useSSL, accessKey: s3.accessKey, secretKey: s3.secretKey });

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

interface Service {
  name: string;
  child: ChildProcess;
  metricsUrl: Promise<string>;
  exited: Promise<number | null>;
}

function startService(kind: string, name: string, env: Record<string, string>, cpu?: number): Service {
  const command = [process.execPath, join(repoRoot, 'services', kind, 'dist/main.mjs')];
  // taskset execs node in place, so the pid (read for CPU figures) is the service's own
  if (cpu !== undefined) command.unshift('taskset', '--cpu-list', String(cpu));
  const child = spawn(command[0]!, command.slice(1), {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let resolveUrl!: (url: string) => void;
  let rejectUrl!: (e: Error) => void;
  const metricsUrl = new Promise<string>((res, rej) => ((resolveUrl = res), (rejectUrl = rej)));
  metricsUrl.catch(() => undefined);
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

async function stopServices(services: Service[]): Promise<void> {
  for (const s of services) s.child.kill('SIGTERM');
  await Promise.all(services.map((s) => s.exited));
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

function serviceEnv(prefix: string, bucket: string, cacheDir: string): Record<string, string> {
  return {
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
}

/** Deletes the topics and groups under `prefix`. */
async function dropTopics(prefix: string): Promise<void> {
  const admin = client.admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix) || t.startsWith(`strata.dlq.${prefix}`));
    if (topics.length) await admin.deleteTopics({ topics });
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix));
    if (groups.length) await admin.deleteGroups(groups).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}

/** Deletes the bucket's objects (all, or those `keep` does not keep), and the bucket when all went. */
async function clearBucket(bucket: string, keep?: (name: string) => boolean): Promise<void> {
  const names: string[] = [];
  for await (const o of minio.listObjectsV2(bucket, '', true) as AsyncIterable<{ name?: string }>) if (o.name && !keep?.(o.name)) names.push(o.name);
  for (let i = 0; i < names.length; i += 500) await minio.removeObjects(bucket, names.slice(i, i + 500));
  if (!keep) await minio.removeBucket(bucket);
}

/** A consumer of the run's events (its own group, from the beginning); `on` sees every message. */
async function listen(
  topics: string[],
  on: (topic: string, message: { partition: number; timestamp: number; value: Buffer }) => void,
): Promise<{ disconnect(): Promise<void> }> {
  const consumer = client.consumer({ groupId: `bench-listener-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  let joined!: () => void;
  const join_ = new Promise<void>((r) => (joined = r));
  consumer.on(consumer.events.GROUP_JOIN, () => joined());
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => on(topic, { partition, timestamp: Number(message.timestamp), value: message.value! }),
  });
  await join_;
  return { disconnect: () => consumer.disconnect() };
}

async function submit(prefix: string, refs: string[]): Promise<string[]> {
  const producer = client.producer();
  await producer.connect();
  const ids: string[] = [];
  const messages = refs.map((imageRef) => {
    const scanId = randomUUID();
    ids.push(scanId);
    const { key, value } = encodeKeyedEvent(Topics.scanRequested, { scanId, imageRef, traceId: scanId });
    return { key, value: Buffer.from(value) };
  });
  await producer.send({ topic: `${prefix}${Topics.scanRequested}`, acks: -1, messages });
  await producer.disconnect();
  return ids;
}

async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(everyMs);
  }
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;

// ---------------------------------------------------------------------------------------------
// CPU accounting: /proc/<pid>/stat (utime + stime, clock ticks) per process, /proc/stat for the machine.

const TICK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICK; // utime, stime (fields 14 and 15)
  } catch {
    return Number.NaN;
  }
}

/** Busy and total CPU seconds of the whole machine (all cores). */
function machineCpuSeconds(): { busy: number; total: number } {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const n = ticks.slice(0, 8).map(Number); // user nice system idle iowait irq softirq steal
  const total = n.reduce((a, b) => a + b, 0);
  return { busy: (total - n[3]! - n[4]!) / TICK, total: total / TICK };
}

/** The pid listening on a loopback port (Kafka, MinIO), when `ss` can tell. */
function listenerPid(port: number): number | undefined {
  const r = spawnSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' });
  const m = /pid=(\d+)/.exec(r.stdout ?? '');
  return m ? Number(m[1]) : undefined;
}

interface CpuSample {
  at: number;
  processes: Record<string, number>;
  machine: { busy: number; total: number };
}

function sampleCpu(pids: Record<string, number>): CpuSample {
  const processes: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) processes[name] = processCpuSeconds(pid);
  return { at: performance.now(), processes, machine: machineCpuSeconds() };
}

interface CpuUse {
  /** wall seconds between the samples */
  seconds: number;
  /** CPU seconds per listed process */
  processes: Record<string, number>;
  /** CPU seconds the whole machine was busy, and the cores' capacity in that time */
  busy: number;
  capacity: number;
}

function cpuUse(from: CpuSample, to: CpuSample): CpuUse {
  const processes: Record<string, number> = {};
  for (const name of Object.keys(to.processes)) {
    const used = to.processes[name]! - from.processes[name]!;
    if (Number.isFinite(used)) processes[name] = used;
  }
  return { seconds: (to.at - from.at) / 1000, processes, busy: to.machine.busy - from.machine.busy, capacity: to.machine.total - from.machine.total };
}

const cores = (use: CpuUse, cpuSeconds: number) => cpuSeconds / (use.capacity / cpus().length);
const analyzerCpu = (use: CpuUse) =>
  Object.entries(use.processes)
    .filter(([name]) => name.startsWith('analyzer-'))
    .reduce((sum, [, s]) => sum + s, 0);

/** "name 12.3 s (0.95 cores)" per process, then the machine's busy time and the rest. */
function cpuRows(use: CpuUse): string[] {
  const rows = Object.entries(use.processes).map(([name, s]) => `${name} ${s.toFixed(1)} s (${cores(use, s).toFixed(2)} cores)`);
  const listed = Object.values(use.processes).reduce((a, b) => a + b, 0);
  rows.push(
    `machine busy ${use.busy.toFixed(1)} of ${use.capacity.toFixed(1)} CPU-s (${cores(use, use.busy).toFixed(2)} of ${cpus().length} cores); ` +
      `everything not listed (other users of the machine, the kernel's own work) ${(use.busy - listed).toFixed(1)} s (${cores(use, use.busy - listed).toFixed(2)} cores)`,
  );
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Workload `analyzer`

interface AnalyzeRun {
  analyzers: number;
  layers: number;
  analyzeSeconds: number;
  endToEndSeconds: number;
  failed: number;
  perAnalyzer: number[];
  partitionsOf: string[][];
  layersPerPartition: Record<number, number>;
  /** seconds from the first layer.fetched to each replica's last layer.analyzed */
  lastResultOf: number[];
  /** partitions of layer.fetched */
  partitionCount: number;
  cpuWindow: CpuUse;
  cpuEndToEnd: CpuUse;
  loadBefore: string;
  loadAfter: string;
  rssMB: Record<string, number>;
}

async function prefetch(refs: string[], bucket: string, layerCount: number): Promise<number> {
  const prefix = `bench-${run}-prefetch.`;
  const cacheDir = mkdtempSync(join(tmpdir(), 'strata-bench-'));
  const t0 = performance.now();
  const fetcher = startService('fetcher', 'fetcher', serviceEnv(prefix, bucket, cacheDir));
  try {
    const url = await fetcher.metricsUrl;
    await submit(prefix, refs);
    await until('the pre-fetch of every blob', async () => (await metric(url, 'strata_layers_fetched_total')) >= layerCount, 20 * 60_000, 500);
  } finally {
    await stopServices([fetcher]);
    rmSync(cacheDir, { recursive: true, force: true });
    await dropTopics(prefix);
  }
  return (performance.now() - t0) / 1000;
}

const isBlob = (name: string) => name.startsWith('sha256:') || name.startsWith('blobs/');

/** The pipeline's stages as processes: fetcher, merger, matcher and `analyzers` analyzer replicas. */
function startStages(env: Record<string, string>, analyzers: number): Service[] {
  return [
    startService('fetcher', 'fetcher', env),
    startService('merger', 'merger', env),
    startService('matcher', 'matcher', env),
    ...Array.from({ length: analyzers }, (_, i) => startService('analyzer', `analyzer-${i + 1}`, env, PIN_ANALYZERS ? i % cpus().length : undefined)),
  ];
}

async function runAnalyzeStage(refs: string[], bucket: string, layerCount: number, analyzers: number, hostPids: Record<string, number>): Promise<AnalyzeRun> {
  const prefix = `bench-${run}-a${analyzers}.`;
  const cacheDir = mkdtempSync(join(tmpdir(), 'strata-bench-'));
  await clearBucket(bucket, isBlob); // every document but the blobs: cold layer cache, images resolved again
  const env = serviceEnv(prefix, bucket, cacheDir);
  const services = startStages(env, analyzers);
  try {
    const urls = await Promise.all(services.map((s) => s.metricsUrl));
    const analyzerUrls = urls.slice(3);
    const fetchedTopic = `${prefix}${Topics.layerFetched}`;
    // every analyzer holds its partitions of layer.fetched, and the assignment has settled
    const partitionsOf = async () =>
      Promise.all(
        analyzerUrls.map(async (u) => {
          const health = (await (await fetch(`${u}/healthz`)).json()) as { subscriptions?: Array<{ partitions: string[] }> };
          return (health.subscriptions ?? []).flatMap((s) => s.partitions).filter((p) => p.startsWith(`${fetchedTopic}:`));
        }),
      );
    const admin = client.admin();
    await admin.connect();
    const partitionCount = (await admin.fetchTopicMetadata({ topics: [fetchedTopic] })).topics[0]!.partitions.length;
    await admin.disconnect();
    let stable = 0;
    let assignment: string[][] = [];
    await until(
      'every analyzer to hold layer.fetched partitions',
      async () => {
        const now = await partitionsOf();
        const complete = now.every((p) => p.length > 0) && new Set(now.flat()).size === partitionCount && now.flat().length === partitionCount;
        stable = complete && JSON.stringify(now) === JSON.stringify(assignment) ? stable + 1 : 0;
        assignment = now;
        return stable >= 3;
      },
      120_000,
      500,
    );

    const pids: Record<string, number> = { ...hostPids };
    for (const s of services) pids[s.name] = s.child.pid!;
    pids['bench (this process)'] = process.pid;
    const fetchedAt: number[] = [];
    const partitionOf = new Map<string, number>(); // diffID → layer.fetched partition
    const doneAt = new Map<string, number>(); // diffID → its layer.analyzed timestamp
    const analyzedAt: number[] = [];
    const layersPerPartition: Record<number, number> = {};
    const completed = new Map<string, boolean>();
    let firstTaskSample: CpuSample | undefined;
    let lastResultSample: CpuSample | undefined;
    const listener = await listen(
      [fetchedTopic, `${prefix}${Topics.layerAnalyzed}`, `${prefix}${Topics.scanCompleted}`, `${prefix}${Topics.scanFailed}`],
      (topic, m) => {
        if (topic === fetchedTopic) {
          firstTaskSample ??= sampleCpu(pids);
          fetchedAt.push(m.timestamp);
          layersPerPartition[m.partition] = (layersPerPartition[m.partition] ?? 0) + 1;
          partitionOf.set(decodeEvent(Topics.layerFetched, m.value).diffId, m.partition);
        } else if (topic.endsWith(Topics.layerAnalyzed)) {
          const event = decodeEvent(Topics.layerAnalyzed, m.value);
          if (event.fromCache) return;
          analyzedAt.push(m.timestamp);
          doneAt.set(event.diffId, m.timestamp);
          if (analyzedAt.length === layerCount) lastResultSample = sampleCpu(pids);
        } else if (topic.endsWith(Topics.scanCompleted)) completed.set(decodeEvent(Topics.scanCompleted, m.value).scanId, true);
        else completed.set(decodeEvent(Topics.scanFailed, m.value).scanId, false);
      },
    );
    const loadBefore = load();
    const start = sampleCpu(pids);
    const startWall = Date.now();
    const ids = await submit(prefix, refs);
    await until(`${ids.length} scans to finish`, () => ids.every((id) => completed.has(id)), 30 * 60_000);
    const endToEndSeconds = (Date.now() - startWall) / 1000;
    const end = sampleCpu(pids);
    const loadAfter = load();
    await listener.disconnect();
    if (analyzedAt.length < layerCount || !firstTaskSample || !lastResultSample)
      throw new Error(`only ${analyzedAt.length} of ${layerCount} layers were analyzed (failed scans: ${[...completed.values()].filter((ok) => !ok).length})`);

    const perAnalyzer = await Promise.all(analyzerUrls.map((u) => metric(u, 'strata_layers_analyzed_total')));
    // when each replica published its last result, from the partitions it held
    const firstTask = Math.min(...fetchedAt);
    const lastResultOf = assignment.map((held) => {
      const partitions = new Set(held.map((p) => Number(p.slice(fetchedTopic.length + 1))));
      const mine = [...doneAt].filter(([diffId]) => partitions.has(partitionOf.get(diffId) ?? -1)).map(([, at]) => at);
      return mine.length ? (Math.max(...mine) - firstTask) / 1000 : 0;
    });
    const rssMB: Record<string, number> = {};
    for (const [i, s] of services.entries()) rssMB[s.name] = (await metric(urls[i]!, 'strata_process_max_rss_bytes')) / MB;
    return {
      analyzers,
      layers: layerCount,
      analyzeSeconds: (Math.max(...analyzedAt) - Math.min(...fetchedAt)) / 1000,
      endToEndSeconds,
      failed: [...completed.values()].filter((ok) => !ok).length,
      perAnalyzer,
      partitionsOf: assignment.map((ps) => ps.map((p) => p.slice(fetchedTopic.length + 1))),
      lastResultOf,
      partitionCount,
      layersPerPartition,
      cpuWindow: cpuUse(firstTaskSample, lastResultSample),
      cpuEndToEnd: cpuUse(start, end),
      loadBefore,
      loadAfter,
      rssMB,
    };
  } finally {
    await stopServices(services);
    await dropTopics(prefix);
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

/** The goals of issue 17 against the runs: speed-up, shares, and from the CPU figures where the time went. */
function summarize(results: AnalyzeRun[], round: number, rounds: number): number | undefined {
  const one = results.find((r) => r.analyzers === 1);
  const two = results.find((r) => r.analyzers === 2);
  if (!one || !two) return undefined;
  const speedup = one.analyzeSeconds / two.analyzeSeconds;
  const total = two.perAnalyzer.reduce((a, b) => a + b, 0);
  const deviations = two.perAnalyzer.map((c) => ((c - total / 2) / (total / 2)) * 100);
  const got = (r: AnalyzeRun) => cores(r.cpuWindow, analyzerCpu(r.cpuWindow));
  const others = (r: AnalyzeRun) => cores(r.cpuWindow, r.cpuWindow.busy - analyzerCpu(r.cpuWindow));
  const idle = (r: AnalyzeRun) => cpus().length - cores(r.cpuWindow, r.cpuWindow.busy);
  const perLayer = (r: AnalyzeRun) => analyzerCpu(r.cpuWindow) / r.layers;
  console.log(
    `\nsummary${rounds > 1 ? ` of round ${round}` : ''} (analyze stage; goals of issue 17 on 2 cores: ≥ 1.6×, each share within ±20% of an even one):`,
  );
  console.log(
    `  speed-up with 2 analyzers: ${speedup.toFixed(2)}× (${(one.layers / one.analyzeSeconds).toFixed(2)} → ${(two.layers / two.analyzeSeconds).toFixed(2)} layers/s) ${speedup >= 1.6 ? 'MET' : 'NOT MET'}; ` +
      `end to end ${(one.endToEndSeconds / two.endToEndSeconds).toFixed(2)}×`,
  );
  console.log(
    `  shares: ${two.perAnalyzer.map((c, i) => `analyzer-${i + 1} ${c} (${deviations[i]! >= 0 ? '+' : ''}${deviations[i]!.toFixed(0)}%)`).join(', ')} ` +
      `${deviations.every((d) => Math.abs(d) <= 20) ? 'MET' : 'NOT MET'}; the replica with the most layers caps the speed-up at ` +
      `${(total / Math.max(...two.perAnalyzer)).toFixed(2)}× even with a free core for each`,
  );
  console.log(
    `  CPU the analyzers got: ${got(one).toFixed(2)} cores with 1, ${got(two).toFixed(2)} with 2 (${(got(two) / got(one)).toFixed(2)}×), ` +
      `${perLayer(one).toFixed(2)} / ${perLayer(two).toFixed(2)} CPU-s per layer; everything else on the machine (the other services, Kafka, MinIO, ` +
      `other users) ${others(one).toFixed(2)} / ${others(two).toFixed(2)} cores; idle ${idle(one).toFixed(2)} / ${idle(two).toFixed(2)} cores`,
  );
  return speedup;
}

async function analyzerBench(): Promise<void> {
  const layersPerImage = Math.max(1, Number(args.layers));
  const layerMiB = Math.max(1, Number(args['layer-mib']));
  console.log(
    `pipeline benchmark, analyzer-bound: ${M} images × ${layersPerImage} distinct layers of ${layerMiB} MiB (uncompressed); ` +
      `${cpus().length} CPUs; load average ${load()}` +
      (PIN_ANALYZERS ? '; each analyzer pinned to one CPU of its own (--one-cpu-per-analyzer)' : ''),
  );
  ensureBundles();
  let t = performance.now();
  const workload = await analyzerWorkload({ images: M, layersPerImage, layerMiB }, join(homedir(), '.cache/strata-infra/bench-pipeline'));
  const layerCount = M * layersPerImage;
  console.log(
    `layers: ${layerCount}, ${(workload.tarBytes / MB).toFixed(0)} MiB uncompressed, ${(workload.blobBytes / MB).toFixed(0)} MiB gzip ` +
      `(${(workload.tarBytes / workload.blobBytes).toFixed(2)}×, ${(workload.blobBytes / layerCount / MB).toFixed(1)} MiB per layer)` +
      (workload.generatedSeconds > 0 ? `; generated in ${workload.generatedSeconds.toFixed(0)} s (cached for the next run)` : '; from the cache'),
  );
  t = performance.now();
  const refs: string[] = [];
  for (const [i, layers] of workload.images.entries())
    refs.push((await pushImage(registry!.host, 'strata-test/bench-analyze', `l${layerMiB}-${layersPerImage}-${i}`, layers)).ref);
  console.log(`pushed ${refs.length} images in ${((performance.now() - t) / 1000).toFixed(1)} s (blobs the registry already holds are skipped)`);

  const bucket = `strata-bench-${run}`;
  const hostPids: Record<string, number> = {};
  const kafkaPid = listenerPid(Number(kafka!.brokers[0]!.split(':').pop()));
  const minioPid = listenerPid(s3!.port);
  if (kafkaPid) hostPids['kafka (shared)'] = kafkaPid;
  if (minioPid) hostPids['minio (shared)'] = minioPid;
  try {
    const fetchSeconds = await prefetch(refs, bucket, layerCount);
    console.log(`pre-fetch: the fetcher stored ${layerCount} blobs in ${fetchSeconds.toFixed(1)} s (not part of the figures below)`);
    const speedups: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const results: AnalyzeRun[] = [];
      for (const n of ANALYZER_COUNTS) {
        const r = await runAnalyzeStage(refs, bucket, layerCount, n, hostPids);
        results.push(r);
        const base = results[0]!;
        const speedup = (x: number, y: number) => (n === base.analyzers ? '' : ` (${(x / y).toFixed(2)}× ${base.analyzers} analyzer(s))`);
        const total = r.perAnalyzer.reduce((a, b) => a + b, 0);
        console.log(`\n${ROUNDS > 1 ? `round ${round}, ` : ''}${n} analyzer(s), load average ${r.loadBefore} before, ${r.loadAfter} after:`);
        console.log(
          `  analyze stage (first layer.fetched → last layer.analyzed): ${(r.layers / r.analyzeSeconds).toFixed(2)} layers/s ` +
            `(${r.analyzeSeconds.toFixed(1)} s for ${r.layers})${speedup(base.analyzeSeconds, r.analyzeSeconds)}`,
        );
        console.log(
          `  end to end (submit → last scan.completed): ${(r.layers / r.endToEndSeconds).toFixed(2)} layers/s ` +
            `(${r.endToEndSeconds.toFixed(1)} s)${speedup(base.endToEndSeconds, r.endToEndSeconds)}; failed scans ${r.failed}`,
        );
        const perPartition = Object.keys(r.layersPerPartition)
          .map(Number)
          .sort((a, b) => a - b)
          .map((p) => `${p}:${r.layersPerPartition[p]}`)
          .join(' ');
        console.log(`  layer.fetched (${r.partitionCount} partitions, keyed by diffID): layers per partition ${perPartition}`);
        for (const [i, count] of r.perAnalyzer.entries()) {
          const fair = total / r.perAnalyzer.length;
          console.log(
            `  analyzer-${i + 1}: ${count} layers (${((count / total) * 100).toFixed(0)}% of ${total}; ${(((count - fair) / fair) * 100).toFixed(0)}% from an even share), ` +
              `partitions ${r.partitionsOf[i]!.join(',')}, last result at ${r.lastResultOf[i]!.toFixed(1)} s`,
          );
        }
        console.log('  CPU in the analyze window:');
        for (const row of cpuRows(r.cpuWindow)) console.log(`    ${row}`);
        console.log('  CPU end to end:');
        for (const row of cpuRows(r.cpuEndToEnd)) console.log(`    ${row}`);
        console.log(
          `  peak RSS MB ${Object.entries(r.rssMB)
            .map(([k, v]) => `${k} ${v.toFixed(0)}`)
            .join(', ')}`,
        );
      }
      const speedup = summarize(results, round, ROUNDS);
      if (speedup !== undefined) speedups.push(speedup);
    }
    if (speedups.length > 1) {
      const sorted = [...speedups].sort((a, b) => a - b);
      console.log(
        `\nspeed-up per round ${speedups.map((x) => `${x.toFixed(2)}×`).join(', ')}; median ${((sorted[Math.floor((sorted.length - 1) / 2)]! + sorted[Math.ceil((sorted.length - 1) / 2)]!) / 2).toFixed(2)}×, best ${sorted.at(-1)!.toFixed(2)}×`,
      );
    }
  } finally {
    await clearBucket(bucket).catch((e: unknown) => console.error(`bucket ${bucket} not removed: ${String(e)}`));
  }
}

// ---------------------------------------------------------------------------------------------
// Workload `small`

async function pushSmallImages(): Promise<PushedImage[]> {
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
  const env = serviceEnv(prefix, bucket, cacheDir);
  const services = startStages(env, analyzers);
  const urls = await Promise.all(services.map((s) => s.metricsUrl));

  const submitted = new Map<string, number>();
  const finished = new Map<string, { at: number; ok: boolean }>();
  const listener = await listen([`${prefix}${Topics.scanCompleted}`, `${prefix}${Topics.scanFailed}`], (topic, message) => {
    const ok = topic.endsWith(Topics.scanCompleted);
    const scanId = ok ? decodeEvent(Topics.scanCompleted, message.value).scanId : decodeEvent(Topics.scanFailed, message.value).scanId;
    if (submitted.has(scanId) && !finished.has(scanId)) finished.set(scanId, { at: performance.now(), ok });
  });
  const start = performance.now();
  for (const id of await submit(
    prefix,
    images.map((i) => i.ref),
  ))
    submitted.set(id, start);
  await until(`${submitted.size} scans to finish`, () => finished.size >= submitted.size, 30 * 60_000);
  const wall = (Math.max(...[...finished.values()].map((f) => f.at)) - start) / 1000;
  const latencies = [...finished.entries()].map(([id, f]) => (f.at - submitted.get(id)!) / 1000).sort((a, b) => a - b);

  const rssMB: Record<string, number> = {};
  for (const [i, s] of services.entries()) rssMB[s.name] = (await metric(urls[i]!, 'strata_process_max_rss_bytes')) / MB;
  const perAnalyzer = await Promise.all(
    services.filter((s) => s.name.startsWith('analyzer')).map((s) => metric(urls[services.indexOf(s)]!, 'strata_layers_analyzed_total')),
  );
  const layersFetched = await metric(urls[0]!, 'strata_layers_fetched_total');

  await listener.disconnect();
  await stopServices(services);
  await dropTopics(prefix);
  await clearBucket(bucket);
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

async function smallBench(): Promise<void> {
  console.log(`pipeline benchmark: ${M} images (debian base 63 MB + 1 small unique layer each), ${cpus().length} CPUs, load ${load()}`);
  ensureBundles();
  const t = performance.now();
  const images = await pushSmallImages();
  const unique = new Set(images.flatMap((i) => i.layers.map((l) => l.diffId))).size;
  console.log(`pushed ${images.length} images in ${((performance.now() - t) / 1000).toFixed(1)} s; unique layers: ${unique}`);

  for (const n of ANALYZER_COUNTS) {
    const r = await runDistributed(images, n);
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
}

if (WORKLOAD === 'analyzer') await analyzerBench();
else await smallBench();
