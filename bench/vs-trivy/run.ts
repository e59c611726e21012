// Wall time (and peak RSS) of Trivy and of the Strata CLI bundle on the same images, each as a whole
// process, alternating, with a cold cache (a new cache folder per run) and a warm one (the same
// folder again); prints the medians and Strata / Trivy as ratios.
// Both write a CycloneDX inventory offline. Trivy: `--offline-scan --skip-db-update
// --skip-java-db-update --format cyclonedx` with the empty Java DB of infra/local/trivy-java-db.mjs
// (CycloneDX needs no vulnerability DB, so Trivy matches nothing); Strata: `--format cyclonedx` with
// the repo's sample advisories, so it also matches (a small DB).
// Images (from infra/local/images.sh): the coverage image as a `docker save` archive (language-heavy),
// and debian-multi from the loopback registry, gzip and zstd layers.
// Usage: source <(bash infra/local/env.sh)
//        bash tools/node.sh --import tsx bench/vs-trivy/run.ts [runs] [image…]
//   image: docker-archive:<tar> or a registry reference; builds apps/cli/dist/strata.mjs when missing.
// Without Trivy or the test images it says so and exits 0 (nothing measured).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imagesJsonPath, infra, loadImages, repoRoot } from '@strata/testing';

const trivy = infra.trivy();
if (!trivy) {
  console.log('Trivy not found (run bash infra/local/trivy.sh, then source <(bash infra/local/env.sh)): nothing measured');
  process.exit(0);
}
const runs = Number(process.argv[2] ?? 5);
let images = process.argv.slice(3);
if (images.length === 0) {
  if (!existsSync(imagesJsonPath())) {
    console.log('test images not built (sudo bash infra/local/images.sh): nothing measured');
    process.exit(0);
  }
  const fixtures = loadImages();
  const archive = fixtures.images.coverage?.dockerArchive?.path;
  const ref = (compression: string) =>
    fixtures.refs.find((r) => r.image === 'debian-multi' && r.registry === 'anonymous' && r.layerCompression === compression && r.manifestFormat === 'oci')
      ?.ref;
  images = [archive ? `docker-archive:${archive}` : undefined, ref('gzip'), ref('zstd')].filter((x): x is string => x !== undefined);
}
const cli = join(repoRoot, 'apps/cli/dist/strata.mjs');
if (!existsSync(cli)) {
  console.log('building the CLI bundle (apps/cli/dist/strata.mjs)');
  const build = spawnSync(process.execPath, [join(repoRoot, 'tools/bundle.mjs'), 'src/main.ts', 'dist/strata.mjs'], {
    cwd: join(repoRoot, 'apps/cli'),
    stdio: 'inherit',
  });
  if (build.status !== 0) process.exit(1);
}
const db = join(repoRoot, 'fixtures/advisories');
const work = mkdtempSync(join(tmpdir(), 'strata-vs-trivy-'));
const gnuTime = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

interface Sample {
  ms: number;
  rssMb?: number;
}
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Sample {
  const rssFile = join(work, 'rss');
  const [bin, argv] = gnuTime ? [gnuTime, ['-f', '%M', '-o', rssFile, cmd, ...args]] : [cmd, args];
  const t = performance.now();
  const run = spawnSync(bin, argv, { encoding: 'utf8', env, maxBuffer: 256 * 1024 * 1024 });
  const ms = performance.now() - t;
  if (run.status !== 0) throw new Error(`${cmd} exited ${run.status}: ${run.stderr}`);
  return gnuTime ? { ms, rssMb: Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop()) / 1024 } : { ms };
}

function trivyCache(): string {
  const dir = mkdtempSync(join(work, 'trivy-cache-'));
  cpSync(trivy!.javaDbDir, join(dir, 'java-db'), { recursive: true });
  return dir;
}
const trivyEnv = { ...process.env, TRIVY_NO_PROGRESS: 'true' };
function trivyRun(image: string, cacheDir: string, out: string): Sample {
  const source = image.startsWith('docker-archive:') ? ['--input', image.slice('docker-archive:'.length)] : ['--image-src', 'remote', '--insecure', image];
  return timed(
    trivy!.bin,
    [
      'image',
      ...source,
      '--cache-dir',
      cacheDir,
      '--offline-scan',
      '--skip-db-update',
      '--skip-java-db-update',
      '--format',
      'cyclonedx',
      '--quiet',
      '--output',
      out,
    ],
    trivyEnv,
  );
}
function strataRun(image: string, cacheDir: string, out: string): Sample {
  const source = image.startsWith('docker-archive:') ? ['--input', image.slice('docker-archive:'.length)] : [image];
  return timed(process.execPath, [cli, 'image', ...source, '--cache-dir', cacheDir, '--db', db, '--format', 'cyclonedx', '--no-progress', '--output', out]);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const components = (file: string) => ((JSON.parse(readFileSync(file, 'utf8')) as { components?: unknown[] }).components ?? []).length;
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

console.log(
  `trivy  ${trivy.bin}\nstrata ${cli}\n${runs} runs per case, medians; peak RSS ${gnuTime ? 'from /usr/bin/time' : 'not measured (no /usr/bin/time)'}`,
);
for (const image of images) {
  const tOut = join(work, 'trivy.cdx.json');
  const sOut = join(work, 'strata.cdx.json');
  const cold = { trivy: [] as Sample[], strata: [] as Sample[] };
  const warm = { trivy: [] as Sample[], strata: [] as Sample[] };
  for (let i = 0; i < runs; i++) {
    cold.trivy.push(trivyRun(image, trivyCache(), tOut));
    cold.strata.push(strataRun(image, mkdtempSync(join(work, 'strata-cache-')), sOut));
  }
  const tCache = trivyCache();
  const sCache = mkdtempSync(join(work, 'strata-cache-'));
  trivyRun(image, tCache, tOut);
  strataRun(image, sCache, sOut);
  for (let i = 0; i < runs; i++) {
    warm.trivy.push(trivyRun(image, tCache, tOut));
    warm.strata.push(strataRun(image, sCache, sOut));
  }
  console.log(`\n${image}  (components: trivy ${components(tOut)}, strata ${components(sOut)})`);
  for (const [name, c] of [
    ['cold', cold],
    ['warm', warm],
  ] as const) {
    const t = median(c.trivy.map((s) => s.ms));
    const s = median(c.strata.map((x) => x.ms));
    const rss = gnuTime
      ? `   peak RSS strata ${median(c.strata.map((x) => x.rssMb!)).toFixed(0)} MB / trivy ${median(c.trivy.map((x) => x.rssMb!)).toFixed(0)} MB`
      : '';
    console.log(`  ${name}  trivy ${secs(t)}   strata ${secs(s)}   strata/trivy ${(s / t).toFixed(2)}x${rss}`);
  }
  // the caches of this image go; the next image starts from nothing
  for (const name of readdirSync(work)) rmSync(join(work, name), { recursive: true, force: true });
}
rmSync(work, { recursive: true, force: true });
