// @strata/pipeline: the embedded scan (what `strata image` runs in one process) and the layer
// analysis and matching the distributed services reuse. No bus, no Kafka: those are the services'.
export { scanImage, resolveReference, layerStoreFor, ScanFailedError } from './scan.js';
export type { ScanOptions, ScanResult } from './scan.js';
export { analyzeImageLayers, analyzeAndStoreLayer, cachedLayerResult, cacheKeyFor, layerResultKey, LayerFailedError } from './layers.js';
export type { AnalyzeLayersOptions, LayerOutcome } from './layers.js';
export { readLinkedDatabases, MAX_LINK_READS, MAX_LINK_HOPS } from './linked.js';
/** the services' temp roots are cleaned of crashed processes' leftovers at start, as the embedded scan's are */
export { removeStaleLayerTempDirs } from '@strata/analyzers';
export type { LinkedReadOptions, LinkedReadOutcome } from './linked.js';
export { matchImage } from './result.js';
export type { MatchImageInput } from './result.js';
