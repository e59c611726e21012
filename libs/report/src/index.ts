// Report formats over one scan: table (Trivy-like), json (Trivy JSON schema v2), sarif (2.1.0),
// cyclonedx (1.6 JSON) and spdx-json (2.3).
export type { ScanReport, ReportResult, SeverityCounts, AdvisoryDbInfo, AdvisoryDbManifest } from './report.js';
export { reportResults, countSeverities, osTargetName, langType, SEVERITY_NUMBER, advisoryDbOf, describeAdvisoryDb } from './report.js';
export { renderTable, totalsLine } from './table.js';
export type { TableOptions } from './table.js';
export { renderJson, renderJsonChunks, toTrivyJson, trivyPackage, trivyVulnerability } from './json.js';
export type { TrivyReport, TrivyResult, TrivyPackage, TrivyVulnerability, TrivyCvss, TrivyLayer } from './json.js';
export { renderSarif, toSarif, SARIF_SCHEMA_URI } from './sarif.js';
export type { SarifOptions } from './sarif.js';
export { renderCycloneDx, toCycloneDxBom, validateCycloneDx } from './cyclonedx.js';
export type { CycloneDxOptions } from './cyclonedx.js';
export { renderSpdx, toSpdx } from './spdx.js';
export type { SpdxOptions } from './spdx.js';
import type { ScanReport } from './report.js';
import { renderTable } from './table.js';
import { renderJson, renderJsonChunks } from './json.js';
import { renderSarif } from './sarif.js';
import { renderCycloneDx } from './cyclonedx.js';
import { renderSpdx } from './spdx.js';

export const REPORT_FORMATS = ['table', 'json', 'sarif', 'cyclonedx', 'spdx-json'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export interface RenderOptions {
  /** table: ANSI colours (pass stdout.isTTY) */
  color?: boolean;
  toolVersion?: string;
  now?: Date;
}

/** Renders a report in one of REPORT_FORMATS. */
export function renderReport(report: ScanReport, format: ReportFormat, opts: RenderOptions = {}): string {
  const common = { ...(opts.toolVersion ? { toolVersion: opts.toolVersion } : {}), ...(opts.now ? { now: opts.now } : {}) };
  switch (format) {
    case 'table':
      return renderTable(report, opts.color ? { color: true } : {});
    case 'json':
      return renderJson(report, opts.now);
    case 'sarif':
      return renderSarif(report, common);
    case 'cyclonedx':
      return renderCycloneDx(report, common);
    case 'spdx-json':
      return renderSpdx(report, common);
    default:
      throw new Error(`unknown report format ${JSON.stringify(format)} (use ${REPORT_FORMATS.join(', ')})`);
  }
}

/**
 * A report as pieces to write one after the other: the JSON report comes one package or finding at a
 * time (a huge inventory is never one string); the other formats come whole.
 */
export function renderReportChunks(report: ScanReport, format: ReportFormat, opts: RenderOptions = {}): Iterable<string> {
  return format === 'json' ? renderJsonChunks(report, opts.now) : [renderReport(report, format, opts)];
}
