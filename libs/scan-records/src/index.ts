// @strata/scan-records: the documents the distributed pipeline keeps in the blob store
// (docs/distributed.md) — where each lives, its shape, the monotonic scan-record update, the
// image catalog the reverse index is rebuilt from — shared by every service that reads or writes them.
export {
  imageRecordKey,
  scanRecordKey,
  isValidScanId,
  SCAN_ID_RULE,
  inventoryKey,
  analyzerSetId,
  reportKey,
  resultKey,
  findingsMarkerKey,
  readScanRecord,
  readImageRecord,
  writeImageRecord,
  advanceScanRecord,
  advanceWith,
  nextRecord,
  blobScanRecords,
  advancesRecord,
  isTerminal,
  stageRank,
  statusRank,
  ScanRecordContentionError,
} from './records.js';
export type {
  ScanRecordStore,
  ScanRecordUpdate,
  ScanRecord,
  ImageRecord,
  ScanError,
  ScanStatusName,
  StageName,
  FailureCodeName,
  ScanOptionsRecord,
  AdvanceOptions,
} from './records.js';
export { optionsRecord, protoOptions } from './options.js';
export { catalogPrefix, catalogKey, readCatalogEntry, writeCatalogEntry, indexedImage, syncReverseIndex } from './catalog.js';
export type { CatalogEntry, SyncResult } from './catalog.js';
