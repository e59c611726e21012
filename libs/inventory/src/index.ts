// Overlay-correct merge of per-layer analysis results, layer attribution and the layer cache key.
export { mergeLayers } from './merge.js';
export type { MergeOptions } from './merge.js';
export type { LayerInput } from './merge.js';
export { layerCacheKey } from './cache-key.js';
