import { resolveNumericLimits } from '@strata/model';

export interface LayerLimits {
  /** total bytes after decompression */
  maxUncompressedBytes: number;
  /** uncompressed / compressed; checked only once a layer has expanded past RATIO_CHECK_FLOOR_BYTES */
  maxCompressionRatio: number;
  /** tar entries (headers) in one layer */
  maxEntries: number;
  /** characters in a normalized path or link target; longer entries are dropped with a warning */
  maxPathLength: number;
  /** largest file whose content is handed to a visitor; larger wanted files are skipped with a warning */
  maxFileSize: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_LAYER_LIMITS: LayerLimits = Object.freeze({
  maxUncompressedBytes: 20 * 1024 * MiB,
  maxCompressionRatio: 100,
  maxEntries: 1_000_000,
  maxPathLength: 4096,
  maxFileSize: 512 * MiB,
});

/**
 * Below this many uncompressed bytes the compression ratio is not checked: small layers of text
 * legitimately compress far better than 100:1, and a bomb is only dangerous once it is big.
 */
export const RATIO_CHECK_FLOOR_BYTES = 64 * MiB;

export function resolveLimits(overrides: Partial<LayerLimits> | undefined): LayerLimits {
  return resolveNumericLimits<LayerLimits>(DEFAULT_LAYER_LIMITS, overrides, 'layer');
}
