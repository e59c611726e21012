// Wall time of Trivy and of the Strata CLI bundle on the same `docker save` archive (the coverage
// image of infra/local/images.sh), both offline and both writing a CycloneDX inventory, with a cold
// cache (a new cache folder per run) and a warm one (the same folder again). Prints the medians and
// Strata / Trivy as a ratio.
// Trivy: `trivy image --input <tar> --offline-scan --skip-db-update --skip-java-db-update --format
// cyclonedx` with the empty Java DB (no vulnerability DB: CycloneDX output needs none). Strata:
// `node apps/cli/dist/strata.mjs image --input <tar> --format cyclonedx` with the repo's sample
// advisories, so its matching step is the small one of a scan.
// Usage: source <(bash infra/local/env.sh); bash tools/node.sh --import tsx bench/vs-trivy/run.ts [archive] [runs]
//   (builds the CLI bundle when apps/cli/dist/strata.mjs is missing)
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { infra, loadImages, repoRoot } from '@strata/testing';

const trivy = infra.trivy();
if (!trivy) {
  console.error('Trivy not found: run bash infra/local/trivy.sh, then source <(bash infra/local/env.sh)');
  process.exit(1);
}
const archive = process.argv[2] ?? loadImages().images.coverage?.dockerArchive?.path;
if (!archive || !existsSync(archive)) {
  console.error('coverage archive not found: run sudo bash infra/local/images.sh, or pass an archive');
  process.exit(1);
}
const runs = Number(process.argv[3] ?? 5);
const cli = join(repoRoot, 'apps/cli/dist/strata.mjs');
if (!existsSync(cli)) {
  console.log('building the CLI bundle (apps/cli/dist/strata.mjs)');
  const build = spawnSync(process.execPath, [join(repoRoot, 'tools/bundle.mjs'), 'src/main.ts', 'dist/strata.mjs'], { cwd: join(repoRoot, 'apps/cli'), stdio: 'inherit' });
  if (build.status !== 0) process.exit(1);
}
const db = join(repoRoot, 'fixtures/advisories');
const work = mkdtempSync(join(tmpdir(), 'strata-vs-trivy-'));

function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): number {
  const t = performance.now();
  const run = spawnSync(cmd, args, { encoding: 'utf8', env, maxBuffer: 256 * 1024 * 1024 });
  const ms = performance.now() - t;
  if (run.status !== 0) throw new Error(`${cmd} exited ${run.status}: ${run.stderr}`);
  return ms;
}

function trivyCache(): string {
  const dir = mkdtempSync(join(work, 'trivy-cache-'));
  cpSync(trivy!.javaDbDir, join(dir, 'java-db'), { recursive: true });
  return dir;
}
const trivyEnv = { ...process.env, TRIVY_NO_PROGRESS: 'true' };
const trivyRun = (cacheDir: string, out: string) =>
  timed(trivy.bin, ['image', '--input', archive, '--cache-dir', cacheDir, '--offline-scan', '--skip-db-update', '--skip-java-db-update',
    '--format', 'cyclonedx', '--quiet', '--output', out], trivyEnv);
const strataRun = (cacheDir: string, out: string) =>
  timed(process.execPath, [cli, 'image', '--input', archive, '--cache-dir', cacheDir, '--db', db, '--format', 'cyclonedx', '--no-progress', '--output', out]);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const components = (file: string) => ((JSON.parse(readFileSync(file, 'utf8')) as { components?: unknown[] }).components ?? []).length;

console.log(`archive ${archive}\ntrivy   ${trivy.bin}\nstrata  ${cli}\nruns    ${runs} per case (median)`);
const cold = { trivy: [] as number[], strata: [] as number[] };
const warm = { trivy: [] as number[], strata: [] as number[] };
const tCache = trivyCache();
const sCache = mkdtempSync(join(work, 'strata-cache-'));
// alternate the tools so a load change on the shared machine hits both alike
for (let i = 0; i < runs; i++) {
  cold.trivy.push(trivyRun(trivyCache(), join(work, 'trivy.cdx.json')));
  cold.strata.push(strataRun(mkdtempSync(join(work, 'strata-cache-')), join(work, 'strata.cdx.json')));
}
trivyRun(tCache, join(work, 'trivy.cdx.json'));
strataRun(sCache, join(work, 'strata.cdx.json'));
for (let i = 0; i < runs; i++) {
  warm.trivy.push(trivyRun(tCache, join(work, 'trivy.cdx.json')));
  warm.strata.push(strataRun(sCache, join(work, 'strata.cdx.json')));
}
const row = (name: string, c: { trivy: number[]; strata: number[] }) => {
  const t = median(c.trivy);
  const s = median(c.strata);
  console.log(`${name.padEnd(5)} trivy ${(t / 1000).toFixed(2)} s   strata ${(s / 1000).toFixed(2)} s   strata/trivy ${(s / t).toFixed(2)}x`);
};
console.log(`components: trivy ${components(join(work, 'trivy.cdx.json'))}, strata ${components(join(work, 'strata.cdx.json'))}`);
row('cold', cold);
row('warm', warm);
const bare = timed(process.execPath, ['-e', '0']);
console.log(`(bare node start: ${(bare / 1000).toFixed(2)} s; archive ${(Number(spawnSync('stat', ['-c', '%s', archive], { encoding: 'utf8' }).stdout) / 1e6).toFixed(0)} MB)`);
rmSync(work, { recursive: true, force: true });
