// Severity selection, in this order (design.md, issue 5):
//   1. vendor  — the distribution's own rating of the issue for its package: Debian's urgency
//                (ecosystem_specific / database_specific `urgency`), Ubuntu's priority;
//   2. cvss    — the record's CVSS vector, scored (v4, else v3.x, else v2: the newest the record has);
//   3. database — `database_specific.severity` (e.g. GitHub's rating of a GHSA);
//   4. none    — UNKNOWN.
// GitHub's rating counts as rule 3, not as a vendor rating: GitHub is not the vendor of the npm or
// PyPI package scanned, and its rating is derived from the CVSS vector in the same record, so rule 2
// reproduces it when the record has a vector; rule 3 covers GHSA records without one.
import type { Severity } from '@strata/model';
import type { AffectedEntry, IndexedRecord, VendorRating } from '@strata/advisories';
import { scoreVector, type CvssScore } from './cvss.js';

export type SeveritySource = 'vendor' | 'cvss' | 'database' | 'none';

// Maps, not object literals: the ratings are advisory text ("constructor" must not find Object).
const DEBIAN = new Map<string, Severity>([
  ['unimportant', 'LOW'],
  ['low', 'LOW'],
  ['medium', 'MEDIUM'],
  ['high', 'HIGH'],
]);
const UBUNTU = new Map<string, Severity>([
  ['negligible', 'LOW'],
  ['low', 'LOW'],
  ['medium', 'MEDIUM'],
  ['high', 'HIGH'],
  ['critical', 'CRITICAL'],
]);

/** A vendor rating as a Severity; undefined for "not yet assigned", "untriaged", "end-of-life", ... */
export function vendorSeverity(r: VendorRating): Severity | undefined {
  // Debian marks some urgencies with '*' or '**' (e.g. "low**": rated without a tracker bug).
  const rating = r.rating.trim().toLowerCase().replace(/\*+$/, '');
  const table = r.vendor === 'debian' ? DEBIAN : r.vendor === 'ubuntu' ? UBUNTU : undefined;
  return table?.get(rating);
}

const DATABASE = new Map<string, Severity>([
  ['low', 'LOW'],
  ['moderate', 'MEDIUM'],
  ['medium', 'MEDIUM'],
  ['high', 'HIGH'],
  ['critical', 'CRITICAL'],
]);

export function databaseSeverity(s: string): Severity | undefined {
  return DATABASE.get(s.trim().toLowerCase());
}

const CVSS_PREFERENCE = ['CVSS_V4', 'CVSS_V3', 'CVSS_V2'] as const;

// Scores of record-level vectors, per record object (records live as long as their loaded shard).
const recordScores = new WeakMap<IndexedRecord, CvssScore[]>();

/** Every CVSS vector of the record and its matched affected entries, scored; the preferred one first. */
export function scoreRecord(record: IndexedRecord, affected: readonly AffectedEntry[]): CvssScore[] {
  const perEntry = affected.some((a) => a.severity && a.severity.length > 0);
  if (!perEntry) {
    const have = recordScores.get(record);
    if (have) return have;
  }
  const out: CvssScore[] = [];
  const seen = new Set<string>();
  for (const s of [...affected.flatMap((a) => a.severity ?? []), ...record.severity]) {
    if (seen.has(s.score)) continue;
    seen.add(s.score);
    const scored = scoreVector(s.type, s.score, record.id);
    if (scored) out.push(scored);
  }
  out.sort((a, b) => CVSS_PREFERENCE.indexOf(a.type) - CVSS_PREFERENCE.indexOf(b.type));
  if (!perEntry) recordScores.set(record, out);
  return out;
}

export interface SeverityChoice {
  severity: Severity;
  source: SeveritySource;
  /** the vendor rating behind a vendor choice */
  vendor?: VendorRating;
  /** the record whose data decided */
  from?: string;
}

export interface RecordEvidence {
  record: IndexedRecord;
  affected: readonly AffectedEntry[];
  cvss: CvssScore[];
}

/** Applies the rules above across the records of one finding, in the order given. */
export function chooseSeverity(evidence: readonly RecordEvidence[]): SeverityChoice {
  for (const e of evidence) {
    for (const rating of [...e.affected.map((a) => a.vendorRating), e.record.vendorRating]) {
      const s = rating && vendorSeverity(rating);
      if (rating && s) return { severity: s, source: 'vendor', vendor: rating, from: e.record.id };
    }
  }
  for (const e of evidence) {
    const best = e.cvss[0];
    if (best) return { severity: best.severity, source: 'cvss', from: e.record.id };
  }
  for (const e of evidence) {
    for (const text of [...e.affected.map((a) => a.databaseSeverity), e.record.databaseSeverity]) {
      const s = text && databaseSeverity(text);
      if (s) return { severity: s, source: 'database', from: e.record.id };
    }
  }
  return { severity: 'UNKNOWN', source: 'none' };
}
