// Report formats other than the stored JSON, and scan options (severities, ignore-unfixed, ignored
// ids), rendered from the stored ScanResult with @strata/report: the embedded CLI renders the same
// data with the same functions, so the two cannot drift apart.
import { getJson, type BlobStore } from '@strata/blobstore';
import { ReportFormat } from '@strata/contracts';
import { filterFindings, type FilterOptions } from '@strata/matcher';
import type { Severity } from '@strata/model';
import type { ScanResult } from '@strata/pipeline';
import { renderReport, type ReportFormat as ReportFormatName } from '@strata/report';
import { ScanResultMissingError, type ReportRenderer } from './reports.js';
import type { ScanOptionsRecord } from '@strata/scan-records';

const FORMAT_NAMES: Record<ReportFormat, ReportFormatName> = {
  [ReportFormat.UNSPECIFIED]: 'json',
  [ReportFormat.JSON]: 'json',
  [ReportFormat.TABLE]: 'table',
  [ReportFormat.SARIF]: 'sarif',
  [ReportFormat.CYCLONEDX]: 'cyclonedx',
  [ReportFormat.SPDX]: 'spdx-json',
};

/** The matcher's filter options of a scan's options. */
export function scanFilter(options: ScanOptionsRecord | undefined): FilterOptions {
  const filter: FilterOptions = {};
  if (!options) return filter;
  if (options.severities.length > 0) filter.severities = options.severities as Severity[];
  if (options.ignoreUnfixed) filter.ignoreUnfixed = true;
  if (options.ignoredVulnerabilityIds.length > 0) filter.ignore = options.ignoredVulnerabilityIds.map((id, i) => ({ id, line: i + 1 }));
  return filter;
}

export function renderStoredReport(store: BlobStore): ReportRenderer {
  return async ({ format, resultKey, options, createdAt }) => {
    const name = FORMAT_NAMES[format];
    if (!name) throw new Error(`unknown report format ${format}`);
    const result = await getJson<ScanResult>(store, resultKey);
    if (!result) throw new ScanResultMissingError(resultKey, store.location);
    const findings = filterFindings(result.findings, scanFilter(options));
    return renderReport({ ...result, findings, ...(createdAt ? { createdAt } : {}) }, name, { color: false });
  };
}
