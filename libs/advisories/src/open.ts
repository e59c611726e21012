// Opening the index: the store under --cache-dir when the db folder has not changed since it was
// built (same file list, sizes and mtimes), else a new store built beside it and renamed into
// place. Readers that opened the old file keep it (their handle outlives the rename), so a rebuild
// never breaks a running scan or service. One read-only instance per store file and process.
import { createHash, randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { AnalyzerWarning } from '@strata/model';
import { describeError } from '@strata/errors';
import { AdvisoryDbEmptyError } from './errors.js';
import type { AdvisoryIndex, IndexManifest } from './model.js';
import { INDEX_FORMAT_VERSION } from './model.js';
import type { AdvisoryLimits } from './limits.js';
import { listSources, type SourceFile } from './source.js';
import { buildStore, incrementalSources, openStore, readStoreHeader, storeFingerprint, type BuildStoreOptions, type StoreIndex } from './store.js';

export interface OpenIndexOptions {
  dbDir: string;
  /** where the built store is kept; without it the store is built in a temp file every time */
  cacheDir?: string;
  now?: () => Date;
  /** Kept for callers of the JSON-shard index; the store needs no preloading (its handle survives rebuilds). */
  preload?: boolean;
  /** bounds on record and zip sizes (DEFAULT_ADVISORY_LIMITS where unset) */
  limits?: Partial<AdvisoryLimits>;
}

export interface OpenIndexResult {
  index: AdvisoryIndex;
  /** true when the index was (re)built from the source rather than read from the cache */
  rebuilt: boolean;
  /** the manifest of the store that a rebuild replaced (still readable): diff it against index.manifest */
  previous?: IndexManifest;
  /** broken records skipped (from the build, kept in the manifest) and cache problems */
  warnings: AnalyzerWarning[];
}

export const STORE_FILE = 'index.sqlite';

type BuildOpts = Omit<BuildStoreOptions, 'target'> & { files: SourceFile[] };

/** The cache folder for one db folder. */
export function indexCacheDir(cacheDir: string, dbDir: string): string {
  return join(cacheDir, 'advisories', createHash('sha256').update(resolve(dbDir)).digest('hex').slice(0, 16));
}

/** Open stores of this process, by path; an entry is reused while the file is the same inode. */
const openStores = new Map<string, { ino: number; dev: number; index: StoreIndex }>();

function openShared(path: string): StoreIndex {
  const st = statSync(path);
  const have = openStores.get(path);
  if (have && have.ino === st.ino && have.dev === st.dev) return have.index;
  const index = openStore(path);
  // The superseded handle is not closed: a scan may still be reading it.
  openStores.set(path, { ino: st.ino, dev: st.dev, index });
  return index;
}

/** Builds a store from dbDir in a temp file next to `target`, then renames it into place. */
async function buildInto(dir: string, opts: BuildOpts): Promise<void> {
  const tmp = join(dir, `.${STORE_FILE}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const current = join(dir, STORE_FILE);
  // Only record files added or rewritten since the current store (an incremental update): they
  // are applied to a copy of it instead of reading every dump again.
  const changed = incrementalSources(current, opts.files, opts.limits);
  try {
    await buildStore({ ...opts, target: tmp, ...(changed ? { base: { path: current, changed } } : {}) });
    await rename(tmp, join(dir, STORE_FILE));
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/**
 * Opens the advisory index for dbDir. Throws AdvisoryDbEmptyError when the folder is missing or
 * holds no usable record. Never fails because of the cache: an unwritable cache is a warning.
 */
export async function openAdvisoryIndex(opts: OpenIndexOptions): Promise<OpenIndexResult> {
  const dbDir = resolve(opts.dbDir);
  const files = await listSources(dbDir, opts.cacheDir ? [opts.cacheDir] : []).catch(() => []);
  if (files.length === 0) throw new AdvisoryDbEmptyError(dbDir);
  const buildOpts: BuildOpts = { dbDir, files, ...(opts.now ? { now: opts.now } : {}), ...(opts.limits ? { limits: opts.limits } : {}) };
  if (opts.cacheDir) {
    const dir = indexCacheDir(opts.cacheDir, dbDir);
    const path = join(dir, STORE_FILE);
    const header = readStoreHeader(path);
    if (header && header.formatVersion === INDEX_FORMAT_VERSION && header.fingerprint === storeFingerprint(files, opts.limits)) {
      const index = openShared(path);
      return { index, rebuilt: false, warnings: [...index.manifest.warnings] };
    }
    let previous: IndexManifest | undefined;
    if (header) {
      try {
        previous = openShared(path).manifest;
      } catch {
        previous = undefined; // an unreadable old store: rebuilt without a diff
      }
    }
    try {
      await mkdir(dir, { recursive: true });
      await buildInto(dir, buildOpts);
      await removeShardCache(dir);
      const index = openShared(path);
      const result: OpenIndexResult = { index, rebuilt: true, warnings: [...index.manifest.warnings] };
      if (previous) result.previous = previous;
      return result;
    } catch (e) {
      if (e instanceof AdvisoryDbEmptyError) throw e;
      const built = await buildTemporary(buildOpts);
      built.warnings.push({ analyzer: 'advisories', path: dir, message: `could not write the index cache: ${describeError(e)}` });
      return built;
    }
  }
  return buildTemporary(buildOpts);
}

/** A store in a temp file, unlinked once open (the handle keeps it readable): no cache wanted or possible. */
async function buildTemporary(opts: BuildOpts): Promise<OpenIndexResult> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-advisories-'));
  try {
    const path = join(dir, STORE_FILE);
    await buildStore({ ...opts, target: path });
    const index = openStore(path);
    return { index, rebuilt: true, warnings: [...index.manifest.warnings] };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The JSON shards of format 2 are no longer read: removed once the store replaces them. */
async function removeShardCache(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(names.filter((n) => n === 'manifest.json' || /^shard-\d+\.json$/.test(n)).map((n) => rm(join(dir, n), { force: true })));
}
