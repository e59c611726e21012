// Builds the index from a db folder: read, validate, de-duplicate by id (the latest `modified`
// wins), cut each record down, and group its affected entries by (ecosystem key, package name).
import { createHash } from 'node:crypto';
import type { AnalyzerWarning } from '@strata/model';
import { comparator, schemeForEcosystem, type VersionScheme } from '@strata/versions';
import { AdvisoryDbEmptyError } from './errors.js';
import { newDict } from './dict.js';
import { ecosystemKey, normalizePackageName, parseEcosystem } from './ecosystems.js';
import type { IndexedAffected, IndexedRange, IndexedRecord, IndexManifest, ManifestRecord, Shard, VendorRating } from './model.js';
import { readingLimitsKey, type AdvisoryLimits } from './limits.js';
import { INDEX_FORMAT_VERSION } from './model.js';
import { cveIds, validateRecord, type OsvAffected, type OsvEvent, type OsvRecord, type OsvSeverity } from './osv.js';
import { fingerprint, listSources, readSources, type SourceFile } from './source.js';

export interface BuiltIndex {
  manifest: IndexManifest;
  shards: Map<string, Shard>;
}

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
const severities = (list: OsvSeverity[] | undefined): OsvSeverity[] => (list ?? []).filter((s) => s.score.length <= MAX_SHORT_TEXT).map((s) => ({ type: s.type, score: s.score }));

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

function cutRecord(r: OsvRecord, origin: string): IndexedRecord {
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

function cutAffected(recordId: string, a: OsvAffected): IndexedAffected | undefined {
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

interface Candidate {
  record: IndexedRecord;
  affected: IndexedAffected[];
  manifest: ManifestRecord;
}

/** sha256 over every record's id and content hash, in id order: the advisory-DB version. */
export function databaseVersion(records: Record<string, ManifestRecord>): string {
  const h = createHash('sha256');
  for (const id of Object.keys(records).sort()) h.update(`${id}\t${records[id]?.hash}\n`);
  return `sha256:${h.digest('hex')}`;
}

export interface BuildOptions {
  dbDir: string;
  /** the source listing, when the caller has already made it */
  files?: SourceFile[];
  now?: () => Date;
  /** bounds on record and zip sizes (DEFAULT_ADVISORY_LIMITS where unset) */
  limits?: Partial<AdvisoryLimits>;
}

export async function buildIndex(opts: BuildOptions): Promise<BuiltIndex> {
  const files = opts.files ?? (await listSources(opts.dbDir).catch(() => []));
  if (files.length === 0) throw new AdvisoryDbEmptyError(opts.dbDir);

  const warnings: AnalyzerWarning[] = [];
  const byId = new Map<string, Candidate>();
  let skipped = 0;

  const addRecord = (origin: string, raw: OsvRecord): void => {
    const hash = createHash('sha256').update(JSON.stringify(raw)).digest('hex');
    const packages = new Map<string, [string, string]>();
    const affected: IndexedAffected[] = [];
    for (const a of raw.affected ?? []) {
      if (!a.package) continue;
      const pair: [string, string] = [ecosystemKey(a.package.ecosystem), normalizePackageName(a.package.ecosystem, a.package.name)];
      packages.set(pair.join('\u0000'), pair);
      const cut = cutAffected(raw.id, a);
      if (cut) affected.push(cut);
    }
    const manifest: ManifestRecord = { hash, packages: [...packages.values()] };
    if (raw.withdrawn) manifest.withdrawn = raw.withdrawn;
    const candidate: Candidate = { record: cutRecord(raw, origin), affected, manifest };
    const previous = byId.get(raw.id);
    if (previous) {
      // The same id in two sources (a folder and a dump): keep the newer, else the first by origin.
      const newer = raw.modified > previous.record.modified || (raw.modified === previous.record.modified && origin < previous.record.origin);
      if (!newer) return;
    }
    byId.set(raw.id, candidate);
  };

  await readSources(
    opts.dbDir,
    files,
    ({ origin, value }) => {
      const problem = validateRecord(value);
      if (problem) {
        skipped++;
        warnings.push({ analyzer: 'advisories', path: origin, message: `OSV record skipped: ${problem}` });
        return;
      }
      try {
        addRecord(origin, value as OsvRecord);
      } catch (e) {
        // Whatever a record holds, it costs that record only, never the database.
        skipped++;
        warnings.push({ analyzer: 'advisories', path: origin, message: `OSV record skipped: ${e instanceof Error ? e.message : String(e)}` });
      }
    },
    ({ origin, message }) => {
      skipped++;
      warnings.push({ analyzer: 'advisories', path: origin, message });
    },
    opts.limits,
  );

  const shards = new Map<string, Shard>();
  const records = newDict<ManifestRecord>();
  let withdrawn = 0;
  let packageCount = 0;
  for (const id of [...byId.keys()].sort()) {
    const c = byId.get(id) as Candidate;
    records[id] = c.manifest;
    if (c.manifest.withdrawn) {
      withdrawn++;
      continue;
    }
    for (const a of c.affected) {
      const key = ecosystemKey(a.ecosystem);
      let shard = shards.get(key);
      if (!shard) {
        shard = { key, records: newDict(), packages: newDict() };
        shards.set(key, shard);
      }
      shard.records[id] = c.record;
      const name = normalizePackageName(a.ecosystem, a.name);
      const list = shard.packages[name];
      if (list) list.push(a);
      else {
        shard.packages[name] = [a];
        packageCount++;
      }
    }
  }

  warnings.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const active = byId.size - withdrawn;
  if (active === 0) throw new AdvisoryDbEmptyError(opts.dbDir, byId.size > 0 ? `${byId.size} record(s), all withdrawn` : `${skipped} unreadable record(s)`);

  const shardInfo: IndexManifest['shards'] = newDict();
  let n = 0;
  for (const key of [...shards.keys()].sort()) {
    const shard = shards.get(key) as Shard;
    shardInfo[key] = { file: `shard-${String(n++).padStart(4, '0')}.json`, records: Object.keys(shard.records).length, packages: Object.keys(shard.packages).length };
  }
  const manifest: IndexManifest = {
    formatVersion: INDEX_FORMAT_VERSION,
    dbVersion: databaseVersion(records),
    fingerprint: fingerprint(files, `${INDEX_FORMAT_VERSION} ${readingLimitsKey(opts.limits)}`),
    builtAt: (opts.now ?? (() => new Date()))().toISOString(),
    dbDir: opts.dbDir,
    sources: files.map((f) => ({ path: f.path, kind: f.kind, size: f.size })),
    counts: { records: active, withdrawn, skipped, packages: packageCount },
    shards: shardInfo,
    records,
    warnings,
  };
  return { manifest, shards };
}
