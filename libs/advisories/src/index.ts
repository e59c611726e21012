// OSV advisories: reading a db folder (records and all.zip dumps), the cached index keyed by
// (ecosystem, normalised package name), database diffs, and `strata db update`.
export type { OsvRecord, OsvAffected, OsvRange, OsvEvent, OsvSeverity, OsvReference, OsvPackage } from './osv.js';
export { validateRecord, cveIds } from './osv.js';
export type { EcosystemRef } from './ecosystems.js';
export {
  parseEcosystem,
  ecosystemKey,
  normalizeName,
  normalizePackageName,
  normalizePypiName,
  osEcosystems,
  packageEcosystem,
  inventoryEcosystemKeys,
} from './ecosystems.js';
export type {
  AdvisoryIndex,
  AffectedEntry,
  IndexedAffected,
  IndexedRange,
  IndexedRecord,
  IndexManifest,
  ManifestRecord,
  VendorRating,
} from './model.js';
export { INDEX_FORMAT_VERSION } from './model.js';
export { databaseVersion, rangeScheme } from './build.js';
export { buildStore, openStore, type BuildStoreOptions, type StoreIndex } from './store.js';
export { openAdvisoryIndex, indexCacheDir, STORE_FILE, type OpenIndexOptions, type OpenIndexResult } from './open.js';
export { advisoryIndexSource } from './index-source.js';
export { diffDatabases, type DatabaseDiff } from './diff.js';
export { updateDatabase, verifyDump, ecosystemFolder, DEFAULT_OSV_BASE_URL, DEFAULT_UPDATE_ECOSYSTEMS } from './update.js';
export type { UpdateOptions, UpdateProgress, UpdatePhase, UpdateResult, EcosystemUpdate } from './update.js';
export { listSources, fingerprint } from './source.js';
export { newDict, ownEntry, toDict } from './dict.js';
export { DEFAULT_ADVISORY_LIMITS, ARCHIVE_RATIO_FLOOR_BYTES, ADVISORY_LIMIT_ENV, advisoryLimitsFromEnv, resolveAdvisoryLimits } from './limits.js';
export type { AdvisoryLimits } from './limits.js';
export { MAX_ID_LENGTH, MAX_IDS_PER_FIELD, MAX_NAME_LENGTH, MAX_VERSION_LENGTH } from './osv.js';
export { MAX_SUMMARY_LENGTH, MAX_DETAILS_LENGTH, MAX_REFERENCES } from './build.js';
export type { SourceFile } from './source.js';
export { AdvisoryDbEmptyError, AdvisoryUpdateError } from './errors.js';
