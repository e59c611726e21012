export { scanImage, resolveReference, layerStoreFor, ScanFailedError } from './scan.js';
export type { ScanOptions, ScanResult } from './scan.js';
export { analyzeImageLayers, analyzeAndStoreLayer, cachedLayerResult, cacheKeyFor, layerResultKey, LayerFailedError } from './layers.js';
export type { AnalyzeLayersOptions, LayerOutcome } from './layers.js';
export { readLinkedDatabases, MAX_LINK_READS, MAX_LINK_HOPS } from './linked.js';
export type { LinkedReadOptions, LinkedReadOutcome } from './linked.js';
export { matchImage, severityCounts } from './result.js';
export type { MatchImageInput, SeverityCounts } from './result.js';

// The distributed stages (services/fetcher, analyzer, merger, matcher are thin wiring over these).
export { startFetcher } from './distributed/fetcher.js';
export { startAnalyzer } from './distributed/analyzer.js';
export { startMerger } from './distributed/merger.js';
export { startMatcher, advisoryIndexSource } from './distributed/matcher.js';
export { fetcherSettings, analyzerSettings, mergerSettings, matcherSettings } from './distributed/settings.js';
/** STRATA_REGISTRY_CREDENTIALS: named registry credential entries (fetcher, watcher). */
export { credentialEntries as registryCredentialsSetting } from './distributed/settings.js';
export type { FetcherConfig, AnalyzerConfig, MergerConfig, MatcherConfig, RegistryCredentialEntry } from './distributed/settings.js';
export type { StartOptions } from './distributed/service.js';
export { startStageService } from './distributed/service.js';
export type { StageContext } from './distributed/stage.js';
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
export { catalogKey, readCatalogEntry, syncReverseIndex } from './distributed/catalog.js';
export type { CatalogEntry } from './distributed/catalog.js';
export { advisoryVersionKey, advisoryLatestKey, publishAdvisoryUpdate } from './distributed/rematch.js';
export type { AdvisoryVersionDoc } from './distributed/rematch.js';
export { affectedImagesQuery, NoAdvisoryDbError } from './distributed/affected.js';
export type { AffectedImagesQuery, AffectedImagesResponse, AffectedImagesOptions } from './distributed/affected.js';

// Test and benchmark support: build small layers and push images over the distribution API.
export { pushImage, tarLayer, fileLayer, uniqueLayer } from './distributed/testing/push.js';
export type { LayerBlob, PushedImage } from './distributed/testing/push.js';
export { pushIndex } from './distributed/testing/push.js';
export type { PushedIndex, PushPlatform } from './distributed/testing/push.js';
// The integration-test harness (isolated topics and bucket per suite), for suites of other projects.
export { createDeployment, waitUntil, advisoryDb } from './distributed/testing/harness.js';
export type { Deployment, OutsideSubscriber } from './distributed/testing/harness.js';
