// Scan options between their protobuf form (events) and their JSON form (scan record).
import { Severity, type ScanOptions } from '@strata/contracts';
import type { ScanOptionsRecord } from './records.js';

export function optionsRecord(options: ScanOptions | undefined): ScanOptionsRecord {
  return {
    ignoreUnfixed: options?.ignoreUnfixed ?? false,
    severities: (options?.severities ?? []).filter((s) => s > Severity.UNSPECIFIED).map((s) => Severity[s]),
    ignoredVulnerabilityIds: [...(options?.ignoredVulnerabilityIds ?? [])],
  };
}

export function protoOptions(record: ScanOptionsRecord): ScanOptions {
  return {
    $typeName: 'strata.v1.ScanOptions',
    ignoreUnfixed: record.ignoreUnfixed,
    severities: record.severities.map((name) => Severity[name as keyof typeof Severity]).filter((s): s is Severity => typeof s === 'number'),
    ignoredVulnerabilityIds: [...record.ignoredVulnerabilityIds],
  };
}
