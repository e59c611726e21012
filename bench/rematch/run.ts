// Re-match benchmark: N synthetic image inventories (default 10,000) are catalogued in a
// filesystem blob store, the real matcher service starts on them (Kafka for the bus), and an
// advisory update that adds records for 1% of the distinct packages is dropped into its advisory
// folder. Printed:
//   - the matcher's start-up rebuild of the reverse index from the catalog;
//   - heap used by a reverse index of the N inventories (built here, after a GC, same data);
//   - time from the update to the last DELTA findings event (from the AdvisoriesUpdated event,
//     and from the moment the records were written, which adds the folder recheck and index build);
//   - the baseline: a full re-scan of the N images, estimated from the warm embedded scan of a
//     real image (layer cache warm, so: resolve + cached inventory + match + report), and the
//     match-only time of all N inventories measured here.
// The package sets are realistic: Debian images from this machine's real dpkg database (required/
// important/standard packages as the base, optional ones as extras), Alpine images from the real
// Alpine 3.20.3 DB in shared data plus extras, and npm apps (200-600 packages) on either base.
//
//   bash tools/node.sh --import tsx --expose-gc bench/rematch/run.ts [--images 10000] [--touch 0.01] [--pg]
// Needs Kafka (infra/local/up.sh; STRATA_TEST_KAFKA from infra/local/env.sh) and shared data.
// --pg: the images are filed in the findings DB (a fresh database on STRATA_TEST_PG_URL) instead
// of the catalog, the matcher runs with STRATA_PG_URL, and it also prints ListAffectedImages
// latencies (1,000 advisory queries through the gateway's query function) and the DB size.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { openAdvisoryIndex } from '@strata/advisories';
import { detectOs, parseApkInstalled } from '@strata/analyzers';
import { createFsBlobStore, putJson } from '@strata/blobstore';
import { decodeEvent, FindingsKind, Topics } from '@strata/contracts';
import { createLogger } from '@strata/log';
import { matchInventory } from '@strata/matcher';
import type { ImageInventory, InventoryPackage, InventorySet, LayerRef, OsInfo, Package } from '@strata/model';
import { matcherSettings, startMatcher } from '@strata/matcher-service';
import { scanImage } from '@strata/pipeline';
import { catalogKey, type CatalogEntry } from '@strata/scan-records';
import { ReverseIndex, summarizeFindings } from '@strata/reverse-index';
import { loadServiceConfig } from '@strata/service-runtime';
import { fixturesCacheDir, infra, repoRoot, sharedDataDir } from '@strata/testing';
import { describeError } from '@strata/errors';
import { openFindingsDb } from '@strata/findings-db';
import { createTestDatabase } from '@strata/findings-db/testing';
import { AFFECTED_PAGE_SIZE, affectedImagesQuery } from '@strata/gateway';

const { values: args } = parseArgs({
  options: {
    images: { type: 'string', default: '10000' },
    touch: { type: 'string', default: '0.01' },
    pg: { type: 'boolean', default: false },
    // with --pg: re-match batches the matcher works on at once (STRATA_REMATCH_WORKERS)
    workers: { type: 'string', default: '2' },
    // with --pg: keep the database at the end (its URL is printed), or reuse one a run with the
    // same --images kept (nothing is filled; --round picks other packages to touch than before)
    keep: { type: 'boolean', default: false },
    reuse: { type: 'string' },
    round: { type: 'string', default: '0' },
  },
});
const usePg = args.pg === true;
if (usePg && !infra.postgres()) {
  console.error('--pg needs PostgreSQL (STRATA_TEST_PG_URL from infra/local/env.sh)');
  process.exit(1);
}
const reuse = args.reuse;
const ROUND = Number(args.round);
const testDb = usePg ? (reuse ? { url: reuse, drop: async () => undefined } : await createTestDatabase()) : undefined;
const findingsDb = testDb ? await openFindingsDb({ url: testDb.url, maxConnections: 4 }) : undefined;
const IMAGES = Number(args.images);
const TOUCH = Number(args.touch);
const kafka = infra.kafka();
const data = sharedDataDir();
if (!kafka || !data) {
  console.error('needs Kafka (source <(bash infra/local/env.sh)) and shared data (../shared/data or STRATA_DATA_DIR)');
  process.exit(1);
}
const gc = (globalThis as { gc?: () => void }).gc;
const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`;
const secs = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

// Deterministic pseudo-random numbers, so runs compare: one sequence per image (an image is made
// again from its number whenever it is needed, so 100k images are never all in memory).
type Random = () => number;
const randomFrom = (start: number): Random => {
  let seed = start;
  return () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
};
const pick = <T>(random: Random, xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
const sample = <T>(random: Random, xs: readonly T[], n: number): T[] => {
  const copy = [...xs];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy.slice(0, n);
};

const imageDigest = (i: number): string => `sha256:${'b'.repeat(32)}${i.toString(16).padStart(32, '0')}`;

// --- package pools ------------------------------------------------------------------------------
const dpkg = execFileSync('dpkg-query', ['-W', '-f=${Package}\t${Version}\t${source:Package}\t${source:Version}\t${Priority}\n'], { encoding: 'utf8' })
  .trim()
  .split('\n')
  .map((line) => line.split('\t'))
  .map(([name, version, srcName, srcVersion, priority]): Package & { priority: string } => ({
    type: 'dpkg',
    name: name as string,
    version: version as string,
    srcName: srcName || (name as string),
    srcVersion: srcVersion || (version as string),
    purl: `pkg:deb/debian/${name}@${version}`,
    priority: priority as string,
  }));
const debianBase = dpkg.filter((p) => ['required', 'important', 'standard'].includes(p.priority));
const debianExtra = dpkg.filter((p) => !debianBase.includes(p));
const debianOs: OsInfo = { family: 'debian', name: '12' };

const alpineRoot = join(data, 'alpine/3.20.3');
const alpineBase = parseApkInstalled(readFileSync(join(alpineRoot, 'lib/apk/db/installed'), 'utf8')).packages;
const alpineOs = detectOs([{ path: 'etc/os-release', text: readFileSync(join(alpineRoot, 'etc/os-release'), 'utf8') }])?.os as OsInfo;
const alpineExtra: Package[] = Array.from({ length: 600 }, (_, i) => ({
  type: 'apk',
  name: `alpine-pkg-${i}`,
  version: `${1 + (i % 7)}.${i % 13}.${i % 5}-r${i % 3}`,
  srcName: `alpine-pkg-${i - (i % 2)}`,
  srcVersion: `${1 + (i % 7)}.${i % 13}.${i % 5}-r${i % 3}`,
  purl: `pkg:apk/alpine/alpine-pkg-${i}`,
}));
const npmPool: Array<[string, string[]]> = Array.from({ length: 5_000 }, (_, i) => [
  i % 3 === 0 ? `@scope${i % 40}/lib-${i}` : `lib-${i}`,
  [`${i % 9}.${i % 17}.${i % 4}`, `${1 + (i % 9)}.0.${i % 11}`],
]);

// --- images ---------------------------------------------------------------------------------------
const newLayer = (number: number, label: string): LayerRef => {
  const n = number.toString(16).padStart(64, '0');
  return { digest: `sha256:${n}`, diffId: `sha256:${n.replace(/^0/, 'd')}`, createdBy: label };
};
const debianBaseLayer = newLayer(0, 'debian base');
const alpineBaseLayer = newLayer(1, 'alpine base');
const placed = (pkgs: Package[], layer: LayerRef, setPath: string): InventoryPackage[] => pkgs.map((p) => ({ ...p, layer, setPath }));

function makeImage(i: number): ImageInventory {
  const random = randomFrom(1_000_003 * (i + 1));
  random();
  const kind = i % 10 < 4 ? 'debian' : i % 10 < 7 ? 'alpine' : 'npm';
  const onDebian = kind === 'debian' || (kind === 'npm' && i % 2 === 0);
  const extraLayer = newLayer(2 + 2 * i, `RUN install ${i}`);
  const os = onDebian ? debianOs : alpineOs;
  const osPackages = onDebian
    ? [
        ...placed(debianBase, debianBaseLayer, 'var/lib/dpkg/status'),
        ...placed(sample(random, debianExtra, Math.floor(random() * 60)), extraLayer, 'var/lib/dpkg/status'),
      ]
    : [
        ...placed(alpineBase, alpineBaseLayer, 'lib/apk/db/installed'),
        ...placed(sample(random, alpineExtra, Math.floor(random() * 40)), extraLayer, 'lib/apk/db/installed'),
      ];
  const applications: InventorySet[] = [];
  if (kind === 'npm') {
    const appLayer = newLayer(3 + 2 * i, `COPY app ${i}`);
    const packages = sample(random, npmPool, 200 + Math.floor(random() * 400)).map(([name, versions]): InventoryPackage => {
      const version = pick(random, versions);
      const path = `app/node_modules/${name}/package.json`;
      return { type: 'npm', name, version, purl: `pkg:npm/${name}@${version}`, layer: appLayer, setPath: path, filePath: path };
    });
    applications.push({ path: 'app/package-lock.json', analyzer: 'npm', type: 'npm', packages });
  }
  return { os, osPackages, applications, layers: [onDebian ? debianBaseLayer : alpineBaseLayer, extraLayer], warnings: [] };
}

// --- advisories: records for 2% of the packages before the update, 1% more in it ----------------
type Pair = { ecosystem: string; osvEcosystem: string; name: string; versions: Set<string> };
const pairs = new Map<string, Pair>();
const notePair = (ecosystem: string, osvEcosystem: string, name: string, version: string) => {
  const key = `${ecosystem}\u0000${name}`;
  let pair = pairs.get(key);
  if (!pair) pairs.set(key, (pair = { ecosystem, osvEcosystem, name, versions: new Set() }));
  pair.versions.add(version);
};

let t = performance.now();
let packageCount = 0;
for (let i = 0; i < IMAGES; i++) {
  const inventory = makeImage(i);
  packageCount += inventory.osPackages.length + inventory.applications.reduce((m, s) => m + s.packages.length, 0);
  for (const p of inventory.osPackages) {
    if (p.type === 'dpkg') notePair('debian:12', 'Debian:12', p.srcName || p.name, p.srcVersion || p.version);
    else notePair('alpine:3.20', 'Alpine:v3.20', p.srcName || p.name, p.srcVersion || p.version);
  }
  for (const set of inventory.applications) for (const p of set.packages) notePair('npm', 'npm', p.name, p.version);
}
const generateMs = performance.now() - t;
const allPairs = [...pairs.values()];

const work = mkdtempSync(join(tmpdir(), 'strata-bench-rematch-'));
const dbDir = join(work, 'db');
mkdirSync(dbDir, { recursive: true });
const writeRecord = (dir: string, id: string, pair: Pair) => {
  // Every installed version is affected (introduced 0, fixed past all of them).
  const fixed = pair.osvEcosystem === 'npm' ? '999.0.0' : '999:1.0-1';
  writeFileSync(
    join(dir, `${id}.json`),
    JSON.stringify({
      schema_version: '1.6.0',
      id,
      modified: '2026-11-26T00:00:00Z',
      affected: [
        {
          package: { ecosystem: pair.osvEcosystem, name: pair.name },
          ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: pair.osvEcosystem.startsWith('Alpine') ? '999.0-r0' : fixed }] }],
        },
      ],
    }),
  );
};
const shuffled = sample(randomFrom(42), allPairs, allPairs.length);
const before = shuffled.slice(0, Math.round(allPairs.length * 0.02));
const touchCount = Math.max(1, Math.round(allPairs.length * TOUCH));
const touched = shuffled.slice(before.length + ROUND * touchCount, before.length + (ROUND + 1) * touchCount);
const newId = (i: number) => `BENCH-R${ROUND}-${i}`;
before.forEach((pair, i) => writeRecord(dbDir, `BENCH-OLD-${i}`, pair));

// --- catalog: inventories and findings states as the matcher would have left them ----------------
const storeDir = join(work, 'store');
const logger = createLogger({ service: 'bench-rematch', level: process.env.STRATA_LOG_LEVEL ?? 'warn' });
const store = await createFsBlobStore({ root: storeDir });
const oldIndex = (await openAdvisoryIndex({ dbDir, cacheDir: join(work, 'cache') })).index;
t = performance.now();
let matchOnlyMs = 0;
// With --pg the DB is filled in batches through the batched writes (putInventories, putImages,
// setFindingsMany: the same rows as the services' one-image calls, tested in libs/findings-db), and
// the inventories are not written to the store (nothing reads them: the postings are in the DB).
const FILL_BATCH = 500;
let fill: { digest: string; imageRef: string; inventory: ImageInventory; findings: ReturnType<typeof summarizeFindings> }[] = [];
// two batches in flight: the next one is made and matched here while the DB writes the last
const flushing = new Set<Promise<void>>();
const write = async (batch: typeof fill) => {
  if (!findingsDb) return;
  const stored = await findingsDb.putInventories(batch.map((f) => f.inventory));
  await findingsDb.putImages(
    batch.map((f, j) => ({
      manifestDigest: f.digest,
      imageRef: f.imageRef,
      inventoryDigest: (stored[j] as { inventoryDigest: string }).inventoryDigest,
      inventoryKey: `inventories/${f.digest}/bench.json`,
    })),
  );
  await findingsDb.setFindingsMany(batch.map((f) => ({ manifestDigest: f.digest, kind: 'FULL', advisoryDbVersion: oldIndex.version, findings: f.findings })));
};
const flush = async () => {
  if (fill.length === 0) return;
  const pending = write(fill).finally(() => flushing.delete(pending));
  flushing.add(pending);
  fill = [];
  if (flushing.size >= 2) await Promise.race(flushing);
};
for (let i = 0; i < (reuse ? 0 : IMAGES); i++) {
  const inventory = makeImage(i);
  const digest = imageDigest(i);
  const inventoryKey = `inventories/${digest}/bench.json`;
  const m0 = performance.now();
  const findings = summarizeFindings(matchInventory(inventory, oldIndex).findings, inventory.os);
  matchOnlyMs += performance.now() - m0;
  if (findingsDb) {
    fill.push({ digest, imageRef: `registry.bench/app-${i}@${digest}`, inventory, findings });
    if (fill.length === FILL_BATCH) await flush();
    if ((i + 1) % 10_000 === 0) console.error(`filled ${i + 1} images in ${secs(performance.now() - t)}`);
    continue;
  }
  await putJson(store, inventoryKey, inventory);
  const entry: CatalogEntry = {
    schemaVersion: 1,
    manifestDigest: digest,
    imageRef: `registry.bench/app-${i}@${digest}`,
    inventoryKey,
    advisoryDbVersion: oldIndex.version,
    findings,
    updatedAt: new Date().toISOString(),
  };
  await putJson(store, catalogKey(digest), entry);
}
await flush();
await Promise.all(flushing);
const catalogMs = performance.now() - t;
// statistics for the planner, as autovacuum gathers them after a bulk load
if (findingsDb) await findingsDb.pool.query('analyze');

// --- reverse index memory --------------------------------------------------------------------------
// (skipped with --pg: nothing holds it then, and 100k inventories' worth would not fit)
gc?.();
const heapBefore = process.memoryUsage().heapUsed;
t = performance.now();
const reverse = new ReverseIndex();
if (!usePg) for (let i = 0; i < IMAGES; i++) reverse.put({ manifestDigest: imageDigest(i), imageRef: `app-${i}` }, makeImage(i));
const indexBuildMs = performance.now() - t;
gc?.();
const indexHeap = process.memoryUsage().heapUsed - heapBefore;
const stats = reverse.stats();

// Which images must get a delta: those holding a touched (ecosystem, name).
const touchedKeys = new Set(touched.map((p) => `${p.ecosystem}\u0000${p.name}`));
const expectedImages: number[] = [];
for (let i = 0; i < IMAGES; i++) {
  const inv = makeImage(i);
  const osKey = inv.os?.family === 'debian' ? 'debian:12' : 'alpine:3.20';
  if (
    inv.osPackages.some((p) => touchedKeys.has(`${osKey}\u0000${p.srcName || p.name}`)) ||
    inv.applications.some((s) => s.packages.some((p) => touchedKeys.has(`npm\u0000${p.name}`)))
  )
    expectedImages.push(i);
}
const expectedDeltas = expectedImages.length;
const deltaDigests = new Set<string>();

// --- the matcher, on Kafka + this store --------------------------------------------------------------
const prefix = `bench-rematch-${process.pid}-${Date.now()}.`;
const env = {
  KAFKA_BROKERS: kafka.brokers.join(','),
  KAFKA_SESSION_TIMEOUT_MS: '6000',
  KAFKA_HEARTBEAT_INTERVAL_MS: '1000',
  STRATA_STORE_DIR: storeDir,
  STRATA_TOPIC_PREFIX: prefix,
  STRATA_TOPIC_PARTITIONS: '6',
  STRATA_DB: dbDir,
  STRATA_CACHE_DIR: join(work, 'matcher-cache'),
  STRATA_DB_RECHECK_MS: '200',
  STRATA_LOG_LEVEL: process.env.STRATA_LOG_LEVEL ?? 'warn',
  STRATA_BUS_LOG_LEVEL: 'fatal',
  METRICS_PORT: '0',
  ...(testDb ? { STRATA_PG_URL: testDb.url, STRATA_REMATCH_WORKERS: args.workers ?? '2' } : {}),
};
t = performance.now();
const matcher = await startMatcher(loadServiceConfig(matcherSettings, env), { processMetrics: false, logger });
const startMs = performance.now() - t;

const client = new Kafka({ clientId: 'bench-rematch', brokers: kafka.brokers, logLevel: logLevel.NOTHING });
const consumer = client.consumer({ groupId: `${prefix}bench`, sessionTimeout: 6000, heartbeatInterval: 1000 });
await consumer.connect();
await consumer.subscribe({ topics: [`${prefix}${Topics.findings}`, `${prefix}${Topics.advisoriesUpdated}`], fromBeginning: true });
let deltas = 0;
let lastDeltaAt = 0;
let publishedAt = 0;
let updateVersion = '';
const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
await consumer.run({
  eachBatchAutoResolve: true,
  eachMessage: async ({ topic, message }) => {
    if (topic.endsWith(Topics.advisoriesUpdated)) {
      const event = decodeEvent(Topics.advisoriesUpdated, message.value ?? Buffer.alloc(0));
      if (event.previousVersion) {
        publishedAt = performance.now();
        updateVersion = event.dbVersion;
      }
      return;
    }
    const event = decodeEvent(Topics.findings, message.value ?? Buffer.alloc(0));
    if (event.kind === FindingsKind.DELTA) {
      deltas++;
      deltaDigests.add(event.manifestDigest);
      lastDeltaAt = performance.now();
    }
  },
});
await joined;

// The update arrives whole, as a new dump does: written aside, then renamed into the folder.
const staging = join(work, 'update');
mkdirSync(staging);
touched.forEach((pair, i) => writeRecord(staging, newId(i), pair));
const droppedAt = performance.now();
renameSync(staging, join(dbDir, 'update'));
const deadline = Date.now() + 120_000;
while (deltas < expectedDeltas && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
await new Promise((r) => setTimeout(r, 1_000)); // any extra delta would show here
await consumer.disconnect();
await matcher.stop();
const admin = client.admin();
await admin.connect();
await admin
  .deleteTopics({ topics: (await admin.listTopics()).filter((name) => name.startsWith(prefix) || name.includes(`dlq.${prefix}`)) })
  .catch(() => undefined);
await admin.disconnect();

// --- baseline: warm embedded scan of a real image ----------------------------------------------------
let warmScanMs: number | undefined;
try {
  const archive = join(fixturesCacheDir(), 'debian-multi.tar');
  const options = { cacheDir: join(work, 'scan-cache'), dbDir: join(repoRoot, 'fixtures/advisories'), input: true };
  await scanImage(archive, options);
  const runs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const s = performance.now();
    await scanImage(archive, options);
    runs.push(performance.now() - s);
  }
  warmScanMs = runs.sort((a, b) => a - b)[2];
} catch (error) {
  console.log(`baseline scan skipped: ${describeError(error)} (build the fixture images with infra/local/images.sh)`);
}
// --- ListAffectedImages over the findings DB: 1,000 advisory queries, as the gateway answers them --------
let affectedLine: string | undefined;
let sizeLine: string | undefined;
if (findingsDb && testDb) {
  const newIndex = await openAdvisoryIndex({ dbDir, cacheDir: join(work, 'cache') });
  const query = affectedImagesQuery({ store, logger, db: findingsDb, indexSource: async () => newIndex });
  const ids = [...before.map((_, i) => `BENCH-OLD-${i}`), ...touched.map((_, i) => newId(i))];
  const measure = async (pageSize: number): Promise<string> => {
    const times: number[] = [];
    let answered = 0;
    let paged = 0;
    for (let q = 0; q < 1_000; q++) {
      const s = performance.now();
      const answer = await query({ advisoryId: ids[q % ids.length] as string }, { pageSize });
      answered += answer.images?.length ?? 0;
      if (answer.nextPageToken) paged++;
      times.push(performance.now() - s);
    }
    times.sort((a, b) => a - b);
    const at = (p: number) => (times[Math.min(times.length - 1, Math.floor(p * times.length))] as number).toFixed(1);
    return `ListAffectedImages (findings DB, 1,000 advisory queries, first page of up to ${pageSize} images${pageSize === AFFECTED_PAGE_SIZE ? ' (the default)' : ''}: ${(answered / 1_000).toFixed(0)} images per answer, ${paged} with a next page): p50 ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${at(1)} ms`;
  };
  affectedLine = `${await measure(AFFECTED_PAGE_SIZE)}\n${await measure(1_000)}`;
  const size = await findingsDb.pool.query<{ db: string; postings: string }>(
    `select pg_database_size(current_database())::text as db,
            (select sum(pg_total_relation_size(('strata.' || t)::regclass)) from unnest(array['chunk_packages', 'chunks', 'inventory_chunks', 'layers', 'paths']) t)::text as postings`,
  );
  const dbBytes = Number(size.rows[0]?.db);
  sizeLine = `PostgreSQL size: ${mb(dbBytes)} in all (postings ${mb(Number(size.rows[0]?.postings))}) = ${(dbBytes / IMAGES / 1024).toFixed(1)} KiB per image`;
  await findingsDb.close();
  if (args.keep || reuse) console.log(`findings DB kept: --reuse ${testDb.url}`);
  else await testDb.drop();
}
rmSync(work, { recursive: true, force: true });

const toLast = lastDeltaAt - publishedAt;
console.log(
  `machine: ${cpus().length} cpus, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log(`images: ${IMAGES} (${packageCount} packages; ${allPairs.length} distinct (ecosystem, name); generated in ${secs(generateMs)})`);
console.log(
  reuse
    ? `findings DB reused (filled by an earlier run; round ${ROUND} of touched packages)`
    : `${usePg ? 'findings DB filled (postings, images, FULL states; batches of 500 images)' : 'catalog written (inventories + findings states)'} in ${secs(catalogMs)}; of which matching every image: ${secs(matchOnlyMs)}`,
);
if (!usePg)
  console.log(
    `reverse index: ${stats.units} distinct packages, ${stats.keys} keys, ${stats.postings} postings; heap ${gc ? mb(indexHeap) : '(run with --expose-gc)'}; built in ${secs(indexBuildMs)}`,
  );
console.log(
  usePg
    ? `matcher start (open the advisory DB and the findings DB, join the groups; nothing to rebuild): ${secs(startMs)}`
    : `matcher start (open DB, rebuild the reverse index from the catalog, join the groups): ${secs(startMs)}`,
);
console.log(`update: ${touched.length} records added for ${(TOUCH * 100).toFixed(1)}% of the distinct packages; db ${updateVersion.slice(0, 19)}…`);
console.log(`delta events: ${deltas} (expected ${expectedDeltas})`);
console.log(`update published -> last delta: ${secs(toLast)}`);
console.log(`records written -> last delta (adds the 200 ms folder recheck and the index rebuild): ${secs(lastDeltaAt - droppedAt)}`);
if (warmScanMs !== undefined) {
  const fullRescanMs = warmScanMs * IMAGES;
  console.log(
    `baseline: warm embedded scan of debian-multi = ${warmScanMs.toFixed(0)} ms -> full re-scan of ${IMAGES} images ≈ ${secs(fullRescanMs)} (ratio ${(fullRescanMs / toLast).toFixed(0)}x)`,
  );
}
if (affectedLine) console.log(affectedLine);
if (sizeLine) console.log(sizeLine);
if (!reuse)
  console.log(`baseline 2: matching every inventory again (no I/O, one process) = ${secs(matchOnlyMs)} (ratio ${(matchOnlyMs / toLast).toFixed(1)}x)`);
if (deltas !== expectedDeltas) {
  const missing = expectedImages.filter((i) => !deltaDigests.has(imageDigest(i)));
  for (const i of missing.slice(0, 5)) {
    const inv = makeImage(i);
    const osKey = inv.os?.family === 'debian' ? 'debian:12' : 'alpine:3.20';
    const held = [
      ...inv.osPackages.map((p) => `${osKey}\u0000${p.srcName || p.name}\u0000${p.srcVersion || p.version}`),
      ...inv.applications.flatMap((s) => s.packages.map((p) => `npm\u0000${p.name}\u0000${p.version}`)),
    ].filter((k) => touchedKeys.has(k.split('\u0000').slice(0, 2).join('\u0000')));
    console.log(`no delta for image ${i}: it holds ${held.map((k) => k.replaceAll('\u0000', ' ')).join(', ')}`);
  }
  process.exitCode = 1;
}
