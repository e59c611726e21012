// Opening the index: from the cache under --cache-dir when the db folder has not changed since it
// was built (same file list, sizes and mtimes), else by building it and replacing the cache
// atomically. Shards are read lazily, so a scan only parses the ecosystems its image needs.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { AnalyzerWarning } from '@strata/model';
import { buildIndex, type BuildOptions, type BuiltIndex } from './build.js';
import { readingLimitsKey, type AdvisoryLimits } from './limits.js';
import { ownEntry, toDict } from './dict.js';
import { AdvisoryDbEmptyError } from './errors.js';
import { normalizePackageName } from './ecosystems.js';
import type { AdvisoryIndex, AffectedEntry, IndexedRecord, IndexManifest, Shard } from './model.js';
import { INDEX_FORMAT_VERSION } from './model.js';
import { fingerprint, listSources } from './source.js';

export interface OpenIndexOptions {
  dbDir: string;
  /** where the built index is cached; without it the index is built in memory every time */
  cacheDir?: string;
  now?: () => Date;
  /**
   * Load every shard now. Long-running services want this: an index whose shards are read lazily
   * breaks when another process rebuilds the shared cache under it.
   */
  preload?: boolean;
  /** bounds on record and zip sizes (DEFAULT_ADVISORY_LIMITS where unset) */
  limits?: Partial<AdvisoryLimits>;
}

export interface OpenIndexResult {
  index: AdvisoryIndex;
  /** true when the index was (re)built from the source rather than read from the cache */
  rebuilt: boolean;
  /** the manifest of the cache that a rebuild replaced: diff it against index.manifest */
  previous?: IndexManifest;
  /** broken records skipped (from the build, kept in the manifest) and cache problems */
  warnings: AnalyzerWarning[];
}

interface StoredShard extends Shard {
  dbVersion: string;
}

/** Turns stored shards into lookups; `load` supplies a shard the first time its key is asked for. */
function makeIndex(manifest: IndexManifest, load: (key: string) => Shard | undefined): AdvisoryIndex & { preload(keys?: string[]): void } {
  const loaded = new Map<string, Map<string, AffectedEntry[]>>();
  const recordsByShard = new Map<string, Record<string, IndexedRecord>>();
  const ensure = (key: string): Map<string, AffectedEntry[]> | undefined => {
    const have = loaded.get(key);
    if (have) return have;
    if (!ownEntry(manifest.shards, key)) return undefined;
    const shard = load(key);
    if (!shard) return undefined;
    const byName = new Map<string, AffectedEntry[]>();
    for (const [name, list] of Object.entries(shard.packages)) {
      byName.set(
        name,
        list.map((a) => ({ ...a, record: ownEntry(shard.records, a.recordId) as IndexedRecord })),
      );
    }
    loaded.set(key, byName);
    recordsByShard.set(key, shard.records);
    return byName;
  };
  let aliases: Map<string, string[]> | undefined;
  const ecosystemOfRecord = (id: string): string | undefined => {
    const pkgs = ownEntry(manifest.records, id)?.packages ?? [];
    return pkgs.find(([key]) => ownEntry(manifest.shards, key))?.[0];
  };
  return {
    manifest,
    version: manifest.dbVersion,
    lookup(ecosystemKey, name) {
      const shard = ensure(ecosystemKey);
      if (!shard) return [];
      // Keys carry the ecosystem only; PEP 503 normalisation depends on it being PyPI.
      const normalized = ecosystemKey === 'pypi' ? normalizePackageName('PyPI', name) : name;
      return shard.get(normalized) ?? [];
    },
    hasEcosystem: (key) => ownEntry(manifest.shards, key) !== undefined,
    ecosystems: () => Object.keys(manifest.shards).sort(),
    record(id) {
      const key = ecosystemOfRecord(id);
      if (!key) return undefined;
      ensure(key);
      return ownEntry(recordsByShard.get(key), id);
    },
    recordIds(idOrAlias) {
      const ids = new Set<string>();
      if (ownEntry(manifest.records, idOrAlias)) ids.add(idOrAlias);
      if (!aliases) {
        // Built on first use: it needs every shard (a CVE may be named by records of any ecosystem).
        aliases = new Map();
        for (const key of Object.keys(manifest.shards)) {
          ensure(key);
          for (const record of Object.values(recordsByShard.get(key) ?? {})) {
            for (const alias of new Set([...record.aliases, ...record.upstream, ...record.cves])) {
              const list = aliases.get(alias);
              if (list) list.push(record.id);
              else aliases.set(alias, [record.id]);
            }
          }
        }
      }
      for (const id of aliases.get(idOrAlias) ?? []) if (!ownEntry(manifest.records, id)?.withdrawn) ids.add(id);
      return [...ids].sort();
    },
    preload(keys) {
      for (const key of keys ?? Object.keys(manifest.shards)) ensure(key);
    },
  };
}

/** An index over shards already in memory (a fresh build). */
export function indexFromBuild(built: BuiltIndex): AdvisoryIndex & { preload(keys?: string[]): void } {
  return makeIndex(built.manifest, (key) => built.shards.get(key));
}

function indexFromCache(dir: string, manifest: IndexManifest): AdvisoryIndex & { preload(keys?: string[]): void } {
  return makeIndex(manifest, (key) => {
    const info = ownEntry(manifest.shards, key);
    if (!info) return undefined;
    const shard = JSON.parse(readFileSync(join(dir, info.file), 'utf8')) as StoredShard;
    if (shard.dbVersion !== manifest.dbVersion || shard.key !== key) {
      throw new Error(`advisory index cache ${dir} changed while in use (shard ${info.file}); run the command again`);
    }
    return { ...shard, records: toDict(shard.records), packages: toDict(shard.packages) };
  });
}

/** The cache folder for one db folder. */
export function indexCacheDir(cacheDir: string, dbDir: string): string {
  return join(cacheDir, 'advisories', createHash('sha256').update(resolve(dbDir)).digest('hex').slice(0, 16));
}

async function readManifest(dir: string): Promise<IndexManifest | undefined> {
  try {
    const m = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as IndexManifest;
    if (!m || typeof m.fingerprint !== 'string' || typeof m.dbVersion !== 'string') return undefined;
    return { ...m, shards: toDict(m.shards), records: toDict(m.records) };
  } catch {
    return undefined;
  }
}

/** Writes the index next to dir, then swaps it in with renames, so readers never see half a cache. */
async function writeCache(dir: string, built: BuiltIndex): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await mkdir(tmp, { recursive: true });
  try {
    for (const [key, info] of Object.entries(built.manifest.shards)) {
      const shard = built.shards.get(key) as Shard;
      const stored: StoredShard = { dbVersion: built.manifest.dbVersion, ...shard };
      await writeFile(join(tmp, info.file), JSON.stringify(stored));
    }
    // The manifest goes last: a folder with a manifest is complete.
    await writeFile(join(tmp, 'manifest.json'), JSON.stringify(built.manifest));
    const old = `${dir}.old-${process.pid}-${randomBytes(4).toString('hex')}`;
    await rename(dir, old).catch(() => undefined);
    await rename(tmp, dir);
    await rm(old, { recursive: true, force: true });
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/**
 * Opens the advisory index for dbDir. Throws AdvisoryDbEmptyError when the folder is missing or
 * holds no usable record. Never fails because of the cache: an unwritable cache is a warning.
 */
export function openAdvisoryIndex(opts: OpenIndexOptions): Promise<OpenIndexResult> {
  return openIndex(opts, false);
}

async function openIndex(opts: OpenIndexOptions, retried: boolean): Promise<OpenIndexResult> {
  const dbDir = resolve(opts.dbDir);
  const files = await listSources(dbDir, opts.cacheDir ? [opts.cacheDir] : []).catch(() => []);
  if (files.length === 0) throw new AdvisoryDbEmptyError(dbDir);
  const buildOpts: BuildOptions = { dbDir, files, ...(opts.now ? { now: opts.now } : {}), ...(opts.limits ? { limits: opts.limits } : {}) };
  if (!opts.cacheDir) {
    const built = await buildIndex(buildOpts);
    return { index: indexFromBuild(built), rebuilt: true, warnings: [...built.manifest.warnings] };
  }
  const dir = indexCacheDir(opts.cacheDir, dbDir);
  const cached = await readManifest(dir);
  if (cached && cached.formatVersion === INDEX_FORMAT_VERSION && cached.fingerprint === fingerprint(files, `${INDEX_FORMAT_VERSION} ${readingLimitsKey(opts.limits)}`)) {
    const index = indexFromCache(dir, cached);
    if (opts.preload) {
      try {
        index.preload();
      } catch (error) {
        // Rebuilt by another process between the manifest and the shards: open what is there now.
        if (retried) throw error;
        return openIndex(opts, true);
      }
    }
    return { index, rebuilt: false, warnings: [...cached.warnings] };
  }
  const built = await buildIndex(buildOpts);
  const warnings = [...built.manifest.warnings];
  try {
    await mkdir(join(opts.cacheDir, 'advisories'), { recursive: true });
    await writeCache(dir, built);
  } catch (e) {
    warnings.push({ analyzer: 'advisories', path: dir, message: `could not write the index cache: ${(e as Error).message}` });
  }
  const result: OpenIndexResult = { index: indexFromBuild(built), rebuilt: true, warnings };
  if (cached) result.previous = cached;
  return result;
}
