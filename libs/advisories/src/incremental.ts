// Incremental `strata db update` for one ecosystem: with a local copy (its all.zip and the
// modified_id.csv saved with it), the bucket's current modified_id.csv names what changed; only
// those records are fetched (`<base>/<ecosystem>/<id>.json`) into `<folder>/updates/`, and an id
// the listing no longer has is written there as a withdrawn tombstone. Everything is fetched and
// checked in a hidden staging folder first: a failure part-way leaves the old data as it was.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError } from '@strata/errors';
import { downloadBounded } from './download.js';
import type { AdvisoryLimits } from './limits.js';
import { validateRecord } from './osv.js';

export const MODIFIED_LISTING = 'modified_id.csv';
export const UPDATES_FOLDER = 'updates';

export interface IncrementalResult {
  fetched: number;
  withdrawn: number;
  bytes: number;
}

/** id -> modified, from `<RFC 3339 time>,<id>` lines. Throws on a line that is not one. */
export function parseModifiedListing(text: string, source: string): Map<string, string> {
  const out = new Map<string, string>();
  let line = 0;
  for (const raw of text.split('\n')) {
    line++;
    const trimmed = raw.trim();
    if (trimmed === '') continue;
    const comma = trimmed.indexOf(',');
    const modified = trimmed.slice(0, comma);
    const id = trimmed.slice(comma + 1);
    if (comma <= 0 || !/^\d{4}-\d\d-\d\dT[\d:.]+Z$/.test(modified) || !safeId(id)) {
      throw new Error(`${source} line ${line} is not "<modified>,<id>": ${JSON.stringify(trimmed.slice(0, 200))}`);
    }
    out.set(id, modified);
  }
  return out;
}

/** An id usable as a file name and URL path segment: no separators, no dot-names, bounded. */
const safeId = (id: string): boolean => id.length > 0 && id.length <= 256 && !/[/\\\x00-\x1f]/.test(id) && !id.startsWith('.') && !id.includes(',');

/** Fetches what changed since the saved listing. Undefined when there is no local copy to update. */
export async function updateFromListing(opts: {
  folder: string;
  base: string;
  ecosystem: string;
  limits: AdvisoryLimits;
  signal?: AbortSignal;
  now?: () => Date;
  concurrency?: number;
}): Promise<IncrementalResult | undefined> {
  const { folder } = opts;
  const savedPath = join(folder, MODIFIED_LISTING);
  const hasCopy = await stat(join(folder, 'all.zip')).then(
    () => true,
    () => false,
  );
  const saved = hasCopy ? await readFile(savedPath, 'utf8').catch(() => undefined) : undefined;
  if (saved === undefined) return undefined;
  const before = parseModifiedListing(saved, savedPath);
  const ecoUrl = `${opts.base}/${encodeURIComponent(opts.ecosystem)}`;
  const stage = join(folder, `.update-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(stage, { recursive: true });
  const signal = opts.signal ? { signal: opts.signal } : {};
  try {
    let bytes = (await downloadBounded(`${ecoUrl}/${MODIFIED_LISTING}`, join(stage, MODIFIED_LISTING), opts.limits, signal)).receivedBytes;
    const after = parseModifiedListing(await readFile(join(stage, MODIFIED_LISTING), 'utf8'), `${ecoUrl}/${MODIFIED_LISTING}`);
    const changed = [...after].filter(([id, modified]) => (before.get(id) ?? '') < modified).map(([id]) => id);
    const gone = [...before.keys()].filter((id) => !after.has(id));
    // Fetched a few at a time; the first failure stops the ecosystem's update.
    let next = 0;
    let stopped = false;
    const worker = async (): Promise<void> => {
      while (!stopped && next < changed.length) {
        const id = changed[next++] as string;
        const url = `${ecoUrl}/${encodeURIComponent(id)}.json`;
        const path = join(stage, `${id}.json`);
        try {
          bytes += (
            await downloadBounded(url, path, { ...opts.limits, maxDownloadBytes: Math.min(opts.limits.maxDownloadBytes, opts.limits.maxRecordBytes) }, signal)
          ).receivedBytes;
        } catch (e) {
          throw new Error(`fetching changed record ${url}: ${describeError(e)}`);
        }
        let value: unknown;
        try {
          value = JSON.parse(await readFile(path, 'utf8'));
        } catch (e) {
          throw new Error(`${url} is not JSON: ${describeError(e)}`);
        }
        const problem = validateRecord(value);
        if (problem) throw new Error(`${url} is not a usable OSV record: ${problem}`);
        if ((value as { id: string }).id !== id) throw new Error(`${url} holds record ${JSON.stringify((value as { id: string }).id)}, not ${id}`);
      }
    };
    // Every worker is waited for before the staging folder can be removed; the first error is the ecosystem's.
    const outcomes = await Promise.allSettled(
      Array.from({ length: Math.min(opts.concurrency ?? 8, changed.length) }, () =>
        worker().catch((e: unknown) => {
          stopped = true;
          throw e;
        }),
      ),
    );
    const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failure) throw failure.reason;
    // A record gone from the listing is withdrawn: a tombstone newer than any copy of it.
    const when = (opts.now ?? (() => new Date()))().toISOString();
    for (const id of gone) await writeFile(join(stage, `${id}.json`), JSON.stringify({ id, modified: when, withdrawn: when }));
    // Everything is here and checked: moved into place, the listing last (a crash before it
    // only means the next update fetches these records again).
    const updates = join(folder, UPDATES_FOLDER);
    await mkdir(updates, { recursive: true });
    for (const id of [...changed, ...gone]) await rename(join(stage, `${id}.json`), join(updates, `${id}.json`));
    await rename(join(stage, MODIFIED_LISTING), savedPath);
    return { fetched: changed.length, withdrawn: gone.length, bytes };
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

/**
 * After a full all.zip download: the per-record updates it supersedes are removed and the
 * bucket's listing is saved for the next incremental update. A listing that cannot be fetched
 * only means the next update downloads all.zip again.
 */
export async function afterFullDownload(opts: {
  folder: string;
  base: string;
  ecosystem: string;
  limits: AdvisoryLimits;
  signal?: AbortSignal;
}): Promise<void> {
  await rm(join(opts.folder, UPDATES_FOLDER), { recursive: true, force: true });
  const tmp = join(opts.folder, `.${MODIFIED_LISTING}.download-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await downloadBounded(
      `${opts.base}/${encodeURIComponent(opts.ecosystem)}/${MODIFIED_LISTING}`,
      tmp,
      opts.limits,
      opts.signal ? { signal: opts.signal } : {},
    );
    parseModifiedListing(await readFile(tmp, 'utf8'), tmp);
    await rename(tmp, join(opts.folder, MODIFIED_LISTING));
  } catch {
    await rm(join(opts.folder, MODIFIED_LISTING), { force: true });
  } finally {
    await rm(tmp, { force: true });
  }
}
