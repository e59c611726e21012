// `strata db update`: downloads `<base>/<ecosystem>/all.zip` per ecosystem into the db folder.
// Each download goes to a hidden temp file beside its target, is checked (a readable zip holding
// at least one JSON record), and only then renamed over the old dump; a failed or corrupt
// download leaves the old data in place. When the server cannot be reached at all (refused, no such
// host), the ecosystems after the first are not tried: the cause is the same for all of them.
import { diffDatabases, type DatabaseDiff } from './diff.js';
import { openAdvisoryIndex } from './open.js';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { AdvisoryUpdateError } from './errors.js';
import { eachZipJson } from './source.js';

export const DEFAULT_OSV_BASE_URL = 'https://osv-vulnerabilities.storage.googleapis.com';

/** The ecosystems `strata db update` fetches when none are named: the OS feeds and language registries Strata matches. */
export const DEFAULT_UPDATE_ECOSYSTEMS: readonly string[] = [
  'Alpine', 'Debian', 'Ubuntu', 'Red Hat', 'Rocky Linux', 'AlmaLinux', 'Wolfi', 'Chainguard', 'Azure Linux',
  'npm', 'PyPI', 'Go', 'Maven',
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

/** Checks that path is a zip yauzl can read through, holding at least one JSON record. */
export async function verifyDump(path: string): Promise<number> {
  let first = true;
  const count = await eachZipJson(path, (name, text) => {
    if (!first) return;
    first = false;
    try {
      JSON.parse(text);
    } catch (e) {
      throw new Error(`entry ${name} is not JSON: ${(e as Error).message}`);
    }
  });
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
  let received = 0;
  let total: number | undefined;
  try {
    report({ phase: 'start', receivedBytes: 0 });
    const res = await fetch(url, opts.signal ? { signal: opts.signal } : {}).catch((error: unknown) => {
      const reason = unreachableReason(error);
      throw reason ? new UnreachableError(reason) : error;
    });
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status} ${res.statusText}`.trim());
    await mkdir(folder, { recursive: true });
    const length = Number(res.headers.get('content-length'));
    if (Number.isFinite(length) && length > 0) total = length;
    let lastReport = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        received += chunk.length;
        if (received - lastReport >= 256 * 1024) {
          lastReport = received;
          report(total !== undefined ? { phase: 'download', receivedBytes: received, totalBytes: total } : { phase: 'download', receivedBytes: received });
        }
        cb(null, chunk);
      },
    });
    await pipeline(Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>), counter, createWriteStream(tmp));
    if (total !== undefined && received !== total) throw new Error(`download truncated: ${received} of ${total} bytes`);
    report(total !== undefined ? { phase: 'verify', receivedBytes: received, totalBytes: total } : { phase: 'verify', receivedBytes: received });
    let records: number;
    try {
      records = await verifyDump(tmp);
    } catch (e) {
      throw new Error(`downloaded file is not a usable OSV dump: ${(e as Error).message}`);
    }
    await rename(tmp, target);
    report({ phase: 'done', receivedBytes: received, records });
    return { ecosystem, url, path: target, ok: true, bytes: received, records };
  } catch (e) {
    await rm(tmp, { force: true });
    // An ecosystem folder this run made and left empty goes again (rmdir refuses a folder with files).
    await rmdir(folder).catch(() => undefined);
    const kept = await stat(target).then(() => '; the previous dump is kept', () => '');
    if (e instanceof UnreachableError) {
      // no progress line: updateDatabase names the cause once for every ecosystem
      return { ecosystem, url, path: target, ok: false, error: new AdvisoryUpdateError(ecosystem, url, `${e.reason}${kept}`).message, unreachable: e.reason };
    }
    const error = new AdvisoryUpdateError(ecosystem, url, `${(e as Error).message}${kept}`).message;
    report({ phase: 'failed', receivedBytes: received, error });
    return { ecosystem, url, path: target, ok: false, error };
  }
}

/** Downloads each ecosystem's dump in turn. Failures are reported per ecosystem, never thrown. */
export async function updateDatabase(opts: UpdateOptions): Promise<UpdateResult> {
  const base = (opts.baseUrl ?? DEFAULT_OSV_BASE_URL).replace(/\/+$/, '');
  opts.ecosystems.forEach(ecosystemFolder); // a bad name is refused before anything is downloaded
  // The version before and after: an empty or missing folder has none (first import).
  const versionOf = () => openAdvisoryIndex({ dbDir: opts.dbDir, ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}) }).then((r) => r.index.manifest, () => undefined);
  const before = await versionOf();
  const results: EcosystemUpdate[] = [];
  let unreachable: UpdateResult['unreachable'];
  for (const ecosystem of opts.ecosystems) {
    if (unreachable) {
      const url = `${base}/${encodeURIComponent(ecosystem)}/all.zip`;
      results.push({ ecosystem, url, path: join(opts.dbDir, ecosystemFolder(ecosystem), 'all.zip'), ok: false, skipped: true, error: `not tried: ${unreachable.host}: ${unreachable.reason}` });
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
    ...(after ? { dbVersion: after.dbVersion } : {}),
    ...(before ? { previousDbVersion: before.dbVersion } : {}),
    ...(unreachable ? { unreachable } : {}),
    ...(before && after ? { diff: diffDatabases(before, after) } : {}),
  };
}
