import { createHash } from 'node:crypto';

/**
 * The key a layer's analysis result is stored under: sha256(diffID + analyzer-set version), hex.
 * The same layer analyzed by the same analyzer set is never analyzed again; bumping any analyzer's
 * version (see analyzerSetVersion in @strata/analyzers) gives every layer a new key.
 */
export function layerCacheKey(diffId: string, analyzerSetVersion: string): string {
  if (!/^[a-z0-9]+:[a-f0-9]{32,}$/.test(diffId)) throw new Error(`not a layer diffID: ${JSON.stringify(diffId)}`);
  if (!analyzerSetVersion) throw new Error('empty analyzer-set version');
  return createHash('sha256')
    .update(diffId + analyzerSetVersion)
    .digest('hex');
}
