// Filesystem BlobStore (the embedded default). Blobs live at blobs/<alg>/<2 hex>/<hex>, documents at
// their key. Every write goes to .tmp/ first and is renamed into place only once complete and
// verified, so a reader never sees a partial object and a rejected put leaves nothing behind.
// Document writes and deletes hold a per-key lock (a file under .locks/), so a conditional write
// (read, compare, rename) is atomic against every other writer, in this process or another.
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream, type Dirent } from 'node:fs';
import { link, mkdir, open, readFile, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { Verifier } from './verify.js';
import { BlobNotFoundError, blobPrefixes, documentPrefixApplies, parseDigest, parseDocumentKey, parseKey } from './types.js';
import type { BlobInfo, BlobStat, BlobStore, ParsedKey, PutBlobOptions, VersionedDocument } from './types.js';

export interface FsBlobStoreOptions {
  root: string;
  /** Temp files older than this (left by a crashed writer) are removed when the store opens. Default 24 h. */
  staleTempMs?: number;
  /** A document lock older than this, or held by a process that is gone, is broken. Default 10 s (a holder only reads and renames one small file). */
  staleLockMs?: number;
  /** How long a document write waits for a lock held by someone else before it fails. Default 30 s. */
  lockWaitMs?: number;
}

const TMP = '.tmp';
const LOCKS = '.locks';
const READ_CHUNK = 1024 * 1024;

const isMissing = (e: unknown) => ['ENOENT', 'ENOTDIR', 'EISDIR'].includes((e as NodeJS.ErrnoException).code ?? '');

async function entries(dir: string): Promise<Dirent[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch (e) {
    if (isMissing(e)) return [];
    throw e;
  }
}

export async function createFsBlobStore(options: FsBlobStoreOptions): Promise<BlobStore> {
  const root = resolve(options.root);
  const tmpDir = join(root, TMP);
  await mkdir(tmpDir, { recursive: true });
  await removeStaleTemps(tmpDir, options.staleTempMs ?? 24 * 3600_000);
  const location = pathToFileURL(root).href;
  const locks = documentLocks(join(root, LOCKS), options.staleLockMs ?? 10_000, options.lockWaitMs ?? 30_000);
  await mkdir(join(root, LOCKS), { recursive: true });

  const pathOf = (parsed: ParsedKey) =>
    parsed.kind === 'blob' ? join(root, 'blobs', parsed.algorithm, parsed.hex.slice(0, 2), parsed.hex) : join(root, ...parsed.key.split('/'));
  const tempPath = () => join(tmpDir, randomUUID());

  async function place(tmp: string, final: string): Promise<void> {
    await mkdir(dirname(final), { recursive: true });
    // rename() replaces atomically: concurrent puts of the same content simply overwrite each other.
    await rename(tmp, final);
  }

  async function writeDocument(final: string, body: Uint8Array | string): Promise<void> {
    const tmp = tempPath();
    try {
      await writeFile(tmp, body, { flag: 'wx', flush: true });
      await place(tmp, final);
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
  }

  async function statPath(path: string): Promise<BlobStat | undefined> {
    try {
      const s = await stat(path);
      return s.isFile() ? { size: s.size } : undefined;
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
  }

  async function* walkDocuments(dir: string, rel: string, prefix: string): AsyncGenerator<string> {
    for (const entry of await entries(dir)) {
      if (entry.name.startsWith('.')) continue;
      const key = rel ? `${rel}/${entry.name}` : entry.name;
      if (!rel && entry.name === 'blobs') continue;
      if (entry.isDirectory()) {
        if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) yield* walkDocuments(join(dir, entry.name), key, prefix);
      } else if (entry.isFile() && key.startsWith(prefix)) {
        yield key;
      }
    }
  }

  return {
    location,

    async putBlob(digest: string, source: AsyncIterable<Uint8Array>, opts: PutBlobOptions = {}): Promise<BlobInfo> {
      const verifier = new Verifier(digest, opts.size);
      const final = pathOf(parseDigest(digest));
      const tmp = tempPath();
      try {
        await pipeline(
          source,
          async function* (chunks: AsyncIterable<unknown>) {
            for await (const chunk of chunks) yield verifier.update(chunk);
          },
          createWriteStream(tmp, { flags: 'wx', flush: true }),
        );
        const info = verifier.finish();
        await place(tmp, final);
        return info;
      } catch (error) {
        await rm(tmp, { force: true });
        throw error;
      }
    },

    async getBlob(digest: string): Promise<Readable> {
      const path = pathOf(parseDigest(digest));
      try {
        const handle = await open(path, 'r');
        // Big reads: 64 KiB chunks cost several times the syscalls and much of the throughput.
        return handle.createReadStream({ highWaterMark: READ_CHUNK });
      } catch (e) {
        if (isMissing(e)) throw new BlobNotFoundError(digest, location);
        throw e;
      }
    },

    async exists(key: string): Promise<boolean> {
      return (await statPath(pathOf(parseKey(key)))) !== undefined;
    },

    async stat(key: string): Promise<BlobStat | undefined> {
      return statPath(pathOf(parseKey(key)));
    },

    async *list(prefix: string): AsyncIterable<string> {
      for (const { algorithm, hexPrefix } of blobPrefixes(prefix)) {
        const base = join(root, 'blobs', algorithm);
        for (const shard of await entries(base)) {
          if (!shard.isDirectory() || !shard.name.startsWith(hexPrefix.slice(0, 2))) continue;
          for (const file of await entries(join(base, shard.name))) {
            if (file.isFile() && file.name.startsWith(hexPrefix)) yield `${algorithm}:${file.name}`;
          }
        }
      }
      if (documentPrefixApplies(prefix)) {
        // Start the walk at the deepest folder the prefix names, when that folder is a valid key.
        const cut = prefix.lastIndexOf('/');
        const rel = cut > 0 ? prefix.slice(0, cut) : '';
        if (rel) {
          try {
            parseDocumentKey(rel);
          } catch {
            return;
          }
        }
        yield* walkDocuments(rel ? join(root, ...rel.split('/')) : root, rel, prefix);
      }
    },

    async delete(key: string): Promise<void> {
      const parsed = parseKey(key);
      const remove = async () => {
        try {
          await unlink(pathOf(parsed));
        } catch (e) {
          if (!isMissing(e) && (e as NodeJS.ErrnoException).code !== 'EPERM') throw e;
        }
      };
      await (parsed.kind === 'document' ? locks.hold(parsed.key, remove) : remove());
    },

    async putObject(key: string, body: Uint8Array | string): Promise<void> {
      const name = parseDocumentKey(key);
      await locks.hold(name, () => writeDocument(pathOf({ kind: 'document', key: name }), body));
    },

    async getObject(key: string): Promise<Uint8Array | undefined> {
      return readDocument(pathOf({ kind: 'document', key: parseDocumentKey(key) }));
    },

    async getObjectVersioned(key: string): Promise<VersionedDocument | undefined> {
      const body = await readDocument(pathOf({ kind: 'document', key: parseDocumentKey(key) }));
      return body === undefined ? undefined : { body, version: versionOf(body) };
    },

    async putObjectIfMatch(key: string, body: Uint8Array | string, expected: string | null): Promise<string | undefined> {
      const name = parseDocumentKey(key);
      const final = pathOf({ kind: 'document', key: name });
      return locks.hold(name, async () => {
        const current = await readDocument(final);
        const matches = current === undefined ? expected === null : expected !== null && versionOf(current) === expected;
        if (!matches) return undefined;
        await writeDocument(final, body);
        return versionOf(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
      });
    },

    async close(): Promise<void> {},
  };
}

async function readDocument(path: string): Promise<Uint8Array | undefined> {
  try {
    return await readFile(path);
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw e;
  }
}

const versionOf = (body: Uint8Array): string => createHash('sha256').update(body).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Per-key locks: a queue per key inside the process, and a lock file created with O_EXCL across
 * processes. The file holds "<pid> <token>"; a lock whose process is gone (a crashed writer) or
 * that is older than staleLockMs is broken by renaming it aside, so two writers that both judged
 * it stale cannot both remove a fresh one.
 */
function documentLocks(dir: string, staleLockMs: number, lockWaitMs: number) {
  const queues = new Map<string, Promise<void>>();
  const lockPath = (key: string) => join(dir, createHash('sha256').update(key).digest('hex'));

  async function breakIfStale(path: string): Promise<string> {
    let holder: string;
    let age: number;
    try {
      [holder, age] = await Promise.all([readFile(path, 'utf8'), stat(path).then((s) => Date.now() - s.mtimeMs)]);
    } catch (e) {
      if (isMissing(e)) return 'nobody';
      throw e;
    }
    const pid = Number(holder.split(' ')[0]);
    // An empty holder is a lock being written this instant, unless it stays empty too long.
    const stale = age > staleLockMs || (Number.isSafeInteger(pid) && pid > 0 && processGone(pid));
    if (!stale) return holder || 'a writer';
    const aside = `${path}.${randomUUID()}.stale`;
    try {
      await rename(path, aside);
    } catch (e) {
      if (isMissing(e)) return 'nobody';
      throw e;
    }
    if ((await readFile(aside, 'utf8')) !== holder) {
      // Someone broke it first and holds a fresh lock now: give it back.
      await link(aside, path).catch(() => undefined);
    }
    await rm(aside, { force: true });
    return 'nobody';
  }

  async function acquire(path: string): Promise<() => Promise<void>> {
    const token = `${process.pid} ${randomUUID()}`;
    const deadline = Date.now() + lockWaitMs;
    for (let tries = 0; ; tries++) {
      try {
        await writeFile(path, token, { flag: 'wx' });
        return async () => {
          const holder = await readFile(path, 'utf8').catch(() => undefined);
          if (holder === token) await rm(path, { force: true });
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const holder = await breakIfStale(path);
      if (Date.now() > deadline) throw new Error(`document lock ${path} still held by ${holder} after ${lockWaitMs} ms`);
      await sleep(Math.min(1 + tries, 20) * (0.5 + Math.random()));
    }
  }

  return {
    async hold<T>(key: string, work: () => Promise<T>): Promise<T> {
      const previous = queues.get(key) ?? Promise.resolve();
      let done!: () => void;
      const mine = new Promise<void>((r) => (done = r));
      const tail = previous.then(() => mine);
      queues.set(key, tail);
      await previous;
      try {
        const release = await acquire(lockPath(key));
        try {
          return await work();
        } finally {
          await release();
        }
      } finally {
        done();
        if (queues.get(key) === tail) queues.delete(key);
      }
    },
  };
}

async function removeStaleTemps(dir: string, olderThanMs: number): Promise<void> {
  const cutoff = Date.now() - olderThanMs;
  for (const entry of await entries(dir)) {
    const path = join(dir, entry.name);
    try {
      if ((await stat(path)).mtimeMs < cutoff) await rm(path, { force: true, recursive: true });
    } catch (e) {
      if (!isMissing(e)) throw e;
    }
  }
}
