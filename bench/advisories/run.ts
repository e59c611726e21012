// The advisory store at full size, all figures in one run:
//   - the full build of the generated bucket (~420k records): wall time and peak RSS (own process);
//   - the store's open time (read-only, header only) and the time of a cold lookup of `linux`;
//   - a warm CLI scan of the 5-layer Debian test image (docker archive from infra/local/images.sh)
//     with the full set, against the same scan with a 50-record DB: wall time and peak RSS;
//   - the store update after a 1% change (generation 2's changed records, as an incremental
//     `strata db update` leaves them) against the full build;
//   - RSS of a process holding the store as the matcher service does (its index source) after
//     looking up every Debian/Ubuntu/Alpine package of the set's heavy head;
//   - matching huge inventories against the full set (match-many.ts: 200k dpkg, 150k npm packages);
//   - bench/rematch (10,000 images through the matcher service), when Kafka is up
//     (STRATA_TEST_KAFKA, from infra/local/env.sh).
//
//   bash tools/node.sh --import tsx bench/advisories/run.ts [--bucket DIR] [--bucket2 DIR]
// The buckets are generated (bench/advisories/generate.ts) under the infra cache when missing.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fixturesCacheDir, repoRoot } from '@strata/testing';
import { defaultBucketDir, generateBucket } from './generate.js';

const { values: args } = parseArgs({ options: { bucket: { type: 'string' }, bucket2: { type: 'string' }, child: { type: 'string' } } });
const mib = (kb: number): string => `${(kb / 1024).toFixed(0)} MiB`;
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

// Child modes: each measured step runs in its own process so its peak RSS is its own.
if (args.child) {
  const { openAdvisoryIndex, openStore } = await import('@strata/advisories');
  const [mode, dbDir, cacheDir, storePath] = args.child.split('|') as [string, string, string, string?];
  const t0 = performance.now();
  if (mode === 'build') {
    const r = await openAdvisoryIndex({ dbDir, cacheDir });
    console.log(JSON.stringify({ ms: performance.now() - t0, rebuilt: r.rebuilt, records: r.index.manifest.counts.records }));
  } else if (mode === 'open') {
    const store = openStore(storePath as string);
    const openMs = performance.now() - t0;
    const t1 = performance.now();
    const hits = store.lookup('debian:12', 'linux').length;
    const lookupMs = performance.now() - t1;
    // What a scan of an image with linux 6.1.76-1 reads: the entries not fixed at or below it.
    const t3 = performance.now();
    const affecting = store.lookupAffecting('debian:12', 'linux', '6.1.76-1')?.length ?? -1;
    const affectingMs = performance.now() - t3;
    const t2 = performance.now();
    const viaCache = await openAdvisoryIndex({ dbDir, cacheDir });
    console.log(JSON.stringify({ openMs, lookupMs, hits, affecting, affectingMs, cachedOpenMs: performance.now() - t2, rebuilt: viaCache.rebuilt }));
  } else if (mode === 'matcher') {
    const { advisoryIndexSource } = await import('@strata/advisories');
    const source = advisoryIndexSource(dbDir, cacheDir, 60_000);
    const { index } = await source();
    let entries = 0;
    for (const key of index.ecosystems()) {
      for (const name of ['linux', 'glibc', 'openssl', 'systemd', 'curl', 'zlib', 'perl', 'bash', 'tar', 'xz-utils', 'sqlite3', 'libxml2'])
        entries += index.lookup(key, name).length;
    }
    (globalThis as { gc?: () => void }).gc?.();
    console.log(JSON.stringify({ entries, rssNowKb: process.memoryUsage().rss / 1024 }));
  }
  process.exit(0);
}

/** Peak RSS and CPU seconds (user + system) from /usr/bin/time -f '%M %U %S' (its last line). */
const timeFigures = (stderr: string): { rssKb: number; cpuS: number } => {
  const [rss, user, sys] = (stderr.trim().split('\n').pop() as string).split(' ').map(Number) as [number, number, number];
  return { rssKb: rss, cpuS: user + sys };
};
// The machine is shared: wall times follow its load, so CPU times are printed beside them.
const load = (): string =>
  `load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`;

// Peak RSS comes from /usr/bin/time (wait4 of the process itself): a child's own getrusage
// counts the parent's pages at fork, which made every child look as big as this process.
const child = (mode: string, ...parts: string[]): Record<string, number> => {
  const run = spawnSync(
    '/usr/bin/time',
    ['-f', '%M %U %S', process.execPath, '--import', 'tsx', '--expose-gc', import.meta.filename, '--child', [mode, ...parts].join('|')],
    { encoding: 'utf8', maxBuffer: 1 << 26 },
  );
  if (run.status !== 0) throw new Error(`${mode} failed: ${run.stderr.slice(-2000)}`);
  const result = JSON.parse(run.stdout.trim().split('\n').pop() as string) as Record<string, number>;
  return { ...result, ...timeFigures(run.stderr) };
};

const bucket = args.bucket ?? defaultBucketDir(1);
const bucket2 = args.bucket2 ?? defaultBucketDir(2);
for (const [dir, generation] of [
  [bucket, 1],
  [bucket2, 2],
] as const) {
  if (!existsSync(join(dir, 'Debian/all.zip'))) {
    const t = performance.now();
    generateBucket({ out: dir, generation });
    console.log(`generated ${dir} in ${secs(performance.now() - t)}`);
  }
}
// The db folders hold only the dumps (the bucket's csv and per-record files are for the update).
const work = mkdtempSync(join(tmpdir(), 'strata-bench-advisories-'));
const dbFrom = (src: string, name: string): string => {
  const db = join(work, name);
  for (const eco of readdirSync(src)) {
    mkdirSync(join(db, eco), { recursive: true });
    copyFileSync(join(src, eco, 'all.zip'), join(db, eco, 'all.zip'));
  }
  return db;
};
const fullDb = dbFrom(bucket, 'db-full');
const cacheDir = join(work, 'cache');
console.log(`bucket ${bucket} (${readdirSync(bucket).length} ecosystems), work ${work}`);

const build = child('build', fullDb, cacheDir);
const storeDir = join(cacheDir, 'advisories', readdirSync(join(cacheDir, 'advisories'))[0] as string);
const storePath = join(storeDir, 'index.sqlite');
console.log(
  `full build: ${build.records} active records in ${secs(build.ms as number)} (${(build.cpuS as number).toFixed(1)} s CPU), peak RSS ${mib(build.rssKb as number)}, store ${(statSync(storePath).size / 2 ** 20).toFixed(0)} MiB; ${load()}`,
);

const open = child('open', fullDb, cacheDir, storePath);
console.log(
  `store open: ${(open.openMs as number).toFixed(1)} ms (header only); cold lookup of debian:12 linux (${open.hits} entries) ${(open.lookupMs as number).toFixed(0)} ms, then of those not fixed at or below 6.1.76-1 (${open.affecting}) ${(open.affectingMs as number).toFixed(1)} ms; openAdvisoryIndex through the cache (source listing + fingerprint + open) ${(open.cachedOpenMs as number).toFixed(1)} ms`,
);

// Warm CLI scans.
const archive = join(fixturesCacheDir(), 'debian-multi.tar');
if (existsSync(archive)) {
  // The bundle keeps third-party packages external: it must sit where node_modules resolves
  // (a bundle under /tmp failed to load, and that exit status was once taken for a scan).
  const cliDir = join(repoRoot, 'apps/cli/dist', `bench-advisories-${process.pid}`);
  const cli = join(cliDir, 'strata.mjs');
  execFileSync(process.execPath, [join(repoRoot, 'tools/bundle.mjs'), '--deps', join(repoRoot, 'apps/cli/src/main.ts'), cli], {
    cwd: join(repoRoot, 'apps/cli'),
    stdio: 'ignore',
  });
  process.on('exit', () => rmSync(cliDir, { recursive: true, force: true }));
  const smallDb = join(work, 'db-small');
  mkdirSync(smallDb);
  // 50 Debian records of the packages the image has most of.
  const { eachZipJson } = await import('../../libs/advisories/src/source.js');
  let kept = 0;
  await eachZipJson(join(bucket, 'Debian/all.zip'), (name, text) => {
    if (kept < 50 && /"name":"(glibc|openssl|systemd|bash|tar|perl|zlib|xz-utils|coreutils|util-linux)"/.test(text)) {
      writeFileSync(join(smallDb, name), text);
      kept++;
    }
  });
  const scan = (db: string): { ms: number; rssKb: number; cpuS: number; findings: number; reportBytes: number } => {
    const runs: { ms: number; rssKb: number; cpuS: number; findings: number; reportBytes: number }[] = [];
    for (let i = 0; i < 4; i++) {
      const t = performance.now();
      const run = spawnSync(
        '/usr/bin/time',
        ['-f', '%M %U %S', process.execPath, cli, 'image', '--input', archive, '--db', db, '--cache-dir', cacheDir, '--format', 'json', '--no-progress'],
        { encoding: 'utf8', maxBuffer: 1 << 28 },
      );
      const ms = performance.now() - t;
      // Exit 1 means "findings", and only with a report on stdout: anything else is a failed scan.
      // The JSON report is Trivy-shaped: Results[].Vulnerabilities.
      let report: { Results?: { Vulnerabilities?: unknown[] }[] } | undefined;
      try {
        report = JSON.parse(run.stdout) as typeof report;
      } catch {
        report = undefined;
      }
      if ((run.status !== 0 && run.status !== 1) || !Array.isArray(report?.Results))
        throw new Error(`CLI scan failed (${run.status}): ${run.stderr.slice(-2000)}`);
      const findings = report.Results.reduce((n, r) => n + (r.Vulnerabilities?.length ?? 0), 0);
      runs.push({ ms, ...timeFigures(run.stderr), findings, reportBytes: Buffer.byteLength(run.stdout) });
    }
    // the first run warms the layer cache (and builds the small DB's store): the rest are warm
    const warm = runs.slice(1).sort((a, b) => a.ms - b.ms);
    return warm[1] as (typeof runs)[number];
  };
  const small = scan(smallDb);
  const full = scan(fullDb);
  const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;
  console.log(
    `warm CLI scan of debian-multi (median of 3 warm runs): full set ${secs(full.ms)} (${full.cpuS.toFixed(2)} s CPU) / ${mib(full.rssKb)} peak RSS, ${full.findings} findings, ${mb(full.reportBytes)} report; ` +
      `50-record DB ${secs(small.ms)} (${small.cpuS.toFixed(2)} s CPU) / ${mib(small.rssKb)}, ${small.findings} findings, ${mb(small.reportBytes)} report; ratio ${(full.ms / small.ms).toFixed(2)}x (CPU ${(full.cpuS / small.cpuS).toFixed(2)}x); ${load()}`,
  );
} else {
  console.log(`warm CLI scan skipped: ${archive} not built (infra/local/images.sh)`);
}

// A 1% change as an incremental `strata db update` leaves it: the changed records as
// <Ecosystem>/updates/<id>.json (the bucket's per-record files of generation 2), applied to a copy
// of the store instead of a full build.
let changedFiles = 0;
for (const eco of readdirSync(bucket2)) {
  const updates = join(fullDb, eco, 'updates');
  mkdirSync(updates, { recursive: true });
  for (const name of readdirSync(join(bucket2, eco)).filter((n) => n.endsWith('.json'))) {
    copyFileSync(join(bucket2, eco, name), join(updates, name));
    changedFiles++;
  }
}
const rebuild = child('build', fullDb, cacheDir);
const pct = (a: number, b: number): string => `${((100 * a) / b).toFixed(1)}%`;
console.log(
  `store update after ${changedFiles} records (1%) changed: ${secs(rebuild.ms as number)} (${pct(rebuild.ms as number, build.ms as number)} of the full build), ${(rebuild.cpuS as number).toFixed(1)} s CPU (${pct(rebuild.cpuS as number, build.cpuS as number)}), peak RSS ${mib(rebuild.rssKb as number)}; ${load()}`,
);

const matcher = child('matcher', fullDb, cacheDir);
console.log(
  `matcher's index source with the full set, after ${matcher.entries} entries looked up: peak RSS ${mib(matcher.rssKb as number)}, at the end ${mib(matcher.rssNowKb as number)}`,
);

// The other benchmarks of the store, each in a process of its own: their own lines, as printed.
const bench = (script: string, extra: string[]): string => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', join(repoRoot, script), ...extra], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    cwd: repoRoot,
  });
  if (run.status !== 0) return `${script} failed (${run.status}): ${run.stderr.slice(-1000)}`;
  return run.stdout.trim();
};
console.log(`match-many (huge inventories against the full set):\n${bench('bench/advisories/match-many.ts', ['--db', fullDb, '--cache-dir', cacheDir])}`);
if (process.env.STRATA_TEST_KAFKA) console.log(`bench/rematch:\n${bench('bench/rematch/run.ts', [])}`);
else console.log('bench/rematch skipped: Kafka not configured (source <(bash infra/local/env.sh))');
rmSync(work, { recursive: true, force: true });
