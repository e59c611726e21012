// @strata/stage-runtime: what every distributed stage service shares on top of
// @strata/service-runtime — the stage context and observer, the one way a stage fails a scan,
// failure classification, the layer.analyzed announcement (fetcher and analyzer), and the settings
// more than one service reads.
export { startStageService } from './service.js';
export type { StartOptions } from './service.js';
export { runStage, runLayerStage, layerCached, failScan, scanOf, scanAlreadyFailed, scanLogger, blobRef, now, timed, publishLayerAnalyzed } from './stage.js';
export type { LayerEvent, LayerWork, StageContext, StageEvent, StageObserver, StageOutcome, ScanIdentity, TestPoint, TestPointHook } from './stage.js';
export { classifyError, StageError } from './failures.js';
export type { Classified } from './failures.js';
export {
  registryCredentialsSetting,
  advisoryIndexSettings,
  findingsDbSettings,
  advisoryLimitsOf,
  serviceCacheDirSettings,
  serviceTmpRoot,
} from './settings.js';
export type { RegistryCredentialEntry } from './settings.js';
