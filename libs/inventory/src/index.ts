// Overlay-correct merge of per-layer analysis results, layer attribution and the layer cache key.
export { mergeLayers, findLinkGaps } from './merge.js';
export type { LayerInput, LinkGap, MergeOptions } from './merge.js';
export { layerCacheKey } from './cache-key.js';
