// Advisory index and matching benchmark over all of shared/data/osv (Go vulndb + Alpine + GHSA):
//   - index build time (cold, no cache), cached-index write and size on disk, warm open time
//     (manifest only), shard load time, and heap after loading everything;
//   - matching time for a synthetic but realistic 500-package inventory: Alpine OS packages named
//     after the Alpine records' origins, Go modules and the Go stdlib from the Go records, npm and
//     PyPI packages from the GHSA records. "typical": one package in seven at a vulnerable version
//     (an `introduced` version of its own records), the others past their last fix; "worst case":
//     every package at one of its event versions, so most of them are vulnerable.
// Wall time is noisy on a shared machine; CPU time (user+sys of this process) is printed beside it.
//
//   bash tools/node.sh --import tsx bench/match/run.ts [--packages 500] [--runs 50]
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { ecosystemKey, openAdvisoryIndex, type AdvisoryIndex, type IndexedRecord } from '@strata/advisories';
import { matchInventory } from '@strata/matcher';
import type { ImageInventory, InventoryPackage, InventorySet, LayerRef, Package, PackageType } from '@strata/model';
import { sharedDataDir } from '@strata/testing';
import { comparator, type VersionScheme } from '@strata/versions';

const { values: args } = parseArgs({
  options: { packages: { type: 'string', default: '500' }, runs: { type: 'string', default: '50' } },
});
const PACKAGES = Number(args.packages);
const RUNS = Number(args.runs);

const data = sharedDataDir();
if (!data) {
  console.error('shared data not found (set STRATA_DATA_DIR or provide ../shared/data)');
  process.exit(1);
}
const dbDir = join(data, 'osv');

function duSync(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? duSync(p) : statSync(p).size;
  }
  return total;
}
const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MB`;
const ms = (n: number): string => `${n.toFixed(1)} ms`;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

// --- index ------------------------------------------------------------------------------------
const sourceBytes = duSync(dbDir);
let t = performance.now();
const cold = await openAdvisoryIndex({ dbDir });
const buildMs = performance.now() - t;

const cacheDir = mkdtempSync(join(tmpdir(), 'strata-bench-match-'));
t = performance.now();
const written = await openAdvisoryIndex({ dbDir, cacheDir });
const buildAndWriteMs = performance.now() - t;
const cacheBytes = duSync(join(cacheDir, 'advisories'));

t = performance.now();
const warm = await openAdvisoryIndex({ dbDir, cacheDir });
const warmOpenMs = performance.now() - t;
if (warm.rebuilt || !written.rebuilt) throw new Error('cache not used as expected');
const shardTimes: string[] = [];
for (const key of warm.index.ecosystems()) {
  const t0 = performance.now();
  warm.index.lookup(key, '\u0000');
  shardTimes.push(`${key} ${ms(performance.now() - t0)}`);
}
const m = cold.index.manifest;

// --- a 500-package inventory ------------------------------------------------------------------
const LAYER: LayerRef = { digest: 'sha256:' + 'a'.repeat(64), diffId: 'sha256:' + 'b'.repeat(64) };

const SCHEME: Record<string, VersionScheme> = { go: 'go', npm: 'semver', pypi: 'pep440' };

/** Versions from a package's real events: `introduced` ones (vulnerable) and the highest `fixed` one. */
function versionsFor(index: AdvisoryIndex, key: string, name: string, typical: boolean, i: number): string[] {
  const cmp = comparator(SCHEME[key] ?? 'apk');
  const introduced: string[] = [];
  const fixed: string[] = [];
  for (const a of index.lookup(key, name)) {
    for (const r of a.ranges) {
      for (const e of r.events) {
        if (e.introduced && e.introduced !== '0') introduced.push(e.introduced);
        if (e.fixed) fixed.push(e.fixed);
      }
    }
  }
  const all = [...new Set([...introduced, ...fixed])];
  if (!typical) return all;
  if (i % 7 === 0) return [...new Set(introduced.length > 0 ? introduced : all)];
  const highest = fixed
    .filter((v) => cmp.isValid(v))
    .sort((a, b) => cmp.compare(a, b))
    .at(-1);
  return highest ? [highest] : all;
}

function recordsOf(index: AdvisoryIndex, key: string): Map<string, IndexedRecord[]> {
  const byName = new Map<string, IndexedRecord[]>();
  for (const id of Object.keys(index.manifest.records)) {
    for (const [k, name] of index.manifest.records[id]?.packages ?? []) {
      if (k !== key || index.manifest.records[id]?.withdrawn) continue;
      byName.set(name, [...(byName.get(name) ?? []), index.record(id) as IndexedRecord]);
    }
  }
  return byName;
}

const index = cold.index;
const pick = <T>(xs: T[], n: number): T[] => Array.from({ length: Math.min(n, xs.length * 50) }, (_, i) => xs[i % xs.length] as T);

const alpineKey = ecosystemKey('Alpine:v3.20');
const alpineNames = [...recordsOf(index, alpineKey).keys()];
const goNames = [...recordsOf(index, 'go').keys()].filter((n) => n !== 'stdlib');
const npmNames = [...recordsOf(index, 'npm').keys()];
const pypiNames = [...recordsOf(index, 'pypi').keys()];

const nOs = Math.round(PACKAGES * 0.3);
const nNpm = Math.round(PACKAGES * 0.15);
const nPypi = Math.round(PACKAGES * 0.1);
const nGo = PACKAGES - nOs - nNpm - nPypi - 1;

function makeInventory(typical: boolean): ImageInventory {
  const osPackages: InventoryPackage[] = pick(alpineNames, nOs).map((origin, i) => {
    const vs = versionsFor(index, alpineKey, origin, typical, i);
    const version = vs[i % vs.length] ?? '1.0.0-r0';
    return {
      type: 'apk',
      name: i < alpineNames.length ? origin : `${origin}-sub${i}`,
      version,
      srcName: origin,
      srcVersion: version,
      purl: `pkg:apk/alpine/${origin}`,
      layer: LAYER,
      setPath: 'lib/apk/db/installed',
    };
  });
  const lang = (type: PackageType, path: string, names: string[], n: number, key: string, extra: Package[] = []): InventorySet => ({
    path,
    analyzer: type,
    type,
    packages: [
      ...pick(names, n).map((name, i): InventoryPackage => {
        const vs = versionsFor(index, key, name, typical, i);
        const v = vs[i % vs.length] ?? '1.0.0';
        return { type, name, version: type === 'gobinary' ? `v${v}` : v, purl: `pkg:${type}/${name}@${v}`, layer: LAYER, setPath: path };
      }),
      ...extra.map((p) => ({ ...p, layer: LAYER, setPath: path })),
    ],
  });
  // A Go toolchain a few minor releases old, as binaries in images usually are.
  const stdlib: Package = { type: 'gobinary', name: 'stdlib', version: typical ? 'v1.24.4' : 'v1.21.3', purl: 'pkg:golang/stdlib' };
  const applications: InventorySet[] = [
    lang('npm', 'app/package-lock.json', npmNames, nNpm, 'npm'),
    lang('pypi', 'usr/lib/python3/site-packages', pypiNames, nPypi, 'pypi'),
    lang('gobinary', 'usr/local/bin/server', goNames, nGo, 'go', [stdlib]),
  ];
  return { os: { family: 'alpine', name: '3.20.3' }, osPackages, applications, layers: [LAYER], warnings: [] };
}

interface Run {
  name: string;
  packages: string;
  findings: number;
  warnings: number;
  firstMs: number;
  wall: number[];
  cpu: number[];
}

// Matching against the warm (cached) index: the first run of the first scenario includes parsing
// the shards the image needs.
function measure(name: string, inventory: ImageInventory): Run {
  const count = (type: string): number =>
    inventory.osPackages.filter((p) => p.type === type).length +
    inventory.applications.filter((s) => s.type === type).reduce((n, s) => n + s.packages.length, 0);
  const packages = `${inventory.osPackages.length + inventory.applications.reduce((n, s) => n + s.packages.length, 0)} packages (${['apk', 'npm', 'pypi', 'gobinary'].map((t) => `${count(t)} ${t}`).join(', ')})`;
  let t0 = performance.now();
  const first = matchInventory(inventory, warm.index);
  const firstMs = performance.now() - t0;
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const c0 = process.cpuUsage();
    t0 = performance.now();
    matchInventory(inventory, warm.index);
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { name, packages, findings: first.findings.length, warnings: first.warnings.length, firstMs, wall, cpu };
}
const runs = [measure('typical', makeInventory(true)), measure('worst case', makeInventory(false))];

rmSync(cacheDir, { recursive: true, force: true });
const heap = process.memoryUsage();

console.log(`advisory index over ${dbDir}`);
console.log(`  source:            ${m.sources.length} files, ${mb(sourceBytes)}`);
console.log(
  `  records:           ${m.counts.records} indexed, ${m.counts.withdrawn} withdrawn, ${m.counts.skipped} skipped; ${m.counts.packages} packages in ${Object.keys(m.shards).length} ecosystems`,
);
console.log(`  build (no cache):  ${ms(buildMs)}`);
console.log(`  build + write:     ${ms(buildAndWriteMs)}; cache on disk ${mb(cacheBytes)}`);
console.log(`  warm open:         ${ms(warmOpenMs)} (manifest only); shard loads: ${shardTimes.join(', ')}`);
console.log(`  db version:        ${m.dbVersion}`);
for (const r of runs) {
  console.log(`matching, ${r.name}: ${r.packages}`);
  console.log(`  findings:          ${r.findings} (warnings ${r.warnings})`);
  console.log(`  first match:       ${ms(r.firstMs)}${r === runs[0] ? ' (includes loading the shards the image needs)' : ''}`);
  console.log(
    `  wall time:         median ${ms(median(r.wall))}, min ${ms(Math.min(...r.wall))}, max ${ms(Math.max(...r.wall))} over ${RUNS} runs (target < 50 ms)`,
  );
  console.log(`  cpu time:          median ${ms(median(r.cpu))}, min ${ms(Math.min(...r.cpu))}`);
}
console.log(
  `machine: ${cpus().length} cores, load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
console.log(`heap used:           ${mb(heap.heapUsed)}, rss ${mb(heap.rss)}`);
