// Peak RSS of the shipped CLI (bundled, as the hostile suite runs it) on huge inventories: one dpkg
// status of N packages, and a node_modules of N package.json files, at 10k, 50k and 150k packages.
// Memory must stay flat as the inventory grows: each figure is also printed as a ratio to the 10k one.
// Usage: bash tools/node.sh --import tsx bench/inventory-memory/run.ts [sizes, e.g. 10000,50000,150000] [kinds, e.g. dpkg,npm,dpkg2x60k]
// Extra kinds: dpkg2x60k (two layers each rewriting the status with 60k packages), dpkg200mb (a 200 MB status).
// STRATA_BENCH_NODE_FLAGS adds flags to the child node (e.g. "--max-semi-space-size=8"), to compare settings.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { repoRoot } from '@strata/testing';
import { DEBIAN_OS_RELEASE, dpkgParagraph, honestBase, writeAdvisoryDir, writeOciImage } from '../../apps/cli/src/hostile/images.js';
import { tar } from '../../apps/cli/src/hostile/tar.js';

const sizes = (process.argv[2] ?? '10000,50000,150000').split(',').map(Number);
const kinds = (process.argv[3] ?? 'dpkg,npm').split(',');
const nodeFlags = (process.env.STRATA_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);

const work = mkdtempSync(join(tmpdir(), 'strata-bench-invmem-'));
const bundleDir = join(repoRoot, 'apps/cli/dist', `bench-invmem-${process.pid}`);
const cli = join(bundleDir, 'strata.mjs');
execFileSync(process.execPath, [join(repoRoot, 'tools/bundle.mjs'), '--deps', join(repoRoot, 'apps/cli/src/main.ts'), cli], { stdio: 'pipe' });
const db = writeAdvisoryDir(join(work, 'db'));

const osLayer = (status: string | Buffer): Buffer =>
  tar([
    { name: 'etc/os-release', content: DEBIAN_OS_RELEASE },
    { name: 'var/lib/dpkg/status', content: status },
  ]);
const status = (n: number, prefix = 'p'): string => {
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(`${dpkgParagraph({ name: `${prefix}${i}`, version: `1.${i}-1` })}\n`);
  return parts.join('');
};

function image(kind: string, n: number): string {
  const dir = join(work, `${kind}-${n}`);
  mkdirSync(dir);
  switch (kind) {
    case 'dpkg':
      return writeOciImage(dir, { layers: [osLayer(status(n))] });
    case 'npm': {
      const entries = Array.from({ length: n }, (_, i) => ({
        name: `srv/n/node_modules/p${i}/package.json`,
        content: `{"name":"p${i}","version":"1.0.${i}"}`,
      }));
      return writeOciImage(dir, { layers: [honestBase(), tar(entries)] });
    }
    case 'dpkg2x60k':
      return writeOciImage(dir, { layers: [osLayer(status(n, 'a')), tar([{ name: 'var/lib/dpkg/status', content: status(n, 'b') }])] });
    case 'dpkg200mb': {
      const layer = osLayer(status(n));
      return writeOciImage(dir, { layers: [{ tar: layer, blob: gzipSync(layer, { level: 1 }) }] });
    }
    default:
      throw new Error(`unknown kind ${kind}`);
  }
}

function peakRss(ref: string, format: string): { mb: number; ms: number; status: number | null } {
  const rssFile = join(work, 'rss');
  const cacheDir = join(work, `cache-${Math.random().toString(36).slice(2)}`);
  const started = performance.now();
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const run = spawnSync(
    '/usr/bin/time',
    ['-f', '%M', '-o', rssFile, process.execPath, ...nodeFlags, cli, 'image', ref, '--db', db, '--cache-dir', cacheDir, '--format', format, '--no-progress'],
    {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
      maxBuffer: 1 << 26,
    },
  );
  const ms = performance.now() - started;
  rmSync(cacheDir, { recursive: true, force: true });
  if (run.status !== 0 && run.status !== 1) throw new Error(`strata exited ${run.status}: ${run.stderr.toString().slice(-2000)}`);
  const kb = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop());
  return { mb: kb / 1024, ms, status: run.status };
}

try {
  console.log(
    `node ${process.version}${nodeFlags.length ? ` ${nodeFlags.join(' ')}` : ''}; peak RSS of \`strata image --format json\` (the bundled CLI), ratio to the smallest size`,
  );
  for (const kind of kinds) {
    let base: number | undefined;
    for (const n of sizes) {
      const ref = image(kind, n);
      const r = peakRss(ref, 'json');
      base ??= r.mb;
      console.log(
        `${kind.padEnd(10)} ${String(n).padStart(7)} packages: ${r.mb.toFixed(0).padStart(4)} MB  x${(r.mb / base).toFixed(2)}  ${(r.ms / 1000).toFixed(1)} s`,
      );
      rmSync(join(work, `${kind}-${n}`), { recursive: true, force: true });
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
  rmSync(bundleDir, { recursive: true, force: true });
}
