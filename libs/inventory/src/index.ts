// Overlay-correct merge of per-layer analysis results, layer attribution and the layer cache key.
export { mergeLayers, findLinkGaps, planMerge } from './merge.js';
export type { LayerInput, LinkGap, MergeOptions, MergePlan } from './merge.js';
export { layerCacheKey } from './cache-key.js';
