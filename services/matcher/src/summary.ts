// Findings summaries and counts as the findings events carry them.
import { Severity, type FindingSummary as ProtoFindingSummary } from '@strata/contracts';
import type { SeverityCounts } from '@strata/model';
import type { FindingSummary } from '@strata/reverse-index';

export const protoCounts = (c: SeverityCounts) => ({ unknown: c.unknown, low: c.low, medium: c.medium, high: c.high, critical: c.critical });

export const protoSummary = (s: FindingSummary): Omit<ProtoFindingSummary, '$typeName' | '$unknown'> => ({
  vulnerabilityId: s.vulnerabilityId,
  packageName: s.packageName,
  installedVersion: s.installedVersion,
  fixedVersion: s.fixedVersion,
  severity: Severity[s.severity satisfies keyof typeof Severity],
  ecosystem: s.ecosystem,
});
