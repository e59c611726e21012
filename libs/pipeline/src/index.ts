export { scanImage, resolveReference, layerStoreFor, ScanFailedError } from './scan.js';
export type { ScanOptions, ScanResult } from './scan.js';
export { analyzeImageLayers, analyzeAndStoreLayer, cachedLayerResult, layerResultKey, LayerFailedError } from './layers.js';
export type { AnalyzeLayersOptions, LayerOutcome } from './layers.js';
