// The input of every report format, and its division into Trivy-style results: one for the OS
// packages, one per language package set (manifest or binary).
import type { AnalyzerWarning, ImageInventory, ImageMetadata, InventoryPackage, PackageType, Severity } from '@strata/model';
import { appTargetType, SEVERITIES } from '@strata/model';
import type { EolStatus, Finding, TargetClass } from '@strata/matcher';

export interface ScanReport {
  /** what the user asked for, e.g. "alpine:3.20" */
  artifactName: string;
  metadata: ImageMetadata;
  inventory: ImageInventory;
  /** the findings to report (already filtered by --severity, --ignore-unfixed, --ignorefile) */
  findings: Finding[];
  warnings: AnalyzerWarning[];
  /** end-of-life status of the image's OS, when it has one */
  eol?: EolStatus | undefined;
  /** when the scan ran; defaults to now where a format needs a time */
  createdAt?: string;
  /** the advisory DB the findings were matched against */
  advisoryDb?: AdvisoryDbInfo;
}

/** Which advisory DB a scan used, as every report format names it. */
export interface AdvisoryDbInfo {
  /** the folder the advisories were read from (for a server scan: on the server's side) */
  path: string;
  /** a folder of OSV *.json records, a set of OSV all.zip dumps (`strata db update`), or both */
  kind: 'osv-json' | 'osv-zip' | 'osv-json+zip';
  /** the advisory-DB version: a sha256 fingerprint over every record's id and content */
  version: string;
  /** records in use (withdrawn ones not counted) */
  records: number;
  /** the all.zip dumps, relative to path */
  dumps: string[];
  /** how many *.json record files */
  jsonFiles: number;
}

/** What advisoryDbOf reads from an advisory index's manifest (@strata/advisories IndexManifest). */
export interface AdvisoryDbManifest {
  dbDir: string;
  dbVersion: string;
  sources: readonly { path: string; kind: 'json' | 'zip' }[];
  counts: { records: number };
}

/** The advisory DB an index was built from, as the reports name it. */
export function advisoryDbOf(manifest: AdvisoryDbManifest): AdvisoryDbInfo {
  const dumps = manifest.sources.filter((s) => s.kind === 'zip').map((s) => s.path);
  const jsonFiles = manifest.sources.length - dumps.length;
  const kind = dumps.length === 0 ? 'osv-json' : jsonFiles === 0 ? 'osv-zip' : 'osv-json+zip';
  return { path: manifest.dbDir, kind, version: manifest.dbVersion, records: manifest.counts.records, dumps, jsonFiles };
}

const KIND_TEXT: Record<AdvisoryDbInfo['kind'], string> = {
  'osv-json': 'OSV JSON folder',
  'osv-zip': 'OSV all.zip set',
  'osv-json+zip': 'OSV JSON files and all.zip set',
};
const shortVersion = (version: string): string => version.replace(/^(sha256:[0-9a-f]{12})[0-9a-f]+$/, '$1');

/** One line for people: "<path> (OSV all.zip set of 13 dumps, 12345 records, version sha256:0123456789ab)". */
export function describeAdvisoryDb(db: AdvisoryDbInfo): string {
  const files = db.kind === 'osv-json' ? '' : ` of ${db.dumps.length} dump${db.dumps.length === 1 ? '' : 's'}`;
  return `${db.path} (${KIND_TEXT[db.kind]}${files}, ${db.records} records, version ${shortVersion(db.version)})`;
}

export interface ReportResult {
  /** "<image> (<os> <version>)" for OS packages; the manifest or binary path for language packages */
  target: string;
  class: TargetClass;
  /** OS family, or the language set's Trivy type: node-pkg, python-pkg, gobinary, jar, rustbinary, cargo, composer-vendor, composer, gemspec, dotnet-core, nuget, conda-pkg */
  type: string;
  packages: InventoryPackage[];
  findings: Finding[];
}

/** Trivy's result Type of a language package set (node-pkg, rustbinary, composer-vendor, …): see appTargetType. */
export function langType(set: { type: PackageType; analyzer: string }): string {
  return appTargetType(set);
}

export function osTargetName(report: ScanReport): string | undefined {
  const os = report.inventory.os;
  return os ? `${report.artifactName} (${os.family} ${os.name})` : undefined;
}

/** Results in Trivy's order: the OS first, then language sets by path. Sets without packages are left out. */
export function reportResults(report: ScanReport): ReportResult[] {
  const results: ReportResult[] = [];
  const os = report.inventory.os;
  const osFindings = report.findings.filter((f) => f.targetClass === 'os-pkgs');
  if (os || report.inventory.osPackages.length > 0) {
    results.push({
      target: osTargetName(report) ?? `${report.artifactName} (unknown OS)`,
      class: 'os-pkgs',
      type: os?.family ?? 'unknown',
      packages: report.inventory.osPackages,
      findings: osFindings,
    });
  }
  const byTarget = new Map<string, Finding[]>();
  for (const f of report.findings) {
    if (f.targetClass !== 'lang-pkgs') continue;
    const list = byTarget.get(f.target);
    if (list) list.push(f);
    else byTarget.set(f.target, [f]);
  }
  const sets = [...report.inventory.applications].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const set of sets) {
    if (set.packages.length === 0) continue;
    results.push({ target: set.path, class: 'lang-pkgs', type: langType(set), packages: set.packages, findings: byTarget.get(set.path) ?? [] });
  }
  return results;
}

export type SeverityCounts = Record<Severity, number>;

export function countSeverities(findings: readonly Finding[]): SeverityCounts {
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as SeverityCounts;
  for (const f of findings) counts[f.severity]++;
  return counts;
}

/** Trivy's numeric severities (VendorSeverity values). */
export const SEVERITY_NUMBER: Record<Severity, number> = { UNKNOWN: 0, LOW: 1, MEDIUM: 2, HIGH: 3, CRITICAL: 4 };
