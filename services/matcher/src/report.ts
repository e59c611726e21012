// The stored report of a distributed scan: the same Trivy-compatible JSON as
// `strata image --format json` (unfiltered: scan options apply when a client renders it).
import { renderReport } from '@strata/report';
import type { ScanResult } from '@strata/pipeline';

export function renderJsonReport(result: ScanResult, now?: Date): string {
  return renderReport(result, 'json', now ? { now } : {});
}
