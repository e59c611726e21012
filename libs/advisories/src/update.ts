// `strata db update`: downloads `<base>/<ecosystem>/all.zip` per ecosystem into the db folder.
// Each download goes to a hidden temp file beside its target, is checked (a readable zip holding
// at least one JSON record), and only then renamed over the old dump; a failed or corrupt
// download leaves the old data in place. When the server cannot be reached at all (refused, no such
// host), the ecosystems after the first are not tried: the cause is the same for all of them.
import { diffDatabases, type DatabaseDiff } from './diff.js';
import { openAdvisoryIndex } from './open.js';
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError } from '@strata/errors';
import { downloadBounded } from './download.js';
import { AdvisoryUpdateError } from './errors.js';
import { resolveAdvisoryLimits, type AdvisoryLimits } from './limits.js';
import { afterFullDownload, MODIFIED_LISTING, UPDATES_FOLDER, updateFromListing, type IncrementalResult } from './incremental.js';
import { eachZipJson } from './source.js';

export const DEFAULT_OSV_BASE_URL = 'https://osv-vulnerabilities.storage.googleapis.com';

/** The ecosystems `strata db update` fetches when none are named: the OS feeds and language registries Strata matches. */
export const DEFAULT_UPDATE_ECOSYSTEMS: readonly string[] = [
  'Alpine',
  'Debian',
  'Ubuntu',
  'Red Hat',
  'Rocky Linux',
  'AlmaLinux',
  'Wolfi',
  'Chainguard',
  'Azure Linux',
  'npm',
  'PyPI',
  'Go',
  'Maven',
];

export type UpdatePhase = 'start' | 'download' | 'verify' | 'done' | 'failed';

export interface UpdateProgress {
  ecosystem: string;
  phase: UpdatePhase;
  /** bytes received so far for this ecosystem */
  receivedBytes: number;
  /** Content-Length, when the server sent one */
  totalBytes?: number;
  /** JSON records in the dump (phase done) */
  records?: number;
  /** why it failed (phase failed); the old data is kept */
  error?: string;
}

export interface UpdateOptions {
  dbDir: string;
  baseUrl?: string;
  ecosystems: readonly string[];
  onProgress?: (p: UpdateProgress) => void;
  signal?: AbortSignal;
  /** the index cache (as for openAdvisoryIndex): the before/after versions are read through it */
  cacheDir?: string;
  /** download and zip bounds (DEFAULT_ADVISORY_LIMITS where unset) */
  limits?: Partial<AdvisoryLimits>;
}

export interface EcosystemUpdate {
  ecosystem: string;
  url: string;
  /** where the dump lives in the db folder */
  path: string;
  ok: boolean;
  bytes?: number;
  records?: number;
  error?: string;
  /** not tried: the server could not be reached for an earlier ecosystem (see UpdateResult.unreachable) */
  skipped?: boolean;
  /** set when only the records changed since the last update were fetched (no all.zip) */
  incremental?: IncrementalResult;
  /** entries of the dump skipped while checking it (unsafe names, too large): they are skipped again when read */
  warnings?: string[];
}

export interface UpdateResult {
  results: EcosystemUpdate[];
  updated: string[];
  failed: string[];
  /** the advisory-DB version of the folder after the update (unset when it holds no usable record) */
  dbVersion?: string;
  /** the version before the update (unset when the folder held no usable record) */
  previousDbVersion?: string;
  /** set when the server could not be reached at all: the host and why, e.g. "connection refused" */
  unreachable?: { host: string; reason: string };
  /** what changed since the version before the update (unset on the first import) */
  diff?: DatabaseDiff;
}

/** Folder name for an ecosystem inside the db folder (OSV's own spelling; no path separators). */
export function ecosystemFolder(ecosystem: string): string {
  if (ecosystem === '' || ecosystem === '.' || ecosystem === '..' || /[/\\\x00]/.test(ecosystem)) {
    throw new Error(`invalid ecosystem name ${JSON.stringify(ecosystem)}`);
  }
  return ecosystem;
}

/**
 * Checks that path is a zip yauzl can read through, holding at least one JSON record. Entries the
 * index will skip (unsafe names, past the size bounds) go to onProblem, not into a failure.
 */
export async function verifyDump(path: string, onProblem?: (message: string) => void, limits?: Partial<AdvisoryLimits>): Promise<number> {
  let first = true;
  const count = await eachZipJson(
    path,
    (name, text) => {
      if (!first) return;
      first = false;
      try {
        JSON.parse(text);
      } catch (e) {
        throw new Error(`entry ${name} is not JSON: ${describeError(e)}`);
      }
    },
    (p) => onProblem?.(p.entry !== undefined ? `${p.entry}: ${p.message}` : p.message),
    limits,
  );
  if (count === 0) throw new Error('zip holds no JSON records');
  return count;
}

/** Why fetch() could not reach the server at all, or undefined when the failure is something else. */
function unreachableReason(error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } }).cause;
  const code = cause?.code ?? cause?.errors?.find((e) => e.code)?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name not found';
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connection timed out';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENETDOWN':
      return 'network unreachable';
    case 'ECONNRESET':
      return 'connection reset';
    default:
      return undefined;
  }
}

class UnreachableError extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

async function updateOne(opts: UpdateOptions, base: string, ecosystem: string): Promise<EcosystemUpdate & { unreachable?: string }> {
  const folder = join(opts.dbDir, ecosystemFolder(ecosystem));
  const target = join(folder, 'all.zip');
  const url = `${base}/${encodeURIComponent(ecosystem)}/all.zip`;
  const report = (p: Omit<UpdateProgress, 'ecosystem'>): void => opts.onProgress?.({ ecosystem, ...p });
  const tmp = join(folder, `.all.zip.download-${process.pid}-${randomBytes(4).toString('hex')}`);
  const limits = resolveAdvisoryLimits(opts.limits);
  let dbExisted = true;
  let received = 0;
  try {
    report({ phase: 'start', receivedBytes: 0 });
    dbExisted = await stat(opts.dbDir).then(
      () => true,
      () => false,
    );
    await mkdir(folder, { recursive: true });
    const reachable = <T>(p: Promise<T>): Promise<T> =>
      p.catch((error: unknown) => {
        const reason = unreachableReason(error);
        throw reason ? new UnreachableError(reason) : error;
      });
    const incremental = await reachable(updateFromListing({ folder, base, ecosystem, limits, ...(opts.signal ? { signal: opts.signal } : {}) }));
    if (incremental) {
      received = incremental.bytes;
      report({ phase: 'done', receivedBytes: received, records: incremental.fetched + incremental.withdrawn });
      return {
        ecosystem,
        url: `${base}/${encodeURIComponent(ecosystem)}/${MODIFIED_LISTING}`,
        path: join(folder, UPDATES_FOLDER),
        ok: true,
        bytes: received,
        records: incremental.fetched + incremental.withdrawn,
        incremental,
      };
    }
    const downloaded = await reachable(
      downloadBounded(url, tmp, limits, {
        ...(opts.signal ? { signal: opts.signal } : {}),
        onProgress: (p) => {
          received = p.receivedBytes;
          report({ phase: 'download', ...p });
        },
      }),
    );
    received = downloaded.receivedBytes;
    report({ phase: 'verify', ...downloaded });
    let records: number;
    const warnings: string[] = [];
    try {
      records = await verifyDump(tmp, (message) => warnings.push(message), limits);
    } catch (e) {
      throw new Error(`downloaded file is not a usable OSV dump: ${describeError(e)}`);
    }
    await rename(tmp, target);
    await afterFullDownload({ folder, base, ecosystem, limits, ...(opts.signal ? { signal: opts.signal } : {}) });
    report({ phase: 'done', receivedBytes: received, records });
    return { ecosystem, url, path: target, ok: true, bytes: received, records, ...(warnings.length > 0 ? { warnings } : {}) };
  } catch (e) {
    await rm(tmp, { force: true });
    // An ecosystem folder this run made and left empty goes again (rmdir refuses a folder with files).
    await rmdir(folder).catch(() => undefined);
    if (!dbExisted) await rmdir(opts.dbDir).catch(() => undefined);
    const kept = await stat(target).then(
      () => '; the previous dump is kept',
      () => '',
    );
    if (e instanceof UnreachableError) {
      // no progress line: updateDatabase names the cause once for every ecosystem
      return { ecosystem, url, path: target, ok: false, error: new AdvisoryUpdateError(ecosystem, url, `${e.reason}${kept}`).message, unreachable: e.reason };
    }
    const error = new AdvisoryUpdateError(ecosystem, url, `${describeError(e)}${kept}`).message;
    report({ phase: 'failed', receivedBytes: received, error });
    return { ecosystem, url, path: target, ok: false, error };
  }
}

/** Downloads each ecosystem's dump in turn. Failures are reported per ecosystem, never thrown. */
export async function updateDatabase(opts: UpdateOptions): Promise<UpdateResult> {
  const base = (opts.baseUrl ?? DEFAULT_OSV_BASE_URL).replace(/\/+$/, '');
  opts.ecosystems.forEach(ecosystemFolder); // a bad name is refused before anything is downloaded
  // The version before and after: an empty or missing folder has none (first import).
  const versionOf = () =>
    openAdvisoryIndex({ dbDir: opts.dbDir, ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}) }).then(
      (r) => r.index,
      () => undefined,
    );
  const before = await versionOf();
  const results: EcosystemUpdate[] = [];
  let unreachable: UpdateResult['unreachable'];
  for (const ecosystem of opts.ecosystems) {
    if (unreachable) {
      const url = `${base}/${encodeURIComponent(ecosystem)}/all.zip`;
      results.push({
        ecosystem,
        url,
        path: join(opts.dbDir, ecosystemFolder(ecosystem), 'all.zip'),
        ok: false,
        skipped: true,
        error: `not tried: ${unreachable.host}: ${unreachable.reason}`,
      });
      continue;
    }
    const { unreachable: reason, ...result } = await updateOne(opts, base, ecosystem);
    if (reason) unreachable = { host: new URL(base).host, reason };
    results.push(result);
  }
  const after = await versionOf();
  return {
    results,
    updated: results.filter((r) => r.ok).map((r) => r.ecosystem),
    failed: results.filter((r) => !r.ok).map((r) => r.ecosystem),
    ...(after ? { dbVersion: after.version } : {}),
    ...(before ? { previousDbVersion: before.version } : {}),
    ...(unreachable ? { unreachable } : {}),
    ...(before && after ? { diff: diffDatabases(before, after) } : {}),
  };
}
