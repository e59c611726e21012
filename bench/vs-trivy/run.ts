// Strata against Trivy on the same images, each as a whole process, alternating runs, with a cold
// cache (a new cache folder per run) and a warm one (the same folder again). Prints the goals table
// of issue 16: medians of wall time, Strata / Trivy as a ratio, CPU time (user+sys: steadier than
// wall on a shared machine) and peak RSS; then the CPU that `strata --version` costs above a bare
// `node -e 0`, and the throughput of a zstd layer walk against the same layer gzip-compressed.
//
// Both write a CycloneDX inventory offline. Trivy: `--offline-scan --skip-db-update
// --skip-java-db-update --format cyclonedx` with the empty Java DB of infra/local/trivy-java-db.mjs
// (CycloneDX needs no vulnerability DB, so Trivy matches nothing); Strata: `--format cyclonedx` with
// the repo's sample advisories, so it also matches (a small DB). Strata runs as it ships
// (apps/cli/bin/strata.mjs → the bundle), with Node's compile cache filled by an untimed first run,
// as it is after the first run of an install; the layer cache is what cold and warm are about.
// Images (from infra/local/images.sh): debian-multi from the loopback registry (gzip and zstd
// layers) and the coverage image as a `docker save` archive (small, language-heavy).
//
// Usage: source <(bash infra/local/env.sh)
//        bash tools/node.sh --import tsx bench/vs-trivy/run.ts [runs] [image…]
//   image: docker-archive:<tar> or a registry reference; builds apps/cli/dist/strata.mjs when missing.
// Without Trivy or the test images it says so and exits 0 (nothing measured).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { walkLayer } from '@strata/layers';
import { imagesJsonPath, infra, loadImages, repoRoot, trivyEnv, trivyOfflineArgs } from '@strata/testing';

const trivy = infra.trivy();
if (!trivy) {
  console.log('Trivy not found (run bash infra/local/trivy.sh, then source <(bash infra/local/env.sh)): nothing measured');
  process.exit(0);
}
const runs = Number(process.argv[2] ?? 5);

interface Case {
  label: string;
  image: string;
  /** the goal of issue 16 for the cold and warm wall ratio */
  coldGoal?: number;
}
let cases: Case[];
let zstdRefs: { gzip: string; zstd: string } | undefined;
if (process.argv.length > 3) {
  cases = process.argv.slice(3).map((image) => ({ label: image, image }));
} else {
  if (!existsSync(imagesJsonPath())) {
    console.log('test images not built (sudo bash infra/local/images.sh): nothing measured');
    process.exit(0);
  }
  const fixtures = loadImages();
  const archive = fixtures.images.coverage?.dockerArchive?.path;
  const ref = (compression: string) =>
    fixtures.refs.find((r) => r.image === 'debian-multi' && r.registry === 'anonymous' && r.layerCompression === compression && r.manifestFormat === 'oci')
      ?.ref;
  const gzip = ref('gzip');
  const zstd = ref('zstd');
  cases = [
    ...(gzip ? [{ label: 'debian-multi gzip, registry', image: gzip, coldGoal: 0.9 }] : []),
    ...(archive ? [{ label: 'coverage, docker-archive', image: `docker-archive:${archive}`, coldGoal: 1.0 }] : []),
    ...(zstd ? [{ label: 'debian-multi zstd, registry', image: zstd }] : []),
  ];
  if (gzip && zstd) zstdRefs = { gzip, zstd };
}
const WARM_GOAL = 1.5;
const WARM_GOAL_SECONDS = 0.2;
const RSS_GOAL_MB = 150;
const VERSION_GOAL_MS = 60;
const ZSTD_GOAL = 0.8;

const bin = join(repoRoot, 'apps/cli/bin/strata.mjs');
if (!existsSync(join(repoRoot, 'apps/cli/dist/strata.mjs'))) {
  console.log('building the CLI bundle (apps/cli/dist/strata.mjs)');
  const build = spawnSync(process.execPath, [join(repoRoot, 'tools/bundle.mjs'), '--deps', 'src/main.ts', 'dist/strata.mjs'], {
    cwd: join(repoRoot, 'apps/cli'),
    stdio: 'inherit',
  });
  if (build.status !== 0) process.exit(1);
}
const db = join(repoRoot, 'fixtures/advisories');
const work = mkdtempSync(join(tmpdir(), 'strata-vs-trivy-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
/** STRATA_CACHE_DIR of every Strata run: only Node's compile cache lands there (each run passes --cache-dir) */
const strataHome = join(work, 'strata-home');
const gnuTime = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

interface Sample {
  ms: number;
  /** user+sys, from /usr/bin/time */
  cpuMs?: number;
  rssMb?: number;
}
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Sample {
  const statsFile = join(work, 'time');
  const [exe, argv] = gnuTime ? [gnuTime, ['-f', '%U %S %M', '-o', statsFile, cmd, ...args]] : [cmd, args];
  const t = performance.now();
  const run = spawnSync(exe, argv, { encoding: 'utf8', env, maxBuffer: 256 * 1024 * 1024 });
  const ms = performance.now() - t;
  if (run.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${run.status}: ${run.stderr}`);
  if (!gnuTime) return { ms };
  const [user, sys, rssKb] = readFileSync(statsFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number) as [number, number, number];
  return { ms, cpuMs: (user + sys) * 1000, rssMb: rssKb / 1024 };
}

function trivyCache(): string {
  const dir = mkdtempSync(join(work, 'trivy-cache-'));
  cpSync(trivy!.javaDbDir, join(dir, 'java-db'), { recursive: true });
  return dir;
}
function trivyRun(image: string, cacheDir: string, out: string): Sample {
  const source = image.startsWith('docker-archive:') ? ['--input', image.slice('docker-archive:'.length)] : ['--image-src', 'remote', '--insecure', image];
  return timed(trivy!.bin, trivyOfflineArgs(source, cacheDir, out), trivyEnv());
}
const strataEnv = { ...process.env, STRATA_CACHE_DIR: strataHome };
function strataRun(image: string, cacheDir: string, out: string): Sample {
  const source = image.startsWith('docker-archive:') ? ['--input', image.slice('docker-archive:'.length)] : [image];
  return timed(
    process.execPath,
    [bin, 'image', ...source, '--cache-dir', cacheDir, '--db', db, '--format', 'cyclonedx', '--no-progress', '--output', out],
    strataEnv,
  );
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const components = (file: string) => ((JSON.parse(readFileSync(file, 'utf8')) as { components?: unknown[] }).components ?? []).length;
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const pad = (s: string, n: number) => s.padEnd(n);
const lpad = (s: string, n: number) => s.padStart(n);

const trivyVersion = spawnSync(trivy.bin, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0] ?? '';
console.log(`trivy  ${trivy.bin} (${trivyVersion.trim()})\nstrata ${bin} on node ${process.version}`);
console.log(
  `${runs} runs per case, alternating, medians; load average ${(await import('node:os'))
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);

interface Row {
  label: string;
  trivy: Sample[];
  strata: Sample[];
  goal: string;
  met: boolean | undefined;
}
const rows: Row[] = [];
const notes: string[] = [];
for (const c of cases) {
  const tOut = join(work, 'trivy.cdx.json');
  const sOut = join(work, 'strata.cdx.json');
  // untimed: fills the page cache with both programs and Strata's compile cache
  trivyRun(c.image, trivyCache(), tOut);
  strataRun(c.image, mkdtempSync(join(work, 'strata-cache-')), sOut);
  const cold = { trivy: [] as Sample[], strata: [] as Sample[] };
  const warm = { trivy: [] as Sample[], strata: [] as Sample[] };
  for (let i = 0; i < runs; i++) {
    cold.trivy.push(trivyRun(c.image, trivyCache(), tOut));
    cold.strata.push(strataRun(c.image, mkdtempSync(join(work, 'strata-cache-')), sOut));
  }
  const tCache = trivyCache();
  const sCache = mkdtempSync(join(work, 'strata-cache-'));
  trivyRun(c.image, tCache, tOut);
  strataRun(c.image, sCache, sOut);
  for (let i = 0; i < runs; i++) {
    warm.trivy.push(trivyRun(c.image, tCache, tOut));
    warm.strata.push(strataRun(c.image, sCache, sOut));
  }
  notes.push(`${c.label}: ${c.image} (components: trivy ${components(tOut)}, strata ${components(sOut)})`);
  const ratio = (x: { trivy: Sample[]; strata: Sample[] }) => median(x.strata.map((s) => s.ms)) / median(x.trivy.map((s) => s.ms));
  rows.push({
    label: `cold  ${c.label}`,
    ...cold,
    goal: c.coldGoal !== undefined ? `≤ ${c.coldGoal.toFixed(1)}×` : '',
    met: c.coldGoal !== undefined ? ratio(cold) <= c.coldGoal : undefined,
  });
  const warmMs = median(warm.strata.map((s) => s.ms));
  rows.push({
    label: `warm  ${c.label}`,
    ...warm,
    goal: `≤ ${WARM_GOAL}×, ≤ ${WARM_GOAL_SECONDS} s`,
    met: ratio(warm) <= WARM_GOAL && warmMs <= WARM_GOAL_SECONDS * 1000,
  });
  // the caches of this image go; the next image starts from nothing
  for (const name of readdirSync(work)) if (name !== 'strata-home') rmSync(join(work, name), { recursive: true, force: true });
}

const verdict = (met: boolean | undefined) => (met === undefined ? '' : met ? 'met' : 'MISSED');
console.log('');
console.log(
  `${pad('case', 38)}${lpad('trivy', 9)}${lpad('strata', 9)}${lpad('wall', 8)}  ${pad('goal', 17)}${pad('', 7)}${lpad('CPU s/t', 18)}   peak RSS s (max) / t`,
);
let maxRss = 0;
for (const r of rows) {
  const t = median(r.trivy.map((s) => s.ms));
  const s = median(r.strata.map((x) => x.ms));
  let cpu = '';
  let rss = '';
  if (gnuTime) {
    const tc = median(r.trivy.map((x) => x.cpuMs!));
    const sc = median(r.strata.map((x) => x.cpuMs!));
    cpu = `${secs(sc)} / ${secs(tc)}`;
    const sr = median(r.strata.map((x) => x.rssMb!));
    maxRss = Math.max(maxRss, ...r.strata.map((x) => x.rssMb!));
    const sMax = Math.max(...r.strata.map((x) => x.rssMb!));
    rss = `${sr.toFixed(0)} (max ${sMax.toFixed(0)}) / ${median(r.trivy.map((x) => x.rssMb!)).toFixed(0)} MB`;
  }
  console.log(
    `${pad(r.label, 38)}${lpad(secs(t), 9)}${lpad(secs(s), 9)}${lpad(`${(s / t).toFixed(2)}×`, 8)}  ${pad(r.goal, 17)}${pad(verdict(r.met), 7)}${lpad(cpu, 18)}   ${rss}`,
  );
}
if (gnuTime) console.log(`peak RSS of Strata, highest of every run: ${maxRss.toFixed(0)} MB (goal ≤ ${RSS_GOAL_MB} MB: ${verdict(maxRss <= RSS_GOAL_MB)})`);

// `strata --version` against bare node: CPU (user+sys), medians, alternating
if (gnuTime) {
  const node: number[] = [];
  const version: number[] = [];
  for (let i = 0; i < Math.max(runs, 5) * 2; i++) {
    node.push(timed(process.execPath, ['-e', '0']).cpuMs!);
    version.push(timed(process.execPath, [bin, '--version'], strataEnv).cpuMs!);
  }
  const above = median(version) - median(node);
  console.log(
    `strata --version: ${median(version).toFixed(0)} ms CPU, node -e 0: ${median(node).toFixed(0)} ms → ${above.toFixed(0)} ms above (goal ≤ ${VERSION_GOAL_MS} ms: ${verdict(above <= VERSION_GOAL_MS)})`,
  );
}

// the base layer of debian-multi as the registry serves it gzip- and zstd-compressed, walked in this process
if (zstdRefs) {
  const gzipLayer = await largestLayer(zstdRefs.gzip);
  const zstdLayer = await largestLayer(zstdRefs.zstd);
  const gzipRate: number[] = [];
  const zstdRate: number[] = [];
  for (let i = 0; i < Math.max(3, runs); i++) {
    gzipRate.push(await walkRate(gzipLayer));
    zstdRate.push(await walkRate(zstdLayer));
  }
  const ratio = median(zstdRate) / median(gzipRate);
  console.log(
    `zstd layer walk: ${median(zstdRate).toFixed(0)} MB/s vs gzip ${median(gzipRate).toFixed(0)} MB/s of tar by CPU time (${(zstdLayer.blob.length / 1e6).toFixed(0)} / ${(gzipLayer.blob.length / 1e6).toFixed(0)} MB compressed) → ${ratio.toFixed(2)}× (goal ≥ ${ZSTD_GOAL}×: ${verdict(ratio >= ZSTD_GOAL)})`,
  );
}
for (const n of notes) console.log(n);

async function largestLayer(ref: string): Promise<{ blob: Buffer; mediaType: string }> {
  const slash = ref.indexOf('/');
  const colon = ref.lastIndexOf(':');
  const base = `http://${ref.slice(0, slash)}/v2/${ref.slice(slash + 1, colon)}`;
  const res = await fetch(`${base}/manifests/${ref.slice(colon + 1)}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
  const manifest = (await res.json()) as { layers: { digest: string; size: number; mediaType: string }[] };
  const layer = manifest.layers.reduce((a, b) => (b.size > a.size ? b : a));
  const blob = Buffer.from(await (await fetch(`${base}/blobs/${layer.digest}`)).arrayBuffer());
  return { blob, mediaType: layer.mediaType };
}

/** MB/s of uncompressed tar per CPU second: decoder + tar walk + diffID hash, every entry described */
async function walkRate(layer: { blob: Buffer; mediaType: string }): Promise<number> {
  const cpu = process.cpuUsage();
  const summary = await walkLayer(Readable.from([layer.blob]), { mediaType: layer.mediaType }, { entry: () => {} });
  const used = process.cpuUsage(cpu);
  return summary.uncompressedBytes / 1e6 / ((used.user + used.system) / 1e6);
}
