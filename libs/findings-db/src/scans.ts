// Scan records in the findings DB (`strata.scans`): the record store of the stages and the gateway
// when STRATA_PG_URL is set. The same forward-only compare-and-swap as `scans/<id>.json` in the
// blob store (advanceWith of @strata/scan-records), conditional on the row's revision.
import { advanceWith, stageRank, statusRank, type ScanRecord, type ScanRecordStore } from '@strata/scan-records';
import { text, type FindingsDb } from './db.js';

/** The columns of a record (besides scan_id and revision), in the order of COLUMNS. */
function columns(record: ScanRecord): unknown[] {
  return [
    // (text cannot hold NUL either: a hostile reference or error reason must not fail the write
    // and leave the scan RUNNING)
    text(record.imageRef),
    record.status,
    record.stage ?? null,
    statusRank(record.status),
    stageRank(record.stage),
    record.manifestDigest === undefined ? null : text(record.manifestDigest),
    record.advisoryDbVersion === undefined ? null : text(record.advisoryDbVersion),
    record.error ? text(record.error.code) : null,
    record.error ? text(record.error.reason) : null,
    // jsonb cannot hold NUL (a hostile reason could carry one)
    JSON.stringify(record).replaceAll('\\u0000', '\\uFFFD'),
    record.createdAt ?? record.updatedAt,
    record.updatedAt,
  ];
}

/** Scan records kept in `strata.scans` (moving forward only, each write conditional on the revision read). */
export function pgScanRecords(db: FindingsDb, location = 'the findings DB (strata.scans)'): ScanRecordStore {
  const read = async (scanId: string) => {
    const { rows } = await db.pool.query<{ record: ScanRecord; revision: string }>('select record, revision from strata.scans where scan_id = $1', [scanId]);
    return rows[0] ? { record: rows[0].record, version: rows[0].revision } : undefined;
  };
  return {
    location,
    read: async (scanId) => (await read(scanId))?.record,
    advance: (scan, update, options = {}) =>
      advanceWith<string>(
        scan,
        update,
        options,
        location,
        () => read(scan.scanId),
        async (record, revision) => {
          if (revision === undefined) {
            const inserted = await db.pool.query(
              `insert into strata.scans
                 (scan_id, image_ref, status, stage, status_rank, stage_rank, manifest_digest, advisory_db_version, error_code, error_reason, record, created_at, updated_at)
               values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
               on conflict (scan_id) do nothing`,
              [record.scanId, ...columns(record)],
            );
            return inserted.rowCount === 1;
          }
          const updated = await db.pool.query(
            `update strata.scans set
               image_ref = $3, status = $4, stage = $5, status_rank = $6, stage_rank = $7, manifest_digest = $8, advisory_db_version = $9,
               error_code = $10, error_reason = $11, record = $12, created_at = $13, updated_at = $14, revision = revision + 1
             where scan_id = $1 and revision = $2`,
            [record.scanId, revision, ...columns(record)],
          );
          return updated.rowCount === 1;
        },
      ),
  };
}
