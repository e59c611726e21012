// The embedded scan: resolve → analyze layers (cached) → overlay merge → match → report data.
// Services run the same stage functions over the bus; this composes them in one process.
import { join } from 'node:path';
import { openAdvisoryIndex, type AdvisoryLimits } from '@strata/advisories';
import { removeStaleLayerTempDirs } from '@strata/analyzers';
import { createFsBlobStore, type BlobStore } from '@strata/blobstore';
import type { LayerLimits } from '@strata/layers';
import { detectInput, openImage, parsePlatform, parseReference, type ImageReference, type OpenOptions } from '@strata/oci';
import { analyzeImageLayers, type AnalyzeLayersOptions } from './layers.js';
import { readLinkedDatabases } from './linked.js';
import { matchImage, type ScanResult } from './result.js';

export type { ScanResult } from './result.js';

export interface ScanOptions {
  /** where the layer cache, blob folder and advisory index cache live */
  cacheDir: string;
  /** OSV data folder */
  dbDir: string;
  /** treat the reference as a path and detect OCI layout vs docker archive (Trivy's --input) */
  input?: boolean;
  platform?: string;
  username?: string;
  password?: string;
  insecure?: boolean;
  dockerConfigDir?: string;
  limits?: Partial<LayerLimits>;
  /** bounds on advisory records and zips (DEFAULT_ADVISORY_LIMITS where unset) */
  advisoryLimits?: Partial<AdvisoryLimits>;
  layerConcurrency?: number;
  signal?: AbortSignal;
  now?: Date;
  onProgress?: AnalyzeLayersOptions['onLayer'];
  /** phase timings, for --debug and benchmarks */
  onPhase?(phase: 'resolve' | 'layers' | 'merge' | 'advisories' | 'match', ms: number): void;
}

export class ScanFailedError extends Error {
  constructor(
    readonly image: string,
    readonly failures: Error[],
  ) {
    super(`scan of ${image} failed:\n${failures.map((f) => `  - ${f.message}`).join('\n')}`);
    this.name = 'ScanFailedError';
  }
}

export function layerStoreFor(cacheDir: string): Promise<BlobStore> {
  return createFsBlobStore({ root: join(cacheDir, 'store') });
}

export async function resolveReference(reference: string, input = false): Promise<ImageReference> {
  return input ? detectInput(reference) : parseReference(reference);
}

export async function scanImage(reference: string, options: ScanOptions): Promise<ScanResult> {
  const timer = (phase: Parameters<NonNullable<ScanOptions['onPhase']>>[0], started: number) => options.onPhase?.(phase, performance.now() - started);

  let started = performance.now();
  const ref = await resolveReference(reference, options.input);
  const openOptions: OpenOptions = {};
  if (options.platform) openOptions.platform = parsePlatform(options.platform);
  if (options.username !== undefined) openOptions.username = options.username;
  if (options.password !== undefined) openOptions.password = options.password;
  if (options.insecure) openOptions.insecure = true;
  if (options.dockerConfigDir) openOptions.dockerConfigDir = options.dockerConfigDir;
  if (options.signal) openOptions.signal = options.signal;
  // the advisory index loads while the image resolves: neither needs the other
  const advisories = openAdvisoryIndex({
    dbDir: options.dbDir,
    cacheDir: options.cacheDir,
    ...(options.advisoryLimits ? { limits: options.advisoryLimits } : {}),
  });
  advisories.catch(() => undefined);
  const source = await openImage(ref, openOptions);
  timer('resolve', started);
  const store = await layerStoreFor(options.cacheDir);
  // spooled jars and binaries live under the cache dir; a crashed scan's leftovers go first
  const tmpRoot = join(options.cacheDir, 'tmp');
  await removeStaleLayerTempDirs(tmpRoot);
  try {
    started = performance.now();
    const layers = source.metadata.layers;
    const outcomes = await analyzeImageLayers(layers, {
      store,
      tmpRoot,
      openLayer: (layer) => source.openLayer(layer),
      imageLabel: ref.original,
      ...(options.layerConcurrency ? { concurrency: options.layerConcurrency } : {}),
      ...(options.limits ? { limits: options.limits } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onLayer: options.onProgress } : {}),
    });
    timer('layers', started);
    const failures = outcomes.flatMap((o) => (o.error ? [o.error] : []));
    if (failures.length > 0) throw new ScanFailedError(ref.original, failures);

    started = performance.now();
    const linked = await readLinkedDatabases(
      outcomes.map((o) => ({ ref: o.layer, result: o.result! })),
      {
        openLayer: (layer) => source.openLayer(layer),
        label: (i) => `${ref.original} layer ${i + 1}/${layers.length} ${layers[i]!.digest}`,
        tmpRoot,
        ...(options.limits ? { limits: options.limits } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      },
    );
    for (const o of outcomes) delete o.result;
    // the results are handed over: their packages become the inventory's, and nothing holds them twice
    const inventory = linked.merge({ reuseResults: true });
    for (const w of linked.warnings) inventory.warnings.push(w);
    timer('merge', started);

    started = performance.now();
    const { index, warnings: indexWarnings } = await advisories;
    timer('advisories', started);

    started = performance.now();
    const result = matchImage({
      artifactName: ref.original,
      metadata: source.metadata,
      inventory,
      index,
      indexWarnings,
      layersAnalyzed: outcomes.filter((o) => !o.fromCache).length,
      layersCached: outcomes.filter((o) => o.fromCache).length,
      ...(options.now ? { now: options.now } : {}),
    });
    timer('match', started);
    return result;
  } finally {
    await source.close();
    await store.close();
  }
}
