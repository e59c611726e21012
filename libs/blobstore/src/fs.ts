// Filesystem BlobStore (the embedded default). Blobs live at blobs/<alg>/<2 hex>/<hex>, documents at
// their key. Every write goes to .tmp/ first and is renamed into place only once complete and
// verified, so a reader never sees a partial object and a rejected put leaves nothing behind.
import { randomUUID } from 'node:crypto';
import { createWriteStream, type Dirent } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { Verifier } from './verify.js';
import {
  BlobNotFoundError,
  blobPrefixes,
  documentPrefixApplies,
  parseDigest,
  parseDocumentKey,
  parseKey,
  type BlobInfo,
  type BlobStat,
  type BlobStore,
  type ParsedKey,
  type PutBlobOptions,
} from './types.js';

export interface FsBlobStoreOptions {
  root: string;
  /** Temp files older than this (left by a crashed writer) are removed when the store opens. Default 24 h. */
  staleTempMs?: number;
}

const TMP = '.tmp';
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

  const pathOf = (parsed: ParsedKey) =>
    parsed.kind === 'blob' ? join(root, 'blobs', parsed.algorithm, parsed.hex.slice(0, 2), parsed.hex) : join(root, ...parsed.key.split('/'));
  const tempPath = () => join(tmpDir, randomUUID());

  async function place(tmp: string, final: string): Promise<void> {
    await mkdir(dirname(final), { recursive: true });
    // rename() replaces atomically: concurrent puts of the same content simply overwrite each other.
    await rename(tmp, final);
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
      try {
        await unlink(pathOf(parseKey(key)));
      } catch (e) {
        if (!isMissing(e) && (e as NodeJS.ErrnoException).code !== 'EPERM') throw e;
      }
    },

    async putObject(key: string, body: Uint8Array | string): Promise<void> {
      const final = pathOf({ kind: 'document', key: parseDocumentKey(key) });
      const tmp = tempPath();
      try {
        await writeFile(tmp, body, { flag: 'wx', flush: true });
        await place(tmp, final);
      } catch (error) {
        await rm(tmp, { force: true });
        throw error;
      }
    },

    async getObject(key: string): Promise<Uint8Array | undefined> {
      try {
        return await readFile(pathOf({ kind: 'document', key: parseDocumentKey(key) }));
      } catch (e) {
        if (isMissing(e)) return undefined;
        throw e;
      }
    },

    async close(): Promise<void> {},
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
