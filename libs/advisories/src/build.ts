// Cutting OSV records down to what matching and reports need (the store keeps only these), with
// range events sorted once at build time; and the DB version over the records' content hashes.
import { createHash } from 'node:crypto';
import { comparator, schemeForEcosystem, type VersionScheme } from '@strata/versions';
import { parseEcosystem } from './ecosystems.js';
import type { IndexedAffected, IndexedRange, IndexedRecord, ManifestRecord, VendorRating } from './model.js';
import { cveIds, type OsvAffected, type OsvEvent, type OsvRecord, type OsvSeverity } from './osv.js';

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' && v.length <= MAX_SHORT_TEXT ? v : undefined);

/** Longest summary and details kept: reports echo them once per finding. Longer text is cut with a mark. */
export const MAX_SUMMARY_LENGTH = 4 * 1024;
export const MAX_DETAILS_LENGTH = 64 * 1024;
/** Longest rating, URL or severity vector kept; a longer one is left out of the index. */
const MAX_SHORT_TEXT = 8 * 1024;
/** Most references kept per record: every finding of the record lists them. */
export const MAX_REFERENCES = 1000;

const truncate = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max)}… [cut: ${text.length} characters]`);

/** Severity entries whose vector is short enough to score. */
const severities = (list: OsvSeverity[] | undefined): OsvSeverity[] =>
  (list ?? []).filter((s) => s.score.length <= MAX_SHORT_TEXT).map((s) => ({ type: s.type, score: s.score }));

/** Debian puts its urgency in ecosystem_specific (DEBIAN-CVE records) or database_specific. */
function debianUrgency(a: OsvAffected): VendorRating | undefined {
  const rating = str(a.ecosystem_specific?.urgency) ?? str(a.database_specific?.urgency);
  return rating ? { vendor: 'debian', rating } : undefined;
}

/** Ubuntu publishes its priority as a severity entry of type "Ubuntu". */
function ubuntuPriority(severity: OsvSeverity[] | undefined): VendorRating | undefined {
  const rating = str(severity?.find((x) => x.type === 'Ubuntu')?.score);
  return rating ? { vendor: 'ubuntu', rating } : undefined;
}

export function cutRecord(r: OsvRecord, origin: string): IndexedRecord {
  const out: IndexedRecord = {
    id: r.id,
    aliases: r.aliases ?? [],
    upstream: r.upstream ?? [],
    cves: cveIds(r),
    modified: r.modified,
    severity: severities(r.severity),
    // A reference's type is optional text in practice; its URL is checked by validateRecord.
    references: (r.references ?? [])
      .filter((ref) => ref.url.length <= MAX_SHORT_TEXT)
      .slice(0, MAX_REFERENCES)
      .map((ref) => ({ type: str(ref.type) ?? 'WEB', url: ref.url })),
    origin,
  };
  if (r.summary) out.summary = truncate(r.summary, MAX_SUMMARY_LENGTH);
  if (r.details) out.details = truncate(r.details, MAX_DETAILS_LENGTH);
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
  const affectedSeverity = severities(a.severity);
  if (affectedSeverity.length > 0) out.severity = affectedSeverity;
  const base = parseEcosystem(a.package.ecosystem).base;
  const vendor = base === 'Debian' ? debianUrgency(a) : base === 'Ubuntu' ? ubuntuPriority(a.severity) : undefined;
  if (vendor) out.vendorRating = vendor;
  const dbSeverity = str(a.database_specific?.severity);
  if (dbSeverity) out.databaseSeverity = dbSeverity;
  return out;
}

/** isValid, where a comparator that throws counts as "not valid". */
function validIn(cmp: ReturnType<typeof comparator>, version: unknown): boolean {
  try {
    return typeof version === 'string' && cmp.isValid(version);
  } catch {
    return false;
  }
}

/**
 * The version at or above which an entry cannot affect a package, and the scheme it compares in:
 * the highest of its ranges' closing `fixed` events. Given only when that holds for certain,
 * whatever the installed version valid in the scheme: no `versions` list, every range sorted and
 * in that one scheme, each range's last event before its limits a `fixed`, and every version in
 * it valid, so evaluating the entry could neither match nor warn. An installed version at or above
 * the bound then skips the entry unread (store lookups by version); otherwise undefined.
 */
export function affectedBound(a: IndexedAffected): { scheme: VersionScheme; version: string } | undefined {
  if (a.versions !== undefined || a.ranges.length === 0) return undefined;
  let scheme: VersionScheme | undefined;
  let bound: string | undefined;
  for (const range of a.ranges) {
    if (range.unsorted) return undefined;
    const s = rangeScheme(a.ecosystem, range.type);
    if (!s || (scheme !== undefined && s !== scheme)) return undefined;
    scheme = s;
    const cmp = comparator(s);
    let last: OsvEvent | undefined;
    for (const e of range.events) {
      // validateRecord allows one kind per event; anything else is left to the full evaluation
      const kinds =
        (e.introduced !== undefined ? 1 : 0) + (e.fixed !== undefined ? 1 : 0) + (e.last_affected !== undefined ? 1 : 0) + (e.limit !== undefined ? 1 : 0);
      if (kinds !== 1) return undefined;
      if (e.limit !== undefined) {
        if (e.limit !== '*' && !validIn(cmp, e.limit)) return undefined;
        continue;
      }
      if (e.introduced !== '0' && !validIn(cmp, eventVersion(e))) return undefined;
      last = e;
    }
    if (last?.fixed === undefined) return undefined;
    try {
      if (bound === undefined || cmp.compare(last.fixed, bound) > 0) bound = last.fixed;
    } catch {
      return undefined;
    }
  }
  return scheme !== undefined && bound !== undefined ? { scheme, version: bound } : undefined;
}

/** sha256 over every record's id and content hash, in id order: the advisory-DB version. */
export function databaseVersion(records: Record<string, ManifestRecord>): string {
  return versionOfSorted(
    Object.keys(records)
      .sort()
      .map((id) => [id, records[id]?.hash ?? 'undefined']),
  );
}

/** The same, over (id, hash) pairs already in id order (streamed from the store). */
export function versionOfSorted(pairs: Iterable<readonly [string, string]>): string {
  const h = createHash('sha256');
  for (const [id, hash] of pairs) h.update(`${id}\t${hash}\n`);
  return `sha256:${h.digest('hex')}`;
}
