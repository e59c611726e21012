// The advisory index: OSV records cut down to what matching and reports need, kept in an on-disk
// store (store.ts) and looked up by (ecosystem key, normalised package name).
import type { AnalyzerWarning } from '@strata/model';
import type { OsvEvent, OsvReference, OsvSeverity } from './osv.js';

/** Bump when the cached layout or the record cut changes: old caches are then rebuilt. */
export const INDEX_FORMAT_VERSION = '8';

export interface IndexedRange {
  type: 'ECOSYSTEM' | 'SEMVER';
  /** sorted by version at build time ("0" first, `limit` last), so matching needs no sort */
  events: OsvEvent[];
  /** set when the events could not be ordered (a version the scheme refuses): kept as published */
  unsorted?: true;
}

/** A vendor's own rating of the issue, as the vendor spells it (Debian urgency, Ubuntu priority). */
export interface VendorRating {
  vendor: string;
  rating: string;
}

export interface IndexedRecord {
  id: string;
  aliases: string[];
  upstream: string[];
  /** CVE ids among id, aliases and upstream, sorted */
  cves: string[];
  summary?: string;
  details?: string;
  published?: string;
  modified: string;
  /** record-level severity vectors (CVSS_V2/V3/V4, Ubuntu, ...) */
  severity: OsvSeverity[];
  /** record-level vendor rating (e.g. Ubuntu's priority in severity[type=Ubuntu]) */
  vendorRating?: VendorRating;
  /** database_specific.severity, e.g. the GitHub rating of a GHSA */
  databaseSeverity?: string;
  references: OsvReference[];
  /** database_specific.url when the database has a page for the record */
  url?: string;
  /** where the record was read from, e.g. "Go/all.zip!GO-2020-0001.json" */
  origin: string;
}

/** One `affected[]` entry of a record, for one package. */
export interface IndexedAffected {
  recordId: string;
  /** the ecosystem as the record spells it, e.g. "Debian:12" */
  ecosystem: string;
  /** the package name as the record spells it */
  name: string;
  ranges: IndexedRange[];
  versions?: string[];
  severity?: OsvSeverity[];
  vendorRating?: VendorRating;
  databaseSeverity?: string;
}

/** An affected entry with its record resolved: what `lookup` returns. */
export interface AffectedEntry extends IndexedAffected {
  record: IndexedRecord;
}

/** What the manifest keeps per record: enough to diff two databases without loading shards. */
export interface ManifestRecord {
  /** sha256 of the record as read */
  hash: string;
  /** [ecosystem key, normalised package name] pairs the record names */
  packages: [string, string][];
  /** the record's `withdrawn` time, when it has one */
  withdrawn?: string;
}

export interface IndexManifest {
  formatVersion: string;
  /** the advisory-DB version: sha256 over every record's id and content hash */
  dbVersion: string;
  /** path/size/mtime fingerprint of the source files; a change triggers a rebuild */
  fingerprint: string;
  builtAt: string;
  dbDir: string;
  sources: { path: string; kind: 'json' | 'zip'; size: number }[];
  counts: { records: number; withdrawn: number; skipped: number; packages: number };
  /** per ecosystem key: the store file, and how many records and packages it has under the key */
  shards: Record<string, { file: string; records: number; packages: number }>;
  /**
   * Every record (withdrawn ones too) by id. A read-only view of the store: each access is a
   * lookup, and enumerating it reads every id; prefer AdvisoryIndex.manifestRecords() to walk it.
   */
  records: Record<string, ManifestRecord>;
  /** broken records skipped while building; reported again on every open */
  warnings: AnalyzerWarning[];
}

/** The open index. Lookups are synchronous reads of the store. */
export interface AdvisoryIndex {
  readonly manifest: IndexManifest;
  /** = manifest.dbVersion */
  readonly version: string;
  /** Affected entries for a package; `name` is normalised here (PEP 503 for PyPI). */
  lookup(ecosystemKey: string, name: string): readonly AffectedEntry[];
  /**
   * lookup() less the entries that cannot affect `version`: those whose every range is closed by a
   * `fixed` at or below it (their bound, worked out when the store was built), left unread. Same
   * order as lookup(). Undefined when that cannot be decided (the version is not valid in a bound's
   * scheme): call lookup() then.
   */
  lookupAffecting(ecosystemKey: string, name: string, version: string): readonly AffectedEntry[] | undefined;
  /**
   * Which of `names` have entries under the key (the names as given; normalised here): many names
   * are checked in one pass over the key's package list, a few by one indexed read each.
   */
  packagesIn(ecosystemKey: string, names: Iterable<string>): Set<string>;
  hasEcosystem(ecosystemKey: string): boolean;
  /** the ecosystem keys the index has entries for */
  ecosystems(): string[];
  /** an active record by id */
  record(id: string): IndexedRecord | undefined;
  /** the ids of the records that are, or name as alias, upstream or CVE, `idOrAlias` (withdrawn aliasing records left out) */
  recordIds(idOrAlias: string): string[];
  /** what the manifest keeps for one record (withdrawn ones too) */
  manifestRecord(id: string): ManifestRecord | undefined;
  /** every record's manifest entry, in id order, streamed from the store */
  manifestRecords(): IterableIterator<[string, ManifestRecord]>;
}
