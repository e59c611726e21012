// The input of every report format, and its division into Trivy-style results: one for the OS
// packages, one per language package set (manifest or binary).
import type { AnalyzerWarning, ImageInventory, ImageMetadata, InventoryPackage, PackageType, Severity } from '@strata/model';
import { SEVERITIES } from '@strata/model';
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
  eol?: EolStatus;
  /** when the scan ran; defaults to now where a format needs a time */
  createdAt?: string;
  /** the advisory-DB version the findings were matched against */
  dbVersion?: string;
}

export interface ReportResult {
  /** "<image> (<os> <version>)" for OS packages; the manifest or binary path for language packages */
  target: string;
  class: TargetClass;
  /** OS family, or node-pkg / python-pkg / gobinary / jar */
  type: string;
  packages: InventoryPackage[];
  findings: Finding[];
}

const LANG_TYPE: Record<PackageType, string> = { npm: 'node-pkg', pypi: 'python-pkg', gobinary: 'gobinary', jar: 'jar', dpkg: 'dpkg', apk: 'apk', rpm: 'rpm' };

export function langType(type: PackageType): string {
  return LANG_TYPE[type];
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
    results.push({ target: set.path, class: 'lang-pkgs', type: langType(set.type), packages: set.packages, findings: byTarget.get(set.path) ?? [] });
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
