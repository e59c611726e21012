// Stage: turn each layer of a resolved image into a stored LayerResult, reusing the layer cache.
// The cache key is sha256(diffID + analyzer-set version), so a layer shared by many images is
// analyzed once, and bumping one analyzer's version re-analyzes what it touches. A result is only
// stored once the layer's uncompressed stream hashed to its diffID: otherwise an image could claim
// a popular base layer's diffID and plant a clean result under that layer's key.
import type { Readable } from 'node:stream';
import { analyzeLayer, analyzerSetVersion } from '@strata/analyzers';
import type { BlobStore } from '@strata/blobstore';
import { getJson, putJson } from '@strata/blobstore';
import { layerCacheKey } from '@strata/inventory';
import { LayerError, type LayerLimits } from '@strata/layers';
import { forEachLimited, type LayerRef, type LayerResult } from '@strata/model';
import { describeError } from '@strata/errors';

export const layerResultKey = (cacheKey: string): string => `layers/${cacheKey}.json`;

/**
 * Results stored before diffIDs were verified may have been poisoned: the scheme tag in the key
 * makes sure no entry written without verification is ever read again.
 */
export const LAYER_CACHE_SCHEME = 'diffid-verified';

/** The cache key of a layer for the analyzer set of this build. */
export function cacheKeyFor(diffId: string, setVersion: string = analyzerSetVersion()): string {
  return layerCacheKey(diffId, `${setVersion};${LAYER_CACHE_SCHEME}`);
}

export interface LayerOutcome {
  layer: LayerRef;
  cacheKey: string;
  fromCache: boolean;
  result?: LayerResult;
  error?: Error;
}

export interface AnalyzeLayersOptions {
  store: BlobStore;
  /** the compressed layer bytes, verified against the layer digest while they stream */
  openLayer(layer: LayerRef): Promise<Readable>;
  /** names the image in error messages */
  imageLabel: string;
  concurrency?: number;
  limits?: Partial<LayerLimits>;
  signal?: AbortSignal;
  /** parent of each layer's private temp directory (the scan's cache dir); os.tmpdir() when absent */
  tmpRoot?: string;
  onLayer?(event: { layer: LayerRef; index: number; state: 'cached' | 'analyzing' | 'done' | 'failed'; error?: Error }): void;
}

/**
 * Reads a stored result, or undefined when the layer still has to be analyzed. With `diffId`, an
 * entry that does not record that (verified) diffID is not trusted: the layer is analyzed again.
 */
export async function cachedLayerResult(store: BlobStore, cacheKey: string, diffId?: string): Promise<LayerResult | undefined> {
  const cached = await getJson<LayerResult>(store, layerResultKey(cacheKey));
  if (cached && diffId !== undefined && cached.diffId !== diffId) return undefined;
  return cached;
}

/**
 * Analyzes one layer from its stream and stores the result under its cache key, only after the
 * uncompressed stream hashed to layer.diffId (a mismatch rejects with LayerError DIFF_ID_MISMATCH
 * and stores nothing). The stored result records the verified diffID.
 */
export async function analyzeAndStoreLayer(
  store: BlobStore,
  layer: LayerRef,
  source: Readable,
  options: {
    label: string;
    limits?: Partial<LayerLimits>;
    signal?: AbortSignal;
    tmpRoot?: string;
    /**
     * source fails at its end unless its bytes hash to layer.digest (an ImageSource's openLayer): an
     * uncompressed layer whose digest is its diffID is then not hashed a second time
     */
    sourceVerified?: boolean;
  },
): Promise<{ cacheKey: string; result: LayerResult }> {
  const cacheKey = cacheKeyFor(layer.diffId);
  const analyzeOptions: Parameters<typeof analyzeLayer>[1] = { diffId: layer.diffId, verifyDiffId: true, label: options.label };
  if (options.sourceVerified) analyzeOptions.sourceDigest = layer.digest;
  if (layer.mediaType !== undefined) analyzeOptions.mediaType = layer.mediaType;
  if (layer.size !== undefined) analyzeOptions.compressedSize = layer.size;
  if (options.limits) analyzeOptions.limits = options.limits;
  if (options.signal) analyzeOptions.signal = options.signal;
  if (options.tmpRoot !== undefined) analyzeOptions.tmpRoot = options.tmpRoot;
  const result = await analyzeLayer(source, analyzeOptions);
  for (const warning of result.warnings) warning.layerDigest = layer.digest;
  await putJson(store, layerResultKey(cacheKey), result);
  return { cacheKey, result };
}

/**
 * Layers fetched and walked at once. Each walk's memory is bounded on its own (decoder buffers, the
 * analyzers' in-memory limits), so three cost at most three such bounds; results are kept per index,
 * and the overlay merge reads them in layer order once all are done.
 */
export const DEFAULT_LAYER_CONCURRENCY = 3;

/**
 * Every layer is attempted, even after another one failed, so that the good ones are cached and a
 * re-scan only retries the bad ones. Failures are returned, not thrown: the caller decides.
 */
export async function analyzeImageLayers(layers: LayerRef[], options: AnalyzeLayersOptions): Promise<LayerOutcome[]> {
  const setVersion = analyzerSetVersion();
  const outcomes: LayerOutcome[] = new Array(layers.length);
  const workers = Math.min(options.concurrency ?? DEFAULT_LAYER_CONCURRENCY, layers.length);
  await forEachLimited(layers.entries(), workers, async ([index, layer]) => {
    const cacheKey = cacheKeyFor(layer.diffId, setVersion);
    const label = `${options.imageLabel} layer ${index + 1}/${layers.length} ${layer.digest}`;
    try {
      const cached = await cachedLayerResult(options.store, cacheKey, layer.diffId);
      if (cached) {
        outcomes[index] = { layer, cacheKey, fromCache: true, result: cached };
        options.onLayer?.({ layer, index, state: 'cached' });
        return;
      }
      options.onLayer?.({ layer, index, state: 'analyzing' });
      const source = await options.openLayer(layer);
      const stored = await analyzeAndStoreLayer(options.store, layer, source, {
        label,
        sourceVerified: true,
        ...(options.limits ? { limits: options.limits } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.tmpRoot !== undefined ? { tmpRoot: options.tmpRoot } : {}),
      });
      outcomes[index] = { layer, cacheKey, fromCache: false, result: stored.result };
      options.onLayer?.({ layer, index, state: 'done' });
    } catch (cause) {
      const error = new LayerFailedError(label, cause);
      outcomes[index] = { layer, cacheKey, fromCache: false, error };
      options.onLayer?.({ layer, index, state: 'failed', error });
    }
  });
  return outcomes;
}

export class LayerFailedError extends Error {
  constructor(
    readonly label: string,
    cause: unknown,
  ) {
    // a LayerError already names the layer: say the label once
    const detail = cause instanceof LayerError && cause.label === label ? cause.detail : describeError(cause);
    super(`${label}: ${detail}`, { cause });
    this.name = 'LayerFailedError';
  }
}
