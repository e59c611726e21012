// Layer analysis benchmark: per-layer throughput of analyzeLayer (one streaming pass: decompress,
// tar walk, every analyzer) over the debootstrap-based debian-multi image from infra/local/images.sh
// (read from its OCI layout), compared with the bare walk (no analyzers), plus the overlay merge and
// the peak RSS. Without the fixture image it builds a stand-in layer from this machine's /usr/bin,
// /usr/lib/x86_64-linux-gnu and dpkg status with GNU tar.
//
//   bash tools/node.sh --import tsx bench/analyze/run.ts [--runs 3]
//
// Cache and warm re-scan figures come from the pipeline benchmark (the layer cache lives there).
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createGunzip } from 'node:zlib';
import { analyzeLayer, defaultAnalyzers } from '@strata/analyzers';
import { mergeLayers } from '@strata/inventory';
import type { LayerRef, LayerResult } from '@strata/model';
import { fixturesCacheDir, ociLayoutLayers } from '@strata/testing';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '3' } } });
const RUNS = Math.max(1, Number(args.runs));
const MiB = 1024 * 1024;

interface BenchLayer {
  ref: LayerRef;
  blob: string;
  label: string;
}

function fixtureLayers(): { name: string; layers: BenchLayer[]; cleanup: () => void } | undefined {
  const file = join(fixturesCacheDir(), 'images.json');
  if (!existsSync(file)) return undefined;
  const image = (JSON.parse(readFileSync(file, 'utf8')) as { images: Record<string, { ociLayout: { dir: string; tag: string } }> }).images['debian-multi'];
  if (!image) return undefined;
  const dir = image.ociLayout.dir;
  const found = ociLayoutLayers(dir, image.ociLayout.tag);
  if (!found) return undefined;
  const layers = found.map(({ ref, blob }, i) => ({ ref: { ...ref, createdBy: ref.createdBy ?? '' }, blob, label: `layer ${i + 1}/${found.length}` }));
  return { name: `debian-multi (${dir})`, layers, cleanup: () => undefined };
}

function standIn(): { name: string; layers: BenchLayer[]; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'strata-bench-analyze-'));
  const out = join(dir, 'layer.tar.gz');
  execFileSync('tar', ['-czf', out, '--ignore-failed-read', '-C', '/', 'usr/bin', 'usr/lib/x86_64-linux-gnu', 'var/lib/dpkg/status', 'usr/lib/os-release'], {
    stdio: 'ignore',
  });
  const size = statSync(out).size;
  return {
    name: 'stand-in (this machine: usr/bin, usr/lib/x86_64-linux-gnu, dpkg status)',
    layers: [
      {
        ref: { digest: 'sha256:standin', diffId: `sha256:${'0'.repeat(64)}`, size, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' },
        blob: out,
        label: 'stand-in',
      },
    ],
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function uncompressedSize(path: string, mediaType: string | undefined): Promise<number> {
  let n = 0;
  const src = createReadStream(path);
  const stream = mediaType?.endsWith('gzip') ? src.pipe(createGunzip()) : src;
  for await (const c of stream) n += (c as Buffer).length;
  return n;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const fmt = (n: number, d = 1): string => n.toFixed(d);

async function timeLayer(layer: BenchLayer, analyzers: ReturnType<typeof defaultAnalyzers>): Promise<{ seconds: number; cpu: number; result: LayerResult }> {
  const times: number[] = [];
  const cpus: number[] = [];
  let result: LayerResult | undefined;
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    const c = process.cpuUsage();
    result = await analyzeLayer(createReadStream(layer.blob), {
      diffId: layer.ref.diffId,
      label: layer.label,
      analyzers,
      ...(layer.ref.mediaType ? { mediaType: layer.ref.mediaType } : {}),
      ...(layer.ref.size ? { compressedSize: layer.ref.size } : {}),
    });
    times.push((performance.now() - t) / 1000);
    const used = process.cpuUsage(c);
    cpus.push((used.user + used.system) / 1e6);
  }
  return { seconds: median(times), cpu: median(cpus), result: result! };
}

const image = fixtureLayers() ?? standIn();
try {
  console.log(
    `analyze benchmark: ${image.name}; median of ${RUNS} run(s) per figure; ${defaultAnalyzers().length} analyzers; ${cpus().length} CPUs, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  console.log(
    'layer | compressed MiB | uncompressed MiB | walk only s (cpu s) | analyze s (cpu s) | analyze MiB/s (uncompressed) | packages | app sets | warnings',
  );
  const results: Array<{ ref: LayerRef; result: LayerResult }> = [];
  let totalU = 0;
  let totalSec = 0;
  let totalCpu = 0;
  for (const layer of image.layers) {
    const u = await uncompressedSize(layer.blob, layer.ref.mediaType);
    const walk = await timeLayer(layer, []);
    const full = await timeLayer(layer, defaultAnalyzers());
    results.push({ ref: layer.ref, result: full.result });
    totalU += u;
    totalSec += full.seconds;
    totalCpu += full.cpu;
    const pkgs = full.result.packageSets.reduce((n, s) => n + s.packages.length, 0) + full.result.applications.reduce((n, s) => n + s.packages.length, 0);
    console.log(
      [
        layer.label,
        fmt((layer.ref.size ?? 0) / MiB),
        fmt(u / MiB),
        `${fmt(walk.seconds, 2)} (${fmt(walk.cpu, 2)})`,
        `${fmt(full.seconds, 2)} (${fmt(full.cpu, 2)})`,
        fmt(u / MiB / full.seconds),
        pkgs,
        full.result.applications.length,
        full.result.warnings.length,
      ].join(' | '),
    );
  }
  const t = performance.now();
  const inventory = mergeLayers(results);
  const mergeMs = performance.now() - t;
  console.log(
    `all layers: ${fmt(totalU / MiB)} MiB uncompressed in ${fmt(totalSec, 2)} s = ${fmt(totalU / MiB / totalSec)} MiB/s (${fmt(totalCpu, 2)} CPU s = ${fmt(totalU / MiB / totalCpu)} MiB per CPU second)`,
  );
  console.log(
    `merge: ${fmt(mergeMs, 1)} ms -> ${inventory.osPackages.length} OS packages, ${inventory.applications.reduce((n, s) => n + s.packages.length, 0)} language packages, os ${inventory.os?.family ?? '-'} ${inventory.os?.name ?? ''}`,
  );
  console.log(`peak RSS: ${fmt(process.resourceUsage().maxRSS / 1024)} MiB`);
} finally {
  image.cleanup();
}
