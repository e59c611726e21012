export { scanImage, resolveReference, layerStoreFor, ScanFailedError } from './scan.js';
export type { ScanOptions, ScanResult } from './scan.js';
export { analyzeImageLayers, analyzeAndStoreLayer, cachedLayerResult, cacheKeyFor, layerResultKey, LayerFailedError } from './layers.js';
export type { AnalyzeLayersOptions, LayerOutcome } from './layers.js';
export { matchImage, severityCounts } from './result.js';
export type { MatchImageInput, SeverityCounts } from './result.js';

// The distributed stages (services/fetcher, analyzer, merger, matcher are thin wiring over these).
export { startFetcher } from './distributed/fetcher.js';
export { startAnalyzer } from './distributed/analyzer.js';
export { startMerger } from './distributed/merger.js';
export { startMatcher, advisoryIndexSource } from './distributed/matcher.js';
export { fetcherSettings, analyzerSettings, mergerSettings, matcherSettings } from './distributed/settings.js';
export type { FetcherConfig, AnalyzerConfig, MergerConfig, MatcherConfig, RegistryCredentialEntry } from './distributed/settings.js';
export type { StartOptions } from './distributed/service.js';
export type { StageEvent, StageObserver } from './distributed/stage.js';
export { classifyError, StageError } from './distributed/failures.js';
export {
  imageRecordKey,
  scanRecordKey,
  inventoryKey,
  analyzerSetId,
  reportKey,
  resultKey,
  findingsMarkerKey,
  readScanRecord,
  readImageRecord,
  advanceScanRecord,
  isTerminal,
} from './distributed/records.js';
export type { ScanRecord, ImageRecord, ScanError, ScanStatusName, StageName, FailureCodeName, ScanOptionsRecord } from './distributed/records.js';
export { optionsRecord, protoOptions } from './distributed/options.js';

// Test and benchmark support: build small layers and push images over the distribution API.
export { pushImage, tarLayer, fileLayer, uniqueLayer } from './distributed/testing/push.js';
export type { LayerBlob, PushedImage } from './distributed/testing/push.js';
