// Embedded `strata image` cold and warm: the library call and the whole CLI process.
// Usage: bash tools/node.sh --import tsx bench/scan/run.ts [image-ref] [db-dir]
// Defaults: the debootstrap-based debian-multi image from the local registry when the test images
// are built (infra/local/images.sh), else the demo image; the repo's sample advisories.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scanImage } from '@strata/pipeline';
import { fixturesCacheDir, repoRoot } from '@strata/testing';

function defaultImage(): string {
  const imagesJson = join(fixturesCacheDir(), 'images.json');
  if (existsSync(imagesJson)) {
    const refs = JSON.parse(readFileSync(imagesJson, 'utf8')).refs as Array<{ ref: string; image: string; registry: string; layerCompression: string }>;
    const ref = refs.find((r) => r.image === 'debian-multi' && r.registry === 'anonymous' && r.layerCompression === 'gzip')?.ref;
    if (ref) return ref;
  }
  const dir = mkdtempSync(join(tmpdir(), 'strata-bench-demo-'));
  execFileSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'fixtures/demo/build-image.ts'), dir], { stdio: 'ignore' });
  return `oci:${dir}:demo`;
}

const ref = process.argv[2] ?? defaultImage();
const dbDir = process.argv[3] ?? join(repoRoot, 'fixtures/advisories');
const cacheDir = mkdtempSync(join(tmpdir(), 'strata-bench-cache-'));
const ms = (t: number) => `${(performance.now() - t).toFixed(0)} ms`;

console.log(`image ${ref}\ndb    ${dbDir}`);
const phases: Record<string, number> = {};
let t = performance.now();
const cold = await scanImage(ref, { cacheDir, dbDir, onPhase: (p, d) => (phases[p] = d) });
console.log(
  `library cold: ${ms(t)}  (${cold.layersAnalyzed} layers analyzed; phases ${JSON.stringify(Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, Math.round(v)])))})`,
);
const warmRuns: number[] = [];
for (let i = 0; i < 5; i++) {
  t = performance.now();
  const warm = await scanImage(ref, { cacheDir, dbDir, onPhase: (p, d) => (phases[p] = d) });
  warmRuns.push(performance.now() - t);
  if (warm.layersAnalyzed !== 0) throw new Error('warm scan analyzed layers: the cache did not hold');
}
warmRuns.sort((a, b) => a - b);
console.log(
  `library warm: median ${warmRuns[2]!.toFixed(0)} ms of 5 (phases of the last ${JSON.stringify(Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, Math.round(v)])))})`,
);
console.log(
  `findings: ${cold.findings.length}, packages: ${cold.inventory.osPackages.length} os + ${cold.inventory.applications.reduce((n, s) => n + s.packages.length, 0)} app`,
);

const cli = join(repoRoot, 'apps/cli/dist/strata.mjs');
if (existsSync(cli)) {
  const runs: number[] = [];
  for (let i = 0; i < 5; i++) {
    t = performance.now();
    const run = spawnSync(process.execPath, [cli, 'image', ref, '--db', dbDir, '--cache-dir', cacheDir, '--format', 'json', '--no-progress'], {
      encoding: 'utf8',
    });
    runs.push(performance.now() - t);
    if (run.status !== 0) throw new Error(`CLI failed: ${run.stderr}`);
  }
  runs.sort((a, b) => a - b);
  console.log(`CLI process warm (node start + scan + JSON): median ${runs[2]!.toFixed(0)} ms of 5`);
  const node = spawnSync(process.execPath, ['-e', '0']);
  t = performance.now();
  spawnSync(process.execPath, ['-e', '0']);
  console.log(`baseline: bare node start ${ms(t)} (status ${node.status})`);
} else {
  console.log('CLI bundle not built (npm run build); CLI timing skipped');
}
rmSync(cacheDir, { recursive: true, force: true });
