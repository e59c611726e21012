// The embedded scan: resolve → analyze layers (cached) → overlay merge → match → report data.
// Services run the same stage functions over the bus; this composes them in one process.
import { join } from 'node:path';
import { openAdvisoryIndex } from '@strata/advisories';
import { createFsBlobStore, type BlobStore } from '@strata/blobstore';
import { mergeLayers } from '@strata/inventory';
import type { LayerLimits } from '@strata/layers';
import { eolStatus, matchInventory, type EolStatus, type Finding } from '@strata/matcher';
import type { AnalyzerWarning, ImageInventory, ImageMetadata } from '@strata/model';
import { detectInput, openImage, parsePlatform, parseReference, type ImageReference, type OpenOptions } from '@strata/oci';
import { analyzeImageLayers, type AnalyzeLayersOptions } from './layers.js';

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
  layerConcurrency?: number;
  signal?: AbortSignal;
  now?: Date;
  onProgress?: AnalyzeLayersOptions['onLayer'];
  /** phase timings, for --debug and benchmarks */
  onPhase?(phase: 'resolve' | 'layers' | 'merge' | 'advisories' | 'match', ms: number): void;
}

export interface ScanResult {
  artifactName: string;
  metadata: ImageMetadata;
  inventory: ImageInventory;
  findings: Finding[];
  /** analyzer, merge, advisory-index and matcher warnings, each naming its file/layer */
  warnings: AnalyzerWarning[];
  eol: EolStatus | undefined;
  advisoryDbVersion: string;
  /** layers analyzed in this scan vs reused from the cache */
  layersAnalyzed: number;
  layersCached: number;
}

export class ScanFailedError extends Error {
  constructor(readonly image: string, readonly failures: Error[]) {
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
  const timer = (phase: Parameters<NonNullable<ScanOptions['onPhase']>>[0], started: number) =>
    options.onPhase?.(phase, performance.now() - started);

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
  const advisories = openAdvisoryIndex({ dbDir: options.dbDir, cacheDir: options.cacheDir });
  advisories.catch(() => undefined);
  const source = await openImage(ref, openOptions);
  timer('resolve', started);
  const store = await layerStoreFor(options.cacheDir);
  try {
    started = performance.now();
    const layers = source.metadata.layers;
    const outcomes = await analyzeImageLayers(layers, {
      store,
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
    const inventory = mergeLayers(outcomes.map((o) => ({ ref: o.layer, result: o.result! })));
    timer('merge', started);

    started = performance.now();
    const { index, warnings: indexWarnings } = await advisories;
    timer('advisories', started);

    started = performance.now();
    const matched = matchInventory(inventory, index);
    timer('match', started);

    return {
      artifactName: ref.original,
      metadata: source.metadata,
      inventory,
      findings: matched.findings,
      warnings: [...inventory.warnings, ...indexWarnings, ...matched.warnings],
      eol: inventory.os ? eolStatus(inventory.os, options.now ?? new Date()) : undefined,
      advisoryDbVersion: index.version,
      layersAnalyzed: outcomes.filter((o) => !o.fromCache).length,
      layersCached: outcomes.filter((o) => o.fromCache).length,
    };
  } finally {
    await source.close();
    await store.close();
  }
}
