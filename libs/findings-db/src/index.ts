// @strata/findings-db: PostgreSQL as the system of record of the distributed shape (images and
// platforms, inventory postings, findings state and history, scan records), with the migrations
// that create its schema at start. Embedded scans never use it.
export { openFindingsDb, FindingsDb, FindingsDbError, inventoryDigest, repositoryOf } from './db.js';
export type {
  FindingsDbOptions,
  ImageRow,
  ImageInput,
  FindingsState,
  SetFindingsInput,
  SetFindingsResult,
  HoldingRow,
  PackageUnit,
  PackageHoldingRow,
} from './db.js';
export { migrate, MIGRATION_LOCK_KEY, FindingsDbMigrationError } from './migrate.js';
export type { MigrationResult } from './migrate.js';
export { migrations } from './migrations.js';
export type { Migration } from './migrations.js';
export { RematchWork } from './rematch-work.js';
export type { RematchPlanInput, RematchPlan, RematchUpdate, RematchEvent, RematchClaim, RematchCommit, RematchBatchState } from './rematch-work.js';
export { pgScanRecords } from './scans.js';
export { touchImageBlobs, adoptBlobs, sweepStaleBatch, blobRefCounts } from './blob-refs.js';
export type { BlobKind, BlobReference, SweepBatchOptions } from './blob-refs.js';
export { claimPushKey, pushKeySeen, forgetPushKey, prunePushKeys } from './push-dedup.js';
