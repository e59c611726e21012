// The on-disk advisory store: one SQLite file (node:sqlite, built into Node 24) holding the cut
// records, their affected entries keyed by (ecosystem key, normalised package name), the alias
// table and the manifest. It is built by streaming the sources, one record at a time, into a new
// file; opened read-only, only the manifest's scalar fields are read up front and every lookup is
// an indexed query, so opening costs milliseconds and a scan reads only the packages it has.
import { createHash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { AnalyzerWarning } from '@strata/model';
import { describeError } from '@strata/errors';
import { affectedBound, cutAffected, cutRecord } from './build.js';
import { comparator, type VersionScheme } from '@strata/versions';
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
CREATE TABLE aliases (alias TEXT NOT NULL, record_id TEXT NOT NULL, token INTEGER NOT NULL);
CREATE TABLE packages (key TEXT NOT NULL, name TEXT NOT NULL, PRIMARY KEY (key, name)) WITHOUT ROWID;
`;

/** Records per write transaction while building. */
const BATCH = 5_000;

/**
 * The affected rows, clustered by package: a lookup reads one contiguous run of pages instead of a
 * random page per entry (3x less CPU for the lookups of a Debian image). The token is part of the
 * key so that a record's replaced copy and its new one can stand side by side until the old rows
 * are deleted. A full build loads the rows into a temp table and copies them in key order.
 * `bound` is the entry's affectedBound as "<scheme> <sort key>" (null when it has none, or its
 * scheme no sort key): indexed, so that a lookup by installed version range-scans past the entries
 * fixed at or below it without reading them. `packages` lists the (key, name) pairs that have
 * rows, so that a huge inventory's names are checked in one pass over a key's list.
 */
const AFFECTED_COLUMNS =
  'key TEXT NOT NULL, name TEXT NOT NULL, record_id TEXT NOT NULL, token INTEGER NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL, bound TEXT';
const AFFECTED = `CREATE TABLE affected (${AFFECTED_COLUMNS}, PRIMARY KEY (key, name, record_id, token, seq)) WITHOUT ROWID;`;

/** The store's other indexes; created once at the end of a full build (sorting once beats keeping them up to date). */
const INDEXES = `
CREATE INDEX aliases_by_alias ON aliases (alias);
CREATE INDEX records_by_id_hash ON records (id, hash);
CREATE INDEX affected_by_bound ON affected (key, name, bound);
`;

/**
 * An entry's affectedBound as the store keeps it: "<scheme> <sort key>", or null. Every version of
 * its ranges must have a key too: keyed versions are totally ordered by their keys, so "at or above
 * the bound" implies "at or above each range's fix" whatever the scheme does with odd strings.
 */
function boundKey(a: IndexedAffected): string | null {
  const bound = affectedBound(a);
  if (!bound) return null;
  const sortKey = comparator(bound.scheme).sortKey;
  if (!sortKey) return null;
  for (const range of a.ranges) {
    for (const e of range.events) {
      const v = e.introduced ?? e.fixed ?? e.last_affected ?? e.limit;
      if (v !== undefined && v !== '0' && v !== '*' && sortKey(v) === undefined) return null;
    }
  }
  const key = sortKey(bound.version);
  return key === undefined ? null : `${bound.scheme} ${key}`;
}

interface PreviousRow {
  token: number;
  modified: string;
  origin: string;
  packages: string;
  body: string | null;
}

/**
 * Builds the store for dbDir into opts.target. Memory stays bounded whatever the record count:
 * each record is written as it is read. A duplicate id (a folder and a dump, or an update's
 * record) replaces the older copy: the rows of the copy it replaces are noted by (package, id,
 * token) and deleted through the indexes at the end, so an update costs what it changes.
 * Throws AdvisoryDbEmptyError when no active record is left.
 */
export async function buildStore(opts: BuildStoreOptions): Promise<IndexManifest> {
  const files = opts.files ?? (await listSources(opts.dbDir).catch(() => []));
  if (files.length === 0) throw new AdvisoryDbEmptyError(opts.dbDir);
  // A copy-on-write clone where the file system has one, else a plain copy.
  if (opts.base) await copyFile(opts.base.path, opts.target, fsConstants.COPYFILE_FICLONE);
  const db = new DatabaseSync(opts.target);
  try {
    // An 8 MB page cache: the build appends, and a bigger cache only grew the RSS.
    db.exec('PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -8000; PRAGMA temp_store = FILE;');
    if (!opts.base) db.exec(`${SCHEMA} CREATE TEMP TABLE affected_load (${AFFECTED_COLUMNS});`);
    db.exec(
      'CREATE TEMP TABLE stale_affected (key TEXT NOT NULL, name TEXT NOT NULL, record_id TEXT NOT NULL, token INTEGER NOT NULL); CREATE TEMP TABLE stale_aliases (alias TEXT NOT NULL, record_id TEXT NOT NULL, token INTEGER NOT NULL);',
    );
    const rewritten = new Set(opts.base?.changed.map((f) => f.path));
    const existing = db.prepare('SELECT token, modified, origin, packages, body FROM records WHERE id = ?');
    const putRecord = db.prepare(
      'INSERT OR REPLACE INTO records (id, token, modified, origin, hash, withdrawn, packages, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const putAffected = db.prepare(
      `INSERT INTO ${opts.base ? 'affected' : 'affected_load'} (key, name, record_id, seq, token, body, bound) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    const putAlias = db.prepare('INSERT INTO aliases (alias, record_id, token) VALUES (?, ?, ?)');
    const staleAffected = db.prepare('INSERT INTO stale_affected (key, name, record_id, token) VALUES (?, ?, ?, ?)');
    const staleAlias = db.prepare('INSERT INTO stale_aliases (alias, record_id, token) VALUES (?, ?, ?)');
    // Record counts kept as records come and go; on a base, the (package, record) pairs a change
    // touched are kept too, so the per-ecosystem counts are corrected instead of counted again.
    const baseCounts = opts.base
      ? (JSON.parse((db.prepare("SELECT value FROM meta WHERE key = 'counts'").get() as { value: string }).value) as IndexManifest['counts'])
      : undefined;
    let total = baseCounts ? baseCounts.records + baseCounts.withdrawn : 0;
    let withdrawnCount = baseCounts?.withdrawn ?? 0;
    const touched = new Map<string, Map<string, Set<string>>>(); // record id -> key -> names
    const touch = (id: string, key: string, name: string): void => {
      if (!opts.base) return;
      let keys = touched.get(id);
      if (!keys) touched.set(id, (keys = new Map()));
      let names = keys.get(key);
      if (!names) keys.set(key, (names = new Set()));
      names.add(name);
    };
    /** Notes the rows of a record's copy that is being replaced or dropped. */
    const noteStale = (id: string, row: PreviousRow): void => {
      total--;
      if (row.body === null) withdrawnCount--;
      for (const [key, name] of JSON.parse(row.packages) as [string, string][]) {
        staleAffected.run(key, name, id, row.token);
        touch(id, key, name);
      }
      if (row.body === null) return; // withdrawn: it has no alias rows
      const body = JSON.parse(row.body) as IndexedRecord;
      for (const alias of new Set([...body.aliases, ...body.upstream, ...body.cves])) staleAlias.run(alias, id, row.token);
    };
    // On a base, the warnings of files not read again stay; tokens go on from the base's.
    const baseWarnings = opts.base
      ? (JSON.parse((db.prepare("SELECT value FROM meta WHERE key = 'warnings'").get() as { value: string }).value) as AnalyzerWarning[]).filter(
          (w) => !rewritten.has(originFile(w.path)),
        )
      : [];
    const warnings: AnalyzerWarning[] = [...baseWarnings];
    let skipped = 0;
    const baseToken = opts.base ? ((db.prepare('SELECT MAX(token) AS t FROM records').get() as { t: number | null }).t ?? 0) : 0;
    let token = baseToken;
    let inBatch = 0;
    let duplicates = 0;
    const addRecord = (origin: string, raw: OsvRecord): void => {
      const previous = existing.get(raw.id) as PreviousRow | undefined;
      if (previous && rewritten.has(originFile(previous.origin))) {
        // the file it came from was rewritten: its new content replaces it
      } else if (previous) {
        // The same id in two sources: keep the newer, else the first by origin.
        const newer = raw.modified > previous.modified || (raw.modified === previous.modified && origin < previous.origin);
        if (!newer) return;
      }
      if (previous) {
        duplicates++;
        noteStale(raw.id, previous);
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
      total++;
      if (withdrawn) withdrawnCount++;
      for (const [key, name] of packages.values()) touch(raw.id, key, name);
      putRecord.run(raw.id, token, raw.modified, origin, hash, withdrawn, JSON.stringify([...packages.values()]), record ? JSON.stringify(record) : null);
      if (record) {
        affected.forEach((a, seq) => {
          putAffected.run(ecosystemKey(a.ecosystem), normalizePackageName(a.ecosystem, a.name), raw.id, seq, token, JSON.stringify(a), boundKey(a));
        });
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
          warnings.push({ analyzer: 'advisories', path: origin, message: `OSV record skipped: ${describeError(e)}` });
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
      const stamps = new Set(
        (JSON.parse((db.prepare("SELECT value FROM meta WHERE key = 'sourceStamps'").get() as { value: string }).value) as { path: string }[]).map(
          (x) => x.path,
        ),
      );
      const before = [...rewritten].filter((p) => stamps.has(p));
      if (before.length > 0) {
        db.exec('BEGIN; CREATE TEMP TABLE rewritten (path TEXT PRIMARY KEY)');
        const put = db.prepare('INSERT OR IGNORE INTO rewritten (path) VALUES (?)');
        for (const p of before) put.run(p);
        const gone = db.prepare(
          "SELECT id, token, modified, origin, packages, body FROM records WHERE token <= ? AND (origin IN (SELECT path FROM rewritten) OR (substr(origin, -1) = ']' AND rtrim(rtrim(origin, ']0123456789'), '[') IN (SELECT path FROM rewritten)))",
        );
        const drop = db.prepare('DELETE FROM records WHERE id = ?');
        for (const row of gone.all(baseToken) as unknown as (PreviousRow & { id: string })[]) {
          noteStale(row.id, row);
          drop.run(row.id);
          duplicates++;
        }
        db.exec('COMMIT');
      }
    }
    if (!opts.base)
      db.exec(
        `${AFFECTED} INSERT INTO affected SELECT * FROM affected_load ORDER BY key, name, record_id, token, seq; DROP TABLE affected_load; INSERT INTO packages SELECT DISTINCT key, name FROM affected; ${INDEXES}`,
      );
    // On a base: whether each touched (key, name) and (key, record) had rows before the change
    // (tokens up to the base's) and has rows after it; the differences correct the base's counts.
    const hasPackageRows = db.prepare('SELECT 1 FROM affected WHERE key = ? AND name = ? AND token <= ? LIMIT 1');
    const hasRecordRows = db.prepare('SELECT 1 FROM affected WHERE key = ? AND name = ? AND record_id = ? AND token <= ? LIMIT 1');
    const presence = (maxToken: number): { packages: Set<string>; records: Set<string> } => {
      const packages = new Set<string>();
      const records = new Set<string>();
      for (const [id, keys] of touched) {
        for (const [key, names] of keys) {
          for (const name of names) {
            const pair = `${key}\u0000${name}`;
            if (!packages.has(pair) && hasPackageRows.get(key, name, maxToken)) packages.add(pair);
            if (!records.has(`${key}\u0000${id}`) && hasRecordRows.get(key, name, id, maxToken)) records.add(`${key}\u0000${id}`);
          }
        }
      }
      return { packages, records };
    };
    const before = opts.base ? presence(baseToken) : undefined;
    if (duplicates > 0) {
      // The replaced copies' rows, found through the indexes by (package or alias, id, old token).
      const dropRows = db.prepare('DELETE FROM affected WHERE key = ? AND name = ? AND record_id = ? AND token = ?');
      db.exec('BEGIN');
      const stale = db.prepare('SELECT key, name, record_id AS id, token FROM stale_affected');
      for (const row of stale.iterate() as Iterable<{ key: string; name: string; id: string; token: number }>)
        dropRows.run(row.key, row.name, row.id, row.token);
      db.exec(`DELETE FROM aliases WHERE rowid IN (SELECT a.rowid FROM stale_aliases s JOIN aliases a ON a.alias = s.alias WHERE a.record_id = s.record_id AND a.token = s.token);
        COMMIT;`);
    }
    if (opts.base) {
      // The package list follows the rows of every (key, name) the change touched.
      const hasRows = db.prepare('SELECT 1 FROM affected WHERE key = ? AND name = ? LIMIT 1');
      const addPackage = db.prepare('INSERT OR IGNORE INTO packages (key, name) VALUES (?, ?)');
      const dropPackage = db.prepare('DELETE FROM packages WHERE key = ? AND name = ?');
      const done = new Set<string>();
      db.exec('BEGIN');
      for (const keys of touched.values()) {
        for (const [key, names] of keys) {
          for (const name of names) {
            const pair = `${key}\u0000${name}`;
            if (done.has(pair)) continue;
            done.add(pair);
            if (hasRows.get(key, name)) addPackage.run(key, name);
            else dropPackage.run(key, name);
          }
        }
      }
      db.exec('COMMIT');
    }

    const withdrawn = withdrawnCount;
    const active = total - withdrawn;
    if (active === 0) throw new AdvisoryDbEmptyError(opts.dbDir, total > 0 ? `${total} record(s), all withdrawn` : `${skipped} unreadable record(s)`);
    const shards: IndexManifest['shards'] = newDict();
    if (before) {
      const after = presence(Number.MAX_SAFE_INTEGER);
      const base = toDict(JSON.parse((db.prepare("SELECT value FROM meta WHERE key = 'shards'").get() as { value: string }).value) as IndexManifest['shards']);
      for (const [key, shard] of Object.entries(base)) shards[key] = { ...shard };
      const adjust = (was: Set<string>, now: Set<string>, field: 'records' | 'packages'): void => {
        const delta = (item: string, by: number): void => {
          const key = item.slice(0, item.indexOf('\u0000'));
          const shard = Object.hasOwn(shards, key)
            ? (shards[key] as IndexManifest['shards'][string])
            : (shards[key] = { file: 'index.sqlite', records: 0, packages: 0 });
          shard[field] += by;
        };
        for (const item of was) if (!now.has(item)) delta(item, -1);
        for (const item of now) if (!was.has(item)) delta(item, 1);
      };
      adjust(before.records, after.records, 'records');
      adjust(before.packages, after.packages, 'packages');
      for (const key of Object.keys(shards).sort()) {
        const shard = shards[key] as IndexManifest['shards'][string];
        delete shards[key];
        if (shard.records > 0) shards[key] = shard; // re-added in key order, as a full build lists them
      }
    } else {
      const perKey = db.prepare('SELECT key, COUNT(DISTINCT record_id) AS records, COUNT(DISTINCT name) AS packages FROM affected GROUP BY key ORDER BY key');
      for (const row of perKey.iterate() as Iterable<{ key: string; records: number; packages: number }>)
        shards[row.key] = { file: 'index.sqlite', records: row.records, packages: row.packages };
    }
    let packageCount = 0;
    for (const shard of Object.values(shards)) packageCount += shard.packages;
    const dbVersion = storeVersion(db);
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
    // Statistics from a sample of each index: the planner needs their shape, not exact counts.
    if (!opts.base) db.exec('PRAGMA analysis_limit = 1000; ANALYZE;');
    db.close();
    return openStore(opts.target).manifest;
  } finally {
    if (db.isOpen) db.close();
  }
}

/**
 * versionOfSorted over the store's (id, hash) pairs, read through records_by_id_hash (it holds both
 * columns, so no record body is read) and joined by SQLite 10,000 lines at a time: a row at a time
 * cost five times as long.
 */
function storeVersion(db: DatabaseSync): string {
  const chunk = db.prepare(
    "SELECT group_concat(id || char(9) || hash || char(10), '' ORDER BY id) AS lines, MAX(id) AS last, COUNT(*) AS n FROM (SELECT id, hash FROM records INDEXED BY records_by_id_hash WHERE id > ? ORDER BY id LIMIT 10000)",
  );
  const h = createHash('sha256');
  let last = '';
  for (;;) {
    const row = chunk.get(last) as { lines: string | null; last: string | null; n: number };
    if (row.n === 0 || row.lines === null || row.last === null) break;
    h.update(row.lines);
    last = row.last;
  }
  return `sha256:${h.digest('hex')}`;
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
 * Lookup results kept per (key, name) (and installed version, for lookupAffecting), weighed by their
 * affected entries plus one: a long-running service and a scan of a huge inventory stay small, and
 * a scan's repeated lookups (one package in several layers) are free.
 */
const LOOKUP_CACHE_WEIGHT = 20_000;

/**
 * A map that keeps about `budget` weight in two generations: entries go into the young one, a hit
 * in the old one moves into the young one, and when the young one is full the old one is dropped
 * whole. Every operation is O(1), with no per-entry eviction (an LRU's delete-and-reinsert on every
 * hit, and its eviction walk past deleted slots, cost 0.76 s over 150k misses).
 */
class LookupCache<V extends readonly unknown[]> {
  private young = new Map<string, V>();
  private old = new Map<string, V>();
  private weight = 0;
  constructor(private readonly budget: number) {}
  get(key: string): V | undefined {
    const hit = this.young.get(key);
    if (hit !== undefined) return hit;
    const aged = this.old.get(key);
    if (aged !== undefined) this.set(key, aged);
    return aged;
  }
  set(key: string, value: V): void {
    const w = value.length + 1;
    if (w > this.budget / 4) return; // one heavy package would push everything else out
    if (this.weight + w > this.budget / 2) {
      this.old = this.young;
      this.young = new Map();
      this.weight = 0;
    }
    this.young.set(key, value);
    this.weight += w;
  }
}

/** A record read from the store the first time one of its entries' `record` is read. */
interface LazyRecord {
  id: string;
  value?: IndexedRecord;
}

/**
 * The entry with its record as an own, enumerable property read on demand: most entries of a
 * package do not match the installed version, and their records (three quarters of the bytes,
 * each a random read) are then never read. The parsed object is this lookup's own: completed in
 * place, not copied.
 */
function withRecord(a: IndexedAffected, lazy: LazyRecord, read: (id: string) => IndexedRecord): AffectedEntry {
  return Object.defineProperty(a, 'record', {
    enumerable: true,
    get: (): IndexedRecord => (lazy.value ??= read(lazy.id)),
  }) as AffectedEntry;
}

function storeIndex(path: string, db: DatabaseSync, meta: Map<string, unknown>): StoreIndex {
  const header = Object.fromEntries(MANIFEST_KEYS.map((k) => [k, meta.get(k)])) as Omit<IndexManifest, 'records'>;
  header.shards = toDict(header.shards);
  // The table's own order (a record has one token once built): no sort.
  const byPackage = db.prepare('SELECT body AS affected FROM affected WHERE key = ? AND name = ? ORDER BY record_id, token, seq');
  const recordBody = db.prepare('SELECT body FROM records WHERE id = ?');
  const readRecord = (id: string): IndexedRecord => {
    const row = recordBody.get(id) as { body: string | null } | undefined;
    // affected rows exist for active records only, and a store file never changes once built
    if (!row?.body) throw new Error(`advisory store ${path}: record ${id} has entries but no body`);
    return JSON.parse(row.body) as IndexedRecord;
  };
  const manifestRow = db.prepare('SELECT id, hash, withdrawn, packages FROM records WHERE id = ?');
  const allIds = db.prepare('SELECT id FROM records ORDER BY id');
  const byAlias = db.prepare('SELECT DISTINCT record_id AS id FROM aliases WHERE alias = ?');
  // Prepared on first use: a store of an older format still opens for its manifest (the diff of a rebuild).
  const prepared = (sql: string): (() => StatementSync) => {
    let statement: StatementSync | undefined;
    return () => (statement ??= db.prepare(sql));
  };
  // A bound of the package (its scheme), then its rows less those bounded at or below the
  // installed version in that scheme: three ranges of affected_by_bound, in the table's order.
  const anyBound = prepared('SELECT bound FROM affected WHERE key = ? AND name = ? AND bound IS NOT NULL LIMIT 1');
  const byPackageAbove = prepared(
    `SELECT record_id, token, seq, body AS affected FROM affected WHERE key = ?1 AND name = ?2 AND bound IS NULL
     UNION ALL SELECT record_id, token, seq, body AS affected FROM affected WHERE key = ?1 AND name = ?2 AND bound < ?3
     UNION ALL SELECT record_id, token, seq, body AS affected FROM affected WHERE key = ?1 AND name = ?2 AND bound > ?4
     ORDER BY 1, 2, 3`,
  );
  const hasPackage = prepared('SELECT 1 FROM packages WHERE key = ? AND name = ?');
  const packageNames = prepared('SELECT name FROM packages WHERE key = ?');
  const lookups = new LookupCache<AffectedEntry[]>(LOOKUP_CACHE_WEIGHT);
  const manifestRecord = (id: string): ManifestRecord | undefined => {
    const row = manifestRow.get(id) as RecordRow | undefined;
    return row ? toManifestRecord(row) : undefined;
  };
  const manifest: IndexManifest = {
    ...header,
    records: recordsView(manifestRecord, () => (allIds.all() as { id: string }[]).map((r) => r.id)),
  };
  /** The entries of rows read a row at a time: a package with thousands never has all its rows as strings at once. */
  const entriesOf = (rows: Iterable<{ affected: string }>): AffectedEntry[] => {
    const records = new Map<string, LazyRecord>();
    const entries: AffectedEntry[] = [];
    for (const row of rows) {
      const a = JSON.parse(row.affected) as IndexedAffected;
      let record = records.get(a.recordId);
      if (!record) {
        record = { id: a.recordId };
        records.set(a.recordId, record);
      }
      entries.push(withRecord(a, record, readRecord));
    }
    return entries;
  };
  const lookup = (key: string, name: string): AffectedEntry[] => {
    const normalized = normalizeName(key, name);
    if (!Object.hasOwn(header.shards, key)) return [];
    const cacheKey = `${key}\u0000${normalized}`;
    const hit = lookups.get(cacheKey);
    if (hit) return hit;
    const entries = entriesOf(byPackage.iterate(key, normalized) as Iterable<{ affected: string }>);
    lookups.set(cacheKey, entries);
    return entries;
  };
  return {
    path,
    manifest,
    version: header.dbVersion,
    lookup,
    lookupAffecting(key, name, version) {
      const normalized = normalizeName(key, name);
      if (!Object.hasOwn(header.shards, key)) return [];
      const cacheKey = `${key}\u0000${normalized}\u0000${version}`;
      const hit = lookups.get(cacheKey);
      if (hit) return hit;
      const some = anyBound().get(key, normalized) as { bound: string } | undefined;
      if (!some) return lookup(key, name); // nothing to leave out
      // Rows bounded in another scheme (a package whose entries use two) are read, and evaluated.
      const scheme = some.bound.slice(0, some.bound.indexOf(' '));
      let installed: string | undefined;
      try {
        installed = comparator(scheme as VersionScheme).sortKey?.(version);
      } catch {
        installed = undefined;
      }
      // Not valid in the scheme: the full evaluation decides (and warns), as it always did.
      if (installed === undefined) return undefined;
      const entries = entriesOf(byPackageAbove().iterate(key, normalized, `${scheme} `, `${scheme} ${installed}`) as Iterable<{ affected: string }>);
      lookups.set(cacheKey, entries);
      return entries;
    },
    packagesIn(key, names) {
      const out = new Set<string>();
      if (!Object.hasOwn(header.shards, key)) return out;
      const given = names instanceof Set ? (names as Set<string>) : new Set(names);
      // One pass over the key's list when the names are a fair share of it, else one read each.
      if (given.size * 4 >= (header.shards[key] as IndexManifest['shards'][string]).packages) {
        const have = new Set<string>();
        for (const row of packageNames().iterate(key) as Iterable<{ name: string }>) have.add(row.name);
        for (const name of given) if (have.has(normalizeName(key, name))) out.add(name);
      } else {
        for (const name of given) if (hasPackage().get(key, normalizeName(key, name))) out.add(name);
      }
      return out;
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
