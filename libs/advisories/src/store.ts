// The on-disk advisory store: one SQLite file (node:sqlite, built into Node 24) holding the cut
// records, their affected entries keyed by (ecosystem key, normalised package name), the alias
// table and the manifest. It is built by streaming the sources, one record at a time, into a new
// file; opened read-only, only the manifest's scalar fields are read up front and every lookup is
// an indexed query, so opening costs milliseconds and a scan reads only the packages it has.
import { createHash } from 'node:crypto';
import { copyFile } from 'node:fs/promises';
import { DatabaseSync } from 'node:sqlite';
import type { AnalyzerWarning } from '@strata/model';
import { cutAffected, cutRecord, versionOfSorted } from './build.js';
import { newDict, toDict } from './dict.js';
import { AdvisoryDbEmptyError } from './errors.js';
import { ecosystemKey, normalizeName, normalizePackageName } from './ecosystems.js';
import type { AdvisoryIndex, AffectedEntry, IndexedAffected, IndexedRecord, IndexManifest, ManifestRecord } from './model.js';
import { readingLimitsKey, type AdvisoryLimits } from './limits.js';
import { INDEX_FORMAT_VERSION } from './model.js';
import { validateRecord, type OsvRecord } from './osv.js';
import { fingerprint, listSources, readSources, type SourceFile } from './source.js';

export interface BuildStoreOptions {
  dbDir: string;
  /** the store file to write (must not exist: build into a temp name and rename it into place) */
  target: string;
  /** the source listing, when the caller has already made it */
  files?: SourceFile[];
  now?: () => Date;
  /** bounds on record and zip sizes (DEFAULT_ADVISORY_LIMITS where unset) */
  limits?: Partial<AdvisoryLimits>;
  /**
   * Start from a copy of this store and read only `changed` (record files added or rewritten
   * since it was built; see incrementalSources): what an incremental `strata db update` leaves.
   */
  base?: { path: string; changed: SourceFile[] };
}

/** The origin's file: "Go/all.zip!GO-1.json" -> "Go/all.zip", "a.json[3]" -> "a.json". */
const originFile = (origin: string): string => origin.replace(/!.*$/s, '').replace(/\[\d+\]$/, '');

/**
 * The record files to read on top of an existing store, or undefined when it must be rebuilt:
 * allowed are only JSON files added or rewritten (an update's `updates/<id>.json`); a zip that
 * changed, or any file that went away, needs the whole build.
 */
export function incrementalSources(path: string, files: SourceFile[], limits: Partial<AdvisoryLimits> | undefined): SourceFile[] | undefined {
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(path, { readOnly: true });
    const get = db.prepare('SELECT value FROM meta WHERE key = ?');
    const read = (key: string): unknown => {
      const row = get.get(key) as { value: string } | undefined;
      return row ? JSON.parse(row.value) : undefined;
    };
    if (read('formatVersion') !== INDEX_FORMAT_VERSION || read('readingKey') !== readingKey(limits)) return undefined;
    const stamps = read('sourceStamps') as { path: string; size: number; mtimeMs: number }[] | undefined;
    if (!Array.isArray(stamps)) return undefined;
    const now = new Map(files.map((f) => [f.path, f]));
    const changed = new Map(files.map((f) => [f.path, f]));
    for (const old of stamps) {
      const f = now.get(old.path);
      if (!f) return undefined;
      if (f.size === old.size && f.mtimeMs === old.mtimeMs) changed.delete(old.path);
      else if (f.kind !== 'json') return undefined;
    }
    const list = [...changed.values()];
    return list.length > 0 && list.every((f) => f.kind === 'json') ? list : undefined;
  } catch {
    return undefined;
  } finally {
    db?.close();
  }
}

const readingKey = (limits: Partial<AdvisoryLimits> | undefined): string => `${INDEX_FORMAT_VERSION} ${readingLimitsKey(limits)}`;

const SCHEMA = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE records (
  id TEXT PRIMARY KEY,
  token INTEGER NOT NULL,
  modified TEXT NOT NULL,
  origin TEXT NOT NULL,
  hash TEXT NOT NULL,
  withdrawn TEXT,
  packages TEXT NOT NULL,
  body TEXT
);
CREATE TABLE affected (key TEXT NOT NULL, name TEXT NOT NULL, record_id TEXT NOT NULL, seq INTEGER NOT NULL, token INTEGER NOT NULL, body TEXT NOT NULL);
CREATE TABLE aliases (alias TEXT NOT NULL, record_id TEXT NOT NULL, token INTEGER NOT NULL);
`;

/** Records per write transaction while building. */
const BATCH = 5_000;

/**
 * Builds the store for dbDir into opts.target. Memory stays bounded whatever the record count:
 * each record is written as it is read, a duplicate id (a folder and a dump) replaces the older
 * copy by token, and the stale rows are dropped in one pass at the end. Throws
 * AdvisoryDbEmptyError when no active record is left.
 */
export async function buildStore(opts: BuildStoreOptions): Promise<IndexManifest> {
  const files = opts.files ?? (await listSources(opts.dbDir).catch(() => []));
  if (files.length === 0) throw new AdvisoryDbEmptyError(opts.dbDir);
  if (opts.base) await copyFile(opts.base.path, opts.target);
  const db = new DatabaseSync(opts.target);
  try {
    db.exec('PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -32000; PRAGMA temp_store = FILE;');
    if (!opts.base) db.exec(SCHEMA);
    const rewritten = new Set(opts.base?.changed.map((f) => f.path));
    const existing = db.prepare('SELECT modified, origin FROM records WHERE id = ?');
    const putRecord = db.prepare('INSERT OR REPLACE INTO records (id, token, modified, origin, hash, withdrawn, packages, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    const putAffected = db.prepare('INSERT INTO affected (key, name, record_id, seq, token, body) VALUES (?, ?, ?, ?, ?, ?)');
    const putAlias = db.prepare('INSERT INTO aliases (alias, record_id, token) VALUES (?, ?, ?)');
    // On a base, the warnings of files not read again stay; tokens go on from the base's.
    const baseWarnings = opts.base ? ((JSON.parse((db.prepare("SELECT value FROM meta WHERE key = 'warnings'").get() as { value: string }).value) as AnalyzerWarning[]).filter((w) => !rewritten.has(originFile(w.path)))) : [];
    const warnings: AnalyzerWarning[] = [...baseWarnings];
    let skipped = 0;
    const baseToken = opts.base ? ((db.prepare('SELECT MAX(token) AS t FROM records').get() as { t: number | null }).t ?? 0) : 0;
    let token = baseToken;
    let inBatch = 0;
    let duplicates = 0;
    const addRecord = (origin: string, raw: OsvRecord): void => {
      const previous = existing.get(raw.id) as { modified: string; origin: string } | undefined;
      if (previous && rewritten.has(originFile(previous.origin))) {
        duplicates++; // the file it came from was rewritten: its new content replaces it
      } else if (previous) {
        // The same id in two sources: keep the newer, else the first by origin.
        const newer = raw.modified > previous.modified || (raw.modified === previous.modified && origin < previous.origin);
        if (!newer) return;
        duplicates++;
      }
      token++;
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
      const withdrawn = raw.withdrawn ? raw.withdrawn : null;
      const record = withdrawn ? null : cutRecord(raw, origin);
      putRecord.run(raw.id, token, raw.modified, origin, hash, withdrawn, JSON.stringify([...packages.values()]), record ? JSON.stringify(record) : null);
      if (record) {
        affected.forEach((a, seq) => putAffected.run(ecosystemKey(a.ecosystem), normalizePackageName(a.ecosystem, a.name), raw.id, seq, token, JSON.stringify(a)));
        for (const alias of new Set([...record.aliases, ...record.upstream, ...record.cves])) putAlias.run(alias, raw.id, token);
      }
    };
    db.exec('BEGIN');
    await readSources(
      opts.dbDir,
      opts.base ? opts.base.changed : files,
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
        if (++inBatch >= BATCH) {
          db.exec('COMMIT; BEGIN');
          inBatch = 0;
        }
      },
      ({ origin, message }) => {
        skipped++;
        warnings.push({ analyzer: 'advisories', path: origin, message });
      },
      opts.limits,
    );
    db.exec('COMMIT');
    if (opts.base) {
      // Records that came from a rewritten file and are no longer in it are gone: one pass over
      // the records for all such files (origins are "<file>" or "<file>[<i>]" for JSON files).
      const stamps = new Set((JSON.parse((db.prepare("SELECT value FROM meta WHERE key = 'sourceStamps'").get() as { value: string }).value) as { path: string }[]).map((x) => x.path));
      const before = [...rewritten].filter((p) => stamps.has(p));
      if (before.length > 0) {
        db.exec('CREATE TEMP TABLE rewritten (path TEXT PRIMARY KEY)');
        const put = db.prepare('INSERT OR IGNORE INTO rewritten (path) VALUES (?)');
        for (const p of before) put.run(p);
        const dropped = db
          .prepare("DELETE FROM records WHERE token <= ? AND (origin IN (SELECT path FROM rewritten) OR (substr(origin, -1) = ']' AND rtrim(rtrim(origin, ']0123456789'), '[') IN (SELECT path FROM rewritten)))")
          .run(baseToken);
        duplicates += Number(dropped.changes);
      }
    }
    if (duplicates > 0) {
      // Rows of a record's replaced copy carry its old token.
      db.exec('DELETE FROM affected WHERE token IS NOT (SELECT token FROM records WHERE records.id = affected.record_id)');
      db.exec('DELETE FROM aliases WHERE token IS NOT (SELECT token FROM records WHERE records.id = aliases.record_id)');
    }
    if (!opts.base) db.exec('CREATE INDEX affected_by_package ON affected (key, name, record_id, seq); CREATE INDEX aliases_by_alias ON aliases (alias);');

    const total = (db.prepare('SELECT COUNT(*) AS n FROM records').get() as { n: number }).n;
    const withdrawn = (db.prepare('SELECT COUNT(*) AS n FROM records WHERE withdrawn IS NOT NULL').get() as { n: number }).n;
    const active = total - withdrawn;
    if (active === 0) throw new AdvisoryDbEmptyError(opts.dbDir, total > 0 ? `${total} record(s), all withdrawn` : `${skipped} unreadable record(s)`);
    const shards: IndexManifest['shards'] = newDict();
    let packageCount = 0;
    const perKey = db.prepare('SELECT key, COUNT(DISTINCT record_id) AS records, COUNT(DISTINCT name) AS packages FROM affected GROUP BY key ORDER BY key');
    for (const row of perKey.iterate() as Iterable<{ key: string; records: number; packages: number }>) {
      shards[row.key] = { file: 'index.sqlite', records: row.records, packages: row.packages };
      packageCount += row.packages;
    }
    const ids = db.prepare('SELECT id, hash FROM records ORDER BY id');
    const dbVersion = versionOfSorted((function* () {
      for (const row of ids.iterate() as Iterable<{ id: string; hash: string }>) yield [row.id, row.hash] as const;
    })());
    warnings.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const manifest: Omit<IndexManifest, 'records'> = {
      formatVersion: INDEX_FORMAT_VERSION,
      dbVersion,
      fingerprint: storeFingerprint(files, opts.limits),
      builtAt: (opts.now ?? (() => new Date()))().toISOString(),
      dbDir: opts.dbDir,
      sources: files.map((f) => ({ path: f.path, kind: f.kind, size: f.size })),
      counts: { records: active, withdrawn, skipped: opts.base ? warnings.length : skipped, packages: packageCount },
      shards,
      warnings,
    };
    const putMeta = db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
    for (const [key, value] of Object.entries(manifest)) putMeta.run(key, JSON.stringify(value));
    putMeta.run('readingKey', JSON.stringify(readingKey(opts.limits)));
    putMeta.run('sourceStamps', JSON.stringify(files.map((f) => ({ path: f.path, size: f.size, mtimeMs: f.mtimeMs }))));
    if (!opts.base) db.exec('ANALYZE');
    db.close();
    return openStore(opts.target).manifest;
  } finally {
    if (db.isOpen) db.close();
  }
}

/** The source fingerprint a store is keyed by: the files, the format and the reading limits. */
export function storeFingerprint(files: SourceFile[], limits: Partial<AdvisoryLimits> | undefined): string {
  return fingerprint(files, `${INDEX_FORMAT_VERSION} ${readingLimitsKey(limits)}`);
}

export interface StoreIndex extends AdvisoryIndex {
  readonly path: string;
  close(): void;
}

const MANIFEST_KEYS = ['formatVersion', 'dbVersion', 'fingerprint', 'builtAt', 'dbDir', 'sources', 'counts', 'shards', 'warnings'] as const;

/** Reads only the manifest header of a store: undefined when the file is not a usable store. */
export function readStoreHeader(path: string): Pick<IndexManifest, 'formatVersion' | 'fingerprint' | 'dbVersion'> | undefined {
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(path, { readOnly: true });
    const get = db.prepare('SELECT value FROM meta WHERE key = ?');
    const read = (key: string): string | undefined => {
      const row = get.get(key) as { value: string } | undefined;
      return row ? (JSON.parse(row.value) as string) : undefined;
    };
    const formatVersion = read('formatVersion');
    const fp = read('fingerprint');
    const dbVersion = read('dbVersion');
    return formatVersion && fp && dbVersion ? { formatVersion, fingerprint: fp, dbVersion } : undefined;
  } catch {
    return undefined;
  } finally {
    db?.close();
  }
}

/**
 * Opens a store read-only. The handle stays valid when the file is later replaced by a rename:
 * the reader keeps the file it opened.
 */
export function openStore(path: string): StoreIndex {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const meta = new Map<string, unknown>();
    for (const row of db.prepare('SELECT key, value FROM meta').all() as { key: string; value: string }[]) meta.set(row.key, JSON.parse(row.value));
    for (const key of MANIFEST_KEYS) if (!meta.has(key)) throw new Error(`advisory store ${path} has no ${key}: it was not completely written`);
    return storeIndex(path, db, meta);
  } catch (error) {
    db.close();
    throw error;
  }
}

interface RecordRow {
  id: string;
  hash: string;
  withdrawn: string | null;
  packages: string;
}

const toManifestRecord = (row: RecordRow): ManifestRecord => {
  const m: ManifestRecord = { hash: row.hash, packages: JSON.parse(row.packages) as [string, string][] };
  if (row.withdrawn !== null) m.withdrawn = row.withdrawn;
  return m;
};

/** A read-only view of the records table as a plain-looking object (ids are never prototype keys). */
function recordsView(one: (id: string) => ManifestRecord | undefined, ids: () => string[]): Record<string, ManifestRecord> {
  const target = Object.create(null) as Record<string, ManifestRecord>;
  return new Proxy(target, {
    get: (_t, key) => (typeof key === 'string' ? one(key) : undefined),
    has: (_t, key) => typeof key === 'string' && one(key) !== undefined,
    ownKeys: () => ids(),
    getOwnPropertyDescriptor: (_t, key) => {
      const value = typeof key === 'string' ? one(key) : undefined;
      return value ? { value, enumerable: true, configurable: true, writable: false } : undefined;
    },
    set: () => false,
    defineProperty: () => false,
    deleteProperty: () => false,
  });
}

/**
 * Lookup results kept per (key, name), at most this many affected entries in all: a long-running
 * service stays small, and a scan's repeated lookups (one package in several layers) are free.
 */
const LOOKUP_CACHE_ENTRIES = 20_000;

function storeIndex(path: string, db: DatabaseSync, meta: Map<string, unknown>): StoreIndex {
  const header = Object.fromEntries(MANIFEST_KEYS.map((k) => [k, meta.get(k)])) as Omit<IndexManifest, 'records'>;
  header.shards = toDict(header.shards);
  const byPackage = db.prepare('SELECT a.body AS affected, r.body AS record FROM affected a JOIN records r ON r.id = a.record_id WHERE a.key = ? AND a.name = ? ORDER BY a.record_id, a.seq');
  const recordBody = db.prepare('SELECT body FROM records WHERE id = ?');
  const manifestRow = db.prepare('SELECT id, hash, withdrawn, packages FROM records WHERE id = ?');
  const allIds = db.prepare('SELECT id FROM records ORDER BY id');
  const byAlias = db.prepare('SELECT DISTINCT record_id AS id FROM aliases WHERE alias = ?');
  const lookups = new Map<string, AffectedEntry[]>();
  let cachedEntries = 0;
  const manifestRecord = (id: string): ManifestRecord | undefined => {
    const row = manifestRow.get(id) as RecordRow | undefined;
    return row ? toManifestRecord(row) : undefined;
  };
  const manifest: IndexManifest = {
    ...header,
    records: recordsView(manifestRecord, () => (allIds.all() as { id: string }[]).map((r) => r.id)),
  };
  return {
    path,
    manifest,
    version: header.dbVersion,
    lookup(key, name) {
      const normalized = normalizeName(key, name);
      if (!Object.hasOwn(header.shards, key)) return [];
      const cacheKey = `${key}\u0000${normalized}`;
      const hit = lookups.get(cacheKey);
      if (hit) return hit;
      const records = new Map<string, IndexedRecord>();
      const entries: AffectedEntry[] = [];
      for (const row of byPackage.all(key, normalized) as { affected: string; record: string }[]) {
        const a = JSON.parse(row.affected) as IndexedAffected;
        let record = records.get(a.recordId);
        if (!record) {
          record = JSON.parse(row.record) as IndexedRecord;
          records.set(a.recordId, record);
        }
        entries.push({ ...a, record });
      }
      if (cachedEntries + entries.length > LOOKUP_CACHE_ENTRIES) {
        lookups.clear();
        cachedEntries = 0;
      }
      if (entries.length <= LOOKUP_CACHE_ENTRIES / 4) {
        lookups.set(cacheKey, entries);
        cachedEntries += entries.length;
      }
      return entries;
    },
    hasEcosystem: (key) => Object.hasOwn(header.shards, key),
    ecosystems: () => Object.keys(header.shards).sort(),
    record(id) {
      const row = recordBody.get(id) as { body: string | null } | undefined;
      return row?.body ? (JSON.parse(row.body) as IndexedRecord) : undefined;
    },
    recordIds(idOrAlias) {
      const ids = new Set<string>();
      if (manifestRow.get(idOrAlias)) ids.add(idOrAlias);
      // aliases rows exist for active records only
      for (const row of byAlias.all(idOrAlias) as { id: string }[]) ids.add(row.id);
      return [...ids].sort();
    },
    manifestRecord,
    *manifestRecords() {
      // A statement of its own: two walks of one store may run side by side (a diff of it with itself).
      const rows = db.prepare('SELECT id, hash, withdrawn, packages FROM records ORDER BY id');
      for (const row of rows.iterate() as Iterable<RecordRow>) yield [row.id, toManifestRecord(row)];
    },
    close: () => {
      if (db.isOpen) db.close();
    },
  };
}
