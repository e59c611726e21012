// Cutting OSV records down to what matching and reports need (the store keeps only these), with
// range events sorted once at build time; and the DB version over the records' content hashes.
import { createHash } from 'node:crypto';
import { comparator, schemeForEcosystem, type VersionScheme } from '@strata/versions';
import { parseEcosystem } from './ecosystems.js';
import type { IndexedAffected, IndexedRange, IndexedRecord, ManifestRecord, VendorRating } from './model.js';
import { cveIds, type OsvAffected, type OsvEvent, type OsvRecord, type OsvSeverity } from './osv.js';

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Debian puts its urgency in ecosystem_specific (DEBIAN-CVE records) or database_specific. */
function debianUrgency(a: OsvAffected): VendorRating | undefined {
  const rating = str(a.ecosystem_specific?.urgency) ?? str(a.database_specific?.urgency);
  return rating ? { vendor: 'debian', rating } : undefined;
}

/** Ubuntu publishes its priority as a severity entry of type "Ubuntu". */
function ubuntuPriority(severity: OsvSeverity[] | undefined): VendorRating | undefined {
  const s = severity?.find((x) => x.type === 'Ubuntu');
  return s ? { vendor: 'ubuntu', rating: s.score } : undefined;
}

export function cutRecord(r: OsvRecord, origin: string): IndexedRecord {
  const out: IndexedRecord = {
    id: r.id,
    aliases: r.aliases ?? [],
    upstream: r.upstream ?? [],
    cves: cveIds(r),
    modified: r.modified,
    severity: r.severity ?? [],
    references: (r.references ?? []).map((ref) => ({ type: ref.type, url: ref.url })),
    origin,
  };
  if (r.summary) out.summary = r.summary;
  if (r.details) out.details = r.details;
  if (r.published) out.published = r.published;
  const vendor = ubuntuPriority(r.severity);
  if (vendor) out.vendorRating = vendor;
  const dbSeverity = str(r.database_specific?.severity);
  if (dbSeverity) out.databaseSeverity = dbSeverity;
  const url = str(r.database_specific?.url);
  if (url) out.url = url;
  return out;
}

/** The version scheme a range's events are ordered by (SEMVER ranges in Go use Go's semver). */
export function rangeScheme(ecosystem: string, type: 'ECOSYSTEM' | 'SEMVER'): VersionScheme | undefined {
  if (type === 'SEMVER') return parseEcosystem(ecosystem).base === 'Go' ? 'go' : 'semver';
  return schemeForEcosystem(ecosystem);
}

const eventVersion = (e: OsvEvent): string => (e.introduced ?? e.fixed ?? e.last_affected ?? e.limit) as string;

/**
 * Orders a range's events as OSV evaluation needs them: by version, introduced "0" first, limits
 * last. Sorting once here keeps matching to a few comparisons per range. Undefined when a version
 * cannot be ordered under the scheme; the matcher then reports the record.
 */
function sortEvents(events: OsvEvent[], scheme: VersionScheme | undefined): OsvEvent[] | undefined {
  if (!scheme) return undefined;
  const cmp = comparator(scheme);
  const rank = (e: OsvEvent): number => (e.introduced === '0' ? 0 : e.limit !== undefined ? 2 : 1);
  try {
    return [...events].sort((x, y) => rank(x) - rank(y) || (rank(x) === 1 ? cmp.compare(eventVersion(x), eventVersion(y)) : 0));
  } catch {
    return undefined;
  }
}

export function cutAffected(recordId: string, a: OsvAffected): IndexedAffected | undefined {
  const ranges: IndexedRange[] = [];
  for (const r of a.ranges ?? []) {
    // GIT ranges name commits, which an installed package does not carry: ignored.
    if (r.type !== 'ECOSYSTEM' && r.type !== 'SEMVER') continue;
    const sorted = sortEvents(r.events, rangeScheme(a.package.ecosystem, r.type));
    ranges.push(sorted ? { type: r.type, events: sorted } : { type: r.type, events: r.events, unsorted: true });
  }
  const versions = a.versions && a.versions.length > 0 ? a.versions : undefined;
  if (ranges.length === 0 && !versions) return undefined;
  const out: IndexedAffected = { recordId, ecosystem: a.package.ecosystem, name: a.package.name, ranges };
  if (versions) out.versions = versions;
  if (a.severity && a.severity.length > 0) out.severity = a.severity;
  const base = parseEcosystem(a.package.ecosystem).base;
  const vendor = base === 'Debian' ? debianUrgency(a) : base === 'Ubuntu' ? ubuntuPriority(a.severity) : undefined;
  if (vendor) out.vendorRating = vendor;
  const dbSeverity = str(a.database_specific?.severity);
  if (dbSeverity) out.databaseSeverity = dbSeverity;
  return out;
}

/** sha256 over every record's id and content hash, in id order: the advisory-DB version. */
export function databaseVersion(records: Record<string, ManifestRecord>): string {
  return versionOfSorted(Object.keys(records).sort().map((id) => [id, records[id]?.hash ?? 'undefined']));
}

/** The same, over (id, hash) pairs already in id order (streamed from the store). */
export function versionOfSorted(pairs: Iterable<readonly [string, string]>): string {
  const h = createHash('sha256');
  for (const [id, hash] of pairs) h.update(`${id}\t${hash}\n`);
  return `sha256:${h.digest('hex')}`;
}

