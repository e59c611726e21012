// The scan record (`scans/<scanId>.json`, docs/distributed.md) as the gateway reads and writes it,
// and its mapping onto the ScanService enums. Stages write their names in several spellings
// ("FETCH", "SCAN_STAGE_FETCH", "fetch", or the enum number); the mapping accepts all of them.
import { getJson, putJson, parseKey, type BlobStore } from '@strata/blobstore';
import { create } from '@bufbuild/protobuf';
import {
  FailureCode,
  ScanErrorSchema,
  ScanStage,
  ScanStatus,
  Severity,
  SeverityCountsSchema,
  type ScanError,
  type ScanOptions,
  type SeverityCounts,
} from '@strata/contracts';

export type ScanRecordStatus = 'QUEUED' | 'RUNNING' | 'COMPLETED' | 'FAILED';

export interface ScanRecordCounts {
  unknown: number;
  low: number;
  medium: number;
  high: number;
  critical: number;
}

/** What a scan asked for (severity names, e.g. "HIGH"); reports are stored unfiltered and these apply when rendering. */
export interface ScanOptionsRecord {
  ignoreUnfixed: boolean;
  severities: string[];
  ignoredVulnerabilityIds: string[];
}

/** The fields of `scans/<scanId>.json` the gateway reads and writes (the stages add more). */
export interface ScanRecord {
  scanId: string;
  imageRef: string;
  status: ScanRecordStatus;
  stage?: string | number;
  error?: { stage?: string | number; code?: string | number; reason: string };
  manifestDigest?: string;
  advisoryDbVersion?: string;
  /** the Trivy-compatible JSON report, unfiltered */
  reportKey?: string;
  /** the ScanResult JSON every report format renders from */
  resultKey?: string;
  counts?: Partial<ScanRecordCounts> | Record<string, number>;
  options?: ScanOptionsRecord;
  traceId?: string;
  createdAt?: string;
  updatedAt: string;
}

export const scanRecordKey = (scanId: string): string => `scans/${scanId}.json`;
export const reportKey = (manifestDigest: string, dbVersion: string): string => `reports/${manifestDigest}/${dbVersion}.json`;
export const resultKey = (manifestDigest: string, dbVersion: string): string => `results/${manifestDigest}/${dbVersion}.json`;

export function optionsRecord(options: ScanOptions | undefined): ScanOptionsRecord {
  return {
    ignoreUnfixed: options?.ignoreUnfixed ?? false,
    severities: (options?.severities ?? []).filter((s) => s > Severity.UNSPECIFIED).map((s) => Severity[s]),
    ignoredVulnerabilityIds: [...(options?.ignoredVulnerabilityIds ?? [])],
  };
}

/** Whether `scanId` can name a scan record (a single safe key segment). */
export function isValidScanId(scanId: string): boolean {
  if (scanId === '' || scanId.includes('/')) return false;
  try {
    parseKey(scanRecordKey(scanId));
    return true;
  } catch {
    return false;
  }
}

export async function readScanRecord(store: BlobStore, scanId: string): Promise<ScanRecord | undefined> {
  return getJson<ScanRecord>(store, scanRecordKey(scanId));
}

export async function writeScanRecord(store: BlobStore, record: ScanRecord): Promise<void> {
  await putJson(store, scanRecordKey(record.scanId), record);
}

const STATUS: Record<string, ScanStatus> = {
  QUEUED: ScanStatus.QUEUED,
  RUNNING: ScanStatus.RUNNING,
  COMPLETED: ScanStatus.COMPLETED,
  FAILED: ScanStatus.FAILED,
};

export function toScanStatus(status: string | undefined): ScanStatus {
  return (status && STATUS[status.toUpperCase().replace(/^SCAN_STATUS_/, '')]) || ScanStatus.UNSPECIFIED;
}

function enumValue(table: Record<string, string | number>, prefix: string, value: string | number | undefined): number {
  if (value === undefined) return 0;
  if (typeof value === 'number') return Number.isInteger(value) && table[value] !== undefined ? value : 0;
  const name = value.trim().toUpperCase().replace(new RegExp(`^${prefix}`), '');
  const found = table[name];
  return typeof found === 'number' ? found : 0;
}

export const toScanStage = (value: string | number | undefined): ScanStage =>
  enumValue(ScanStage as unknown as Record<string, string | number>, 'SCAN_STAGE_', value);
export const toFailureCode = (value: string | number | undefined): FailureCode =>
  enumValue(FailureCode as unknown as Record<string, string | number>, 'FAILURE_CODE_', value);

export function toScanError(record: ScanRecord): ScanError {
  const error = record.error;
  return create(ScanErrorSchema, {
    stage: toScanStage(error?.stage ?? record.stage),
    code: toFailureCode(error?.code),
    reason: error?.reason ?? `scan ${record.scanId} of ${record.imageRef} failed (no reason recorded)`,
  });
}

/** Counts as recorded ({unknown, low, ...} in any letter case) as the protobuf message. */
export function toSeverityCounts(counts: ScanRecord['counts'] | undefined): SeverityCounts | undefined {
  if (!counts) return undefined;
  const lower: Record<string, number> = {};
  for (const [name, value] of Object.entries(counts)) if (typeof value === 'number') lower[name.toLowerCase()] = value;
  return create(SeverityCountsSchema, {
    unknown: lower.unknown ?? 0,
    low: lower.low ?? 0,
    medium: lower.medium ?? 0,
    high: lower.high ?? 0,
    critical: lower.critical ?? 0,
  });
}
