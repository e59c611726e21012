// Stored reports (`reports/<manifestDigest>/<dbVersion>.json`, the JSON of `strata image --format
// json`): lookup by scan record or by manifest digest, severity counts, and other formats.
import { create } from '@bufbuild/protobuf';
import type { BlobStore } from '@strata/blobstore';
import { ReportFormat, SeverityCountsSchema, type SeverityCounts } from '@strata/contracts';
import type { ScanOptionsRecord } from '@strata/scan-records';

export interface StoredReport {
  key: string;
  /** The JSON bytes as stored. */
  json: Uint8Array;
  manifestDigest: string;
  advisoryDbVersion: string;
}

export interface RenderRequest {
  format: ReportFormat;
  report: StoredReport;
  /** Key of the stored ScanResult of the same (manifest digest, DB version). */
  resultKey: string;
  /** Filters of the scan (severities, ignore-unfixed, ignored ids). */
  options?: ScanOptionsRecord;
  /** When the scan finished (the report's CreatedAt); default now. */
  createdAt?: string;
}

/** Thrown by a renderer when the scan result it renders from is not in the store. */
export class ScanResultMissingError extends Error {
  constructor(
    readonly key: string,
    location: string,
  ) {
    super(`scan result ${key} is missing from ${location}`);
    this.name = 'ScanResultMissingError';
  }
}

/** Renders a stored scan in a format (table, JSON, SARIF, CycloneDX, SPDX) with the scan's filters applied. */
export type ReportRenderer = (request: RenderRequest) => Uint8Array | string | Promise<Uint8Array | string>;

const REPORT_KEY = /^reports\/([^/]+)\/([^/]+)\.json$/;

/** Manifest digest and DB version encoded in a report key (empty strings when it has another shape). */
export function parseReportKey(key: string): { manifestDigest: string; advisoryDbVersion: string } {
  const match = REPORT_KEY.exec(key);
  return { manifestDigest: match?.[1] ?? '', advisoryDbVersion: match?.[2] ?? '' };
}

export async function loadReport(store: BlobStore, key: string): Promise<StoredReport | undefined> {
  const json = await store.getObject(key);
  return json === undefined ? undefined : { key, json, ...parseReportKey(key) };
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch {
    return undefined;
  }
}

function createdAt(json: unknown): number {
  const value = (json as { CreatedAt?: unknown } | undefined)?.CreatedAt;
  const time = typeof value === 'string' ? Date.parse(value) : NaN;
  return Number.isNaN(time) ? 0 : time;
}

/** The newest stored report of a manifest (by its CreatedAt), or undefined. */
export async function newestReport(store: BlobStore, manifestDigest: string): Promise<StoredReport | undefined> {
  let best: { report: StoredReport; time: number } | undefined;
  for await (const key of store.list(`reports/${manifestDigest}/`)) {
    if (!key.endsWith('.json')) continue;
    const report = await loadReport(store, key);
    if (!report) continue;
    const time = createdAt(parseJson(report.json));
    if (!best || time > best.time) best = { report, time };
  }
  return best?.report;
}

/** Findings per severity in a Trivy-schema JSON report (Results[].Vulnerabilities[].Severity). */
export function countFindings(json: Uint8Array): SeverityCounts {
  const counts = create(SeverityCountsSchema);
  const report = parseJson(json) as { Results?: { Vulnerabilities?: { Severity?: string }[] }[] } | undefined;
  for (const result of report?.Results ?? []) {
    for (const vulnerability of result.Vulnerabilities ?? []) {
      switch (vulnerability.Severity) {
        case 'CRITICAL':
          counts.critical++;
          break;
        case 'HIGH':
          counts.high++;
          break;
        case 'MEDIUM':
          counts.medium++;
          break;
        case 'LOW':
          counts.low++;
          break;
        default:
          counts.unknown++;
      }
    }
  }
  return counts;
}

/** The artifact name recorded in a report (Trivy's ArtifactName), or ''. */
export function artifactName(json: Uint8Array): string {
  const name = (parseJson(json) as { ArtifactName?: unknown } | undefined)?.ArtifactName;
  return typeof name === 'string' ? name : '';
}

export function isJsonFormat(format: ReportFormat): boolean {
  return format === ReportFormat.JSON || format === ReportFormat.UNSPECIFIED;
}

/** Whether the scan options change which findings a report shows. */
export function hasFilters(options: ScanOptionsRecord | undefined): boolean {
  return Boolean(options && (options.ignoreUnfixed || options.severities.length > 0 || options.ignoredVulnerabilityIds.length > 0));
}
