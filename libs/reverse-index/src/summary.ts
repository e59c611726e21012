// Findings cut down to what a delta event and the per-image findings state carry, and the delta
// between two sets of them.
import { ecosystemKey, osEcosystems, packageEcosystem } from '@strata/advisories';
import type { Finding } from '@strata/matcher';
import type { OsInfo, PackageType, Severity } from '@strata/model';

export interface FindingSummary {
  vulnerabilityId: string;
  /** ecosystem key, e.g. "debian:12", "alpine:3.20", "npm", "pypi" */
  ecosystem: string;
  packageName: string;
  installedVersion: string;
  /** '' when no fix is known */
  fixedVersion: string;
  severity: Severity;
}

export interface FindingsDelta {
  /** new, or changed (fixed version or severity) with their new values */
  added: FindingSummary[];
  /** gone, or changed with their old values */
  resolved: FindingSummary[];
}

/** The ecosystem key OS packages of `os` are reported under (the most specific OSV ecosystem). */
export function osEcosystemKey(os: OsInfo): string {
  const first = osEcosystems(os)[0];
  return first ? ecosystemKey(first) : `${os.family}:${os.name}`.toLowerCase();
}

export function languageEcosystemKey(type: PackageType): string {
  const ecosystem = packageEcosystem(type);
  return ecosystem ? ecosystemKey(ecosystem) : type;
}

/** Which package a summary is about: the unit a re-match recomputes. */
export const packageKey = (ecosystem: string, name: string, installedVersion: string): string => `${ecosystem}\u0000${name}\u0000${installedVersion}`;

const summaryKey = (s: FindingSummary): string => `${packageKey(s.ecosystem, s.packageName, s.installedVersion)}\u0000${s.vulnerabilityId}`;
const sameContent = (a: FindingSummary, b: FindingSummary): boolean => a.fixedVersion === b.fixedVersion && a.severity === b.severity;

function compareSummaries(a: FindingSummary, b: FindingSummary): number {
  const ka = summaryKey(a);
  const kb = summaryKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/**
 * One summary per (package, vulnerability): the same package@version listed at several paths
 * (node_modules copies) is one finding for a delta.
 */
export function summarizeFindings(findings: readonly Finding[], os: OsInfo | undefined): FindingSummary[] {
  const byKey = new Map<string, FindingSummary>();
  for (const f of findings) {
    const ecosystem = f.targetClass === 'os-pkgs' && os ? osEcosystemKey(os) : languageEcosystemKey(f.pkg.type);
    const summary: FindingSummary = {
      vulnerabilityId: f.vulnerabilityId,
      ecosystem,
      packageName: f.pkgName,
      installedVersion: f.installedVersion,
      fixedVersion: f.fixedVersion,
      severity: f.severity,
    };
    byKey.set(summaryKey(summary), summary);
  }
  return [...byKey.values()].sort(compareSummaries);
}

/** What changed from `before` to `after`. A changed finding is resolved with its old values and added with its new. */
export function diffSummaries(before: readonly FindingSummary[], after: readonly FindingSummary[]): FindingsDelta {
  const old = new Map(before.map((s) => [summaryKey(s), s]));
  const now = new Map(after.map((s) => [summaryKey(s), s]));
  const added = after.filter((s) => {
    const was = old.get(summaryKey(s));
    return !was || !sameContent(was, s);
  });
  const resolved = before.filter((s) => {
    const is = now.get(summaryKey(s));
    return !is || !sameContent(is, s);
  });
  return { added: added.sort(compareSummaries), resolved: resolved.sort(compareSummaries) };
}

/**
 * The findings state after re-matching some packages: `state` without the findings of the
 * packages in `recomputed` (package keys), plus their new findings.
 */
export function replaceFindings(state: readonly FindingSummary[], recomputed: ReadonlySet<string>, fresh: readonly FindingSummary[]): FindingSummary[] {
  const kept = state.filter((s) => !recomputed.has(packageKey(s.ecosystem, s.packageName, s.installedVersion)));
  return [...kept, ...fresh].sort(compareSummaries);
}
