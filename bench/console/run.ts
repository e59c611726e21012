// Console page-load benchmark: the console's HTTP API (services/gateway/src/console) over a
// findings DB holding a synthetic catalog, timed the way the UI loads each page — every API call
// a page makes, sent in parallel; the page's time is the wall time until the last answer. Printed:
// p50 / p95 per page and per endpoint, over --runs loads of each page (varying image, cursor and
// vulnerability), after one warm-up load. Goal (issue 18): no page load over 200 ms on 100k images.
//
//   bash tools/node.sh --import tsx bench/console/run.ts --db <postgres url>      # a filled DB
//   bash tools/node.sh --import tsx bench/console/run.ts [--images 2000]          # fills a fresh one
//
// --db: a findings DB already filled (e.g. by bench/rematch/run.ts --pg, which fills the 100k
// catalog); the console's migration (3) is applied to it when missing (back-filling its summaries).
// Without --db a fresh database on STRATA_TEST_PG_URL gets --images synthetic images through the
// FindingsDb writes (an interim fill for small catalogs; the 100k fill is bench/rematch's), with a
// re-match a day over the last 30 days so the trend has a history, and is dropped afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createFsBlobStore } from '@strata/blobstore';
import { openFindingsDb, type FindingsDb } from '@strata/findings-db';
import { createTestDatabase } from '@strata/findings-db/testing';
import { startConsole, type ConsoleServer, type EventHub } from '@strata/gateway';
import { createLogger } from '@strata/log';
import type { ImageInventory, InventoryPackage, LayerRef, Severity } from '@strata/model';
import type { FindingSummary } from '@strata/reverse-index';
import { infra } from '@strata/testing';

const { values: args } = parseArgs({
  options: {
    db: { type: 'string' },
    images: { type: 'string', default: '2000' },
    runs: { type: 'string', default: '20' },
    keep: { type: 'boolean', default: false },
  },
});
const RUNS = Number(args.runs);
const TOKEN = 'bench-console-token';
const logger = createLogger({ service: 'bench-console', level: 'warn' });

// --- the database ---------------------------------------------------------------------------------
let dropDb: (() => Promise<void>) | undefined;
let url = args.db;
if (!url) {
  if (!infra.postgres()) {
    console.error('needs PostgreSQL: --db <url>, or STRATA_TEST_PG_URL from infra/local/env.sh');
    process.exit(1);
  }
  const fresh = await createTestDatabase();
  url = fresh.url;
  if (args.keep) console.error(`--keep: the filled DB stays at ${url.replace(/:[^:@/]*@/, ':***@')} (rerun with --db)`);
  else dropDb = fresh.drop;
}
const db = await openFindingsDb({ url, logger, maxConnections: 8, applicationName: 'bench-console' });
if (!args.db) await interimFill(db, Number(args.images));

const [shape] = (
  await db.pool.query<{ images: string; findings: string; repositories: string; changes: string; size: string }>(
    `select (select count(*) from strata.image_manifests) as images, (select count(*) from strata.image_findings) as findings,
            (select count(distinct repository) from strata.image_manifests) as repositories, (select count(*) from strata.findings_changes) as changes,
            pg_size_pretty(pg_database_size(current_database())) as size`,
  )
).rows;

// --- the console ------------------------------------------------------------------------------------
// The bench times the read API only: the event hub and the scan path are inert here.
const inertHub: EventHub = {
  group: 'bench-console',
  start: async () => undefined,
  onScan: () => () => undefined,
  onFindings: () => () => undefined,
  onAnyScan: () => () => undefined,
  stop: async () => undefined,
};
const storeDir = mkdtempSync(join(tmpdir(), 'strata-bench-console-'));
const store = await createFsBlobStore({ root: storeDir });
const server: ConsoleServer = await startConsole({
  logger,
  host: '127.0.0.1',
  port: 0,
  token: TOKEN,
  staticDir: storeDir,
  db,
  store,
  hub: inertHub,
  scans: {
    submitScan: () => Promise.reject(new Error('no scans in this bench')),
    getReport: () => Promise.reject(new Error('no reports in this bench')),
  },
});

// the overview's in-memory summary loads at start (the gateway serves the overview from SQL until then)
const summaryStart = performance.now();
await server.ready;
const summaryMs = performance.now() - summaryStart;
const heapMb = process.memoryUsage().heapUsed / 1024 / 1024;

const timings = new Map<string, number[]>();
const note = (name: string, ms: number) => {
  const list = timings.get(name) ?? [];
  list.push(ms);
  timings.set(name, list);
};

async function get<T>(endpoint: string, path: string): Promise<T> {
  const t = performance.now();
  const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const body = await res.text();
  note(endpoint, performance.now() - t);
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${body.slice(0, 300)}`);
  return JSON.parse(body) as T;
}

/** Loads one page: its calls in parallel; records the wall time under the page's name. */
async function page(name: string, calls: (() => Promise<unknown>)[]): Promise<unknown[]> {
  const t = performance.now();
  const answers = await Promise.all(calls.map((c) => c()));
  note(`page: ${name}`, performance.now() - t);
  return answers;
}

interface ImagesAnswer {
  items: { manifestDigest: string; repository: string }[];
  nextCursor?: string;
}
interface OverviewAnswer {
  topVulnerabilities: { vulnerabilityId: string }[];
}

// inputs: image digests spread over the catalog, a deep cursor, the most widespread vulnerabilities and some random ones
const sample = (
  await db.pool.query<{ manifest_digest: string; repository: string }>(
    `select manifest_digest, repository from strata.image_manifests tablesample system (5) limit ${RUNS + 1}`,
  )
).rows;
const someImages =
  sample.length > 0
    ? sample
    : (await db.pool.query<{ manifest_digest: string; repository: string }>('select manifest_digest, repository from strata.image_manifests limit 20')).rows;
const randomVulns = (
  await db.pool.query<{ vulnerability_id: string }>('select vulnerability_id from strata.image_findings tablesample system (1) limit 50')
).rows.map((r) => r.vulnerability_id);
const repoGlob = (repository: string) => `${repository.slice(0, Math.max(8, repository.length - 3))}*`;

const overviewCalls = (query: string) => [
  () => get('overview', `/api/v1/overview${query}`),
  () => get('trend (30 days)', `/api/v1/trend${query}${query ? '&' : '?'}days=30`),
  () => get('images (first page, by risk)', `/api/v1/images${query}${query ? '&' : '?'}sort=risk&limit=50`),
];

const started = performance.now();
// warm-up: one load of each page
const [overview] = (await page('warm-up', overviewCalls(''))) as [OverviewAnswer];
const topVulns = overview.topVulnerabilities.map((v) => v.vulnerabilityId);
// a cursor 20 pages deep into the list by name
let deepCursor: string | undefined;
{
  let cursor: string | undefined;
  for (let i = 0; i < 20; i++) {
    const answer: ImagesAnswer = await get('images (pages by name, walking)', `/api/v1/images?limit=50${cursor ? `&cursor=${cursor}` : ''}`);
    if (!answer.nextCursor) break;
    cursor = answer.nextCursor;
  }
  deepCursor = cursor;
}
timings.clear();

for (let run = 0; run < RUNS; run++) {
  const image = someImages[run % someImages.length] as { manifest_digest: string; repository: string };
  await page('overview', overviewCalls(''));
  const filtered = `?repo=${encodeURIComponent(repoGlob(image.repository))}&severity=critical,high&fixedOnly=1`;
  await page('overview, filtered (repo glob, critical+high, fixed only)', overviewCalls(filtered));
  await page('image list, page 21 by name', [() => get('images (page 21 by name)', `/api/v1/images?limit=50${deepCursor ? `&cursor=${deepCursor}` : ''}`)]);
  const d = image.manifest_digest;
  await page('image', [
    () => get('image detail', `/api/v1/images/${d}`),
    () => get('image findings (first 100)', `/api/v1/images/${d}/findings?limit=100`),
    () => get('image packages (first 100)', `/api/v1/images/${d}/packages?limit=100`),
  ]);
  const widespread = topVulns[run % Math.max(1, topVulns.length)];
  if (widespread)
    await page('vulnerability, most widespread', [
      () => get('vulnerability (top 10 ids)', `/api/v1/vulnerabilities/${encodeURIComponent(widespread)}?limit=50`),
    ]);
  const any = randomVulns[run % Math.max(1, randomVulns.length)];
  if (any) await page('vulnerability, random id', [() => get('vulnerability (random ids)', `/api/v1/vulnerabilities/${encodeURIComponent(any)}?limit=50`)]);
}
const benchMs = performance.now() - started;

const pct = (xs: number[], p: number): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
};
const rows = [...timings.entries()].sort(([a], [b]) => (a.startsWith('page') === b.startsWith('page') ? 0 : a.startsWith('page') ? -1 : 1));
const width = Math.max(...rows.map(([n]) => n.length));
console.log(
  `console page loads — ${Number(shape?.images).toLocaleString('en')} images, ${Number(shape?.repositories).toLocaleString('en')} repositories, ${Number(shape?.findings).toLocaleString('en')} findings, ${Number(shape?.changes).toLocaleString('en')} findings changes, DB ${shape?.size}`,
);
console.log(`overview summary loaded into memory in ${(summaryMs / 1000).toFixed(2)} s (heap after: ${heapMb.toFixed(0)} MiB)`);
console.log(`${RUNS} loads of each page after a warm-up; ${cpus().length} cores, load ${loadavg()[0]?.toFixed(1)}; ${(benchMs / 1000).toFixed(1)} s in all`);
console.log(`${'what'.padEnd(width)}  ${'p50 ms'.padStart(8)}  ${'p95 ms'.padStart(8)}  ${'max ms'.padStart(8)}  ${'n'.padStart(4)}`);
for (const [name, xs] of rows)
  console.log(
    `${name.padEnd(width)}  ${pct(xs, 50).toFixed(1).padStart(8)}  ${pct(xs, 95).toFixed(1).padStart(8)}  ${Math.max(...xs)
      .toFixed(1)
      .padStart(8)}  ${String(xs.length).padStart(4)}`,
  );
const worst = Math.max(...rows.filter(([n]) => n.startsWith('page')).map(([, xs]) => pct(xs, 95)));
console.log(`slowest page p95: ${worst.toFixed(1)} ms (goal ≤ 200 ms)`);

await server.close();
await store.close();
rmSync(storeDir, { recursive: true, force: true });
await db.close();
await dropDb?.();

// --- the interim fill (small catalogs) ---------------------------------------------------------------
async function interimFill(findingsDb: FindingsDb, count: number): Promise<void> {
  let seed = 11;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const severities: Severity[] = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN'];
  const hex = (n: number, fill: string) => `sha256:${fill.repeat(40)}${n.toString(16).padStart(24, '0')}`;
  const base: LayerRef = { digest: hex(0, 'a'), diffId: hex(0, 'd'), createdBy: 'ADD rootfs.tar /' };
  const pool = Array.from({ length: 800 }, (_, i) => ({ name: `pkg-${i}`, version: `${1 + (i % 5)}.${i % 7}-1` }));
  const vulnsOf = (i: number) => (i % 4 === 0 ? [`CVE-2024-${10_000 + i}`, `CVE-2025-${20_000 + (i % 50)}`] : []);
  const t = performance.now();
  for (let n = 0; n < count; n++) {
    const top: LayerRef = { digest: hex(n + 1, 'a'), diffId: hex(n + 1, 'd'), createdBy: `RUN install ${n}` };
    const pkgs: InventoryPackage[] = [];
    for (const [i, p] of pool.entries()) {
      const onBase = i < 120;
      if (!onBase && random() > 0.08) continue;
      pkgs.push({
        type: 'dpkg',
        name: p.name,
        version: p.version,
        srcName: p.name,
        srcVersion: p.version,
        purl: `pkg:deb/debian/${p.name}@${p.version}`,
        layer: onBase ? base : top,
        setPath: 'var/lib/dpkg/status',
      });
    }
    const inventory: ImageInventory = { os: { family: 'debian', name: '12' }, osPackages: pkgs, applications: [], layers: [base, top], warnings: [] };
    const findings: FindingSummary[] = pkgs.flatMap((p) =>
      vulnsOf(Number(p.name.slice(4))).map((vulnerabilityId, k) => ({
        vulnerabilityId,
        ecosystem: 'debian:12',
        packageName: p.name,
        installedVersion: p.version,
        fixedVersion: k % 2 ? '9.9-1' : '',
        severity: severities[Number(p.name.slice(4)) % 5] as Severity,
      })),
    );
    const digest = hex(n, 'b');
    const { inventoryDigest } = await findingsDb.putInventory(inventory);
    await findingsDb.putImage({
      manifestDigest: digest,
      imageRef: `registry.bench/team-${n % 40}/app-${n % 400}:v${n}`,
      platform: { os: 'linux', architecture: 'amd64' },
      inventoryDigest,
    });
    await findingsDb.setFindings(digest, { kind: 'FULL', advisoryDbVersion: 'v0', findings });
    // a re-match drops one finding of a third of the images
    if (n % 3 === 0 && findings.length > 0) await findingsDb.setFindings(digest, { kind: 'DELTA', advisoryDbVersion: 'v1', findings: findings.slice(1) });
    if ((n + 1) % 1000 === 0) console.error(`filled ${n + 1} images in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  // spread the history over the last 30 days (the writes all happened now)
  await findingsDb.pool.query(`update strata.findings_changes set recorded_at = now() - (change_id % 30) * interval '1 day'`);
  await findingsDb.pool.query(
    `update strata.findings_change_net n set recorded_at = c.recorded_at from strata.findings_changes c where c.change_id = n.change_id`,
  );
}
