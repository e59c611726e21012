// The scan record (`scans/<scanId>.json`, docs/distributed.md) belongs to @strata/scan-records; this
// maps it onto the ScanService protobuf enums and messages.
import { create } from '@bufbuild/protobuf';
import { FailureCode, ScanErrorSchema, ScanStage, ScanStatus, SeverityCountsSchema, type ScanError, type SeverityCounts } from '@strata/contracts';
import type { FailureCodeName, ScanRecord, ScanStatusName, StageName } from '@strata/scan-records';

// Records are JSON read back without validation, so a name the enum lacks maps to UNSPECIFIED.
export const toScanStatus = (status: ScanStatusName | undefined): ScanStatus => (status && ScanStatus[status]) ?? ScanStatus.UNSPECIFIED;
export const toScanStage = (stage: StageName | undefined): ScanStage => (stage && ScanStage[stage]) ?? ScanStage.UNSPECIFIED;
export const toFailureCode = (code: FailureCodeName | undefined): FailureCode => (code && FailureCode[code]) ?? FailureCode.UNSPECIFIED;

export function toScanError(record: ScanRecord): ScanError {
  const error = record.error;
  return create(ScanErrorSchema, {
    stage: toScanStage(error?.stage ?? record.stage),
    code: toFailureCode(error?.code),
    reason: error?.reason ?? `scan ${record.scanId} of ${record.imageRef} failed (no reason recorded)`,
  });
}

/** The recorded findings per severity as the protobuf message. */
export function toSeverityCounts(counts: ScanRecord['counts']): SeverityCounts | undefined {
  return counts ? create(SeverityCountsSchema, counts) : undefined;
}
