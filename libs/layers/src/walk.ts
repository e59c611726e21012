// The streaming layer walk: blob → decoder → tar-stream, one pass, bounded memory. Nothing is ever
// written to disk and no link is ever followed; entries are only described to the visitor.
import { createHash, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { describeError, toError } from '@strata/errors';
import { openLayer, type Compression, type OpenedLayer } from './decompress.js';
import { LayerError } from './errors.js';
import { RATIO_CHECK_FLOOR_BYTES, resolveLimits, type LayerLimits } from './limits.js';
import { normalizeLayerPath, resolveLinkTarget } from './paths.js';
import { guardTarExtract } from './tar-guard.js';

export type EntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';

export interface LayerEntry {
  /** normalized, root-relative: no leading './' or '/', no '..' escapes, no trailing '/' */
  path: string;
  type: EntryType;
  /** permission bits (& 0o7777) */
  mode: number;
  /** bytes of content (regular files; 0 for most other types) */
  size: number;
  /**
   * symlink / hardlink target as a normalized root-relative path (a relative symlink target is
   * resolved against the link's directory; an absolute one against the image root). When the
   * target would climb above the root it is the raw target instead, and `linkEscapesRoot` is set.
   */
  linkTarget?: string;
  /** the link target climbs above the image root; reported only, never followed */
  linkEscapesRoot?: boolean;
}

export interface LayerVisitor {
  /** asked for each regular file; return true to receive its content */
  wants?(entry: LayerEntry): boolean;
  /** content of a wanted file; the visitor must consume or destroy the stream before resolving */
  file?(entry: LayerEntry, content: Readable): Promise<void>;
  /**
   * Content of a wanted file of at most SMALL_FILE_BYTES, read whole before the call. When given,
   * the walk uses it instead of `file` for such files: no stream per file (a layer may hold hundreds
   * of thousands of small manifests, and a stream each costs more than reading them).
   */
  smallFile?(entry: LayerEntry, content: Buffer): Promise<void>;
  /** every non-whiteout entry, for consumers that need the path list */
  entry?(entry: LayerEntry): void;
  /** `.wh.<name>` → path of <name> (never reported as a file) */
  whiteout?(path: string): void;
  /** `.wh..wh..opq` → the directory emptied in lower layers ('' for the root) */
  opaqueDir?(dir: string): void;
  /** non-fatal problems: oversize file skipped, hostile path dropped, etc. */
  warning?(warning: { path: string; message: string }): void;
}

export interface WalkOptions {
  mediaType?: string | undefined;
  limits?: Partial<LayerLimits>;
  /** names the layer (image + digest) in errors */
  label?: string;
  /** size of the compressed blob (from the descriptor); makes the ratio check exact */
  compressedSize?: number;
  signal?: AbortSignal;
  /**
   * The diffID the image config claims for this layer (`rootfs.diff_ids`). The uncompressed stream
   * is hashed to its last byte and a different digest fails the walk with DIFF_ID_MISMATCH, after
   * the visitor has seen the entries: a caller keeps nothing of a walk that rejects.
   */
  diffId?: string;
  /**
   * The digest the source stream is verified against as it streams (it fails at its end otherwise,
   * as an ImageSource's layers do). When it equals `diffId` and the layer is an uncompressed tar,
   * the walk reads exactly the bytes that digest covers, so they are not hashed a second time.
   */
  sourceDigest?: string;
}

export interface WalkSummary {
  /** tar entries seen, including whiteouts and dropped entries */
  entries: number;
  compressedBytes: number;
  uncompressedBytes: number;
  compression: Compression;
  /** digest of the whole uncompressed stream (sha256, or the algorithm of options.diffId) */
  diffId: string;
}

/** The part of tar-stream's (streamx) entry stream we use. */
interface EntrySource {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'end' | 'close', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

interface TarHeader {
  name: string;
  mode?: number;
  size?: number;
  type?: string | null;
  linkname?: string | null;
  pax?: Record<string, string> | null;
}

const CONTENT_HIGH_WATER_MARK = 64 * 1024;

/** Wanted files up to this size go to `LayerVisitor.smallFile` (when the visitor has it) as one Buffer. */
export const SMALL_FILE_BYTES = 64 * 1024;

const noop = (): void => {};

const formatBytes = (n: number): string =>
  n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(1)} GiB` : n >= 1024 ** 2 ? `${(n / 1024 ** 2).toFixed(1)} MiB` : `${n} bytes`;

const shorten = (path: string): string => (path.length > 256 ? `${path.slice(0, 256)}…` : path);

/**
 * Walks one layer blob in a single streaming pass and describes every entry to the visitor.
 *
 * - Resolves with a summary; rejects with LayerError (TRUNCATED, CORRUPT, BAD_TAR,
 *   LIMIT_EXCEEDED, ABORTED) naming `options.label`, or with the source's own error unchanged when
 *   the source fails. On any failure the source and every stream of the walk are destroyed.
 * - Hostile paths (climbing above the root, NUL) and paths or link targets longer than
 *   maxPathLength are dropped with a warning; their content is skipped.
 * - Only regular files are offered to `wants`; hardlinks are never resolved to content.
 * - A wanted file above maxFileSize is skipped with a warning. A visitor's `file()` that rejects
 *   becomes a warning (the walk goes on); a throw from a synchronous callback fails the walk.
 */
export async function walkLayer(source: Readable, options: WalkOptions, visitor: LayerVisitor): Promise<WalkSummary> {
  let limits: LayerLimits;
  try {
    limits = resolveLimits(options.limits);
  } catch (err) {
    source.destroy();
    throw err;
  }
  return new LayerWalk(source, options, limits, visitor).run();
}

class LayerWalk {
  private failure: Error | undefined;
  private opened: OpenedLayer | undefined;
  private extract: tar.Extract | undefined;
  private content: Readable | undefined;
  private entries = 0;
  private uncompressed = 0;
  /** two zero blocks were read: the rest is drained and hashed, never parsed */
  private archiveEnded = false;
  private readonly ratioBound: number | undefined;

  constructor(
    private readonly source: Readable,
    private readonly options: WalkOptions,
    private readonly limits: LayerLimits,
    private readonly visitor: LayerVisitor,
  ) {
    const { compressedSize } = options;
    if (compressedSize !== undefined && compressedSize >= 0) {
      this.ratioBound = Math.max(RATIO_CHECK_FLOOR_BYTES, compressedSize * limits.maxCompressionRatio);
    }
  }

  async run(): Promise<WalkSummary> {
    const { signal } = this.options;
    if (signal?.aborted) {
      this.source.destroy();
      throw this.abortError();
    }
    const onAbort = (): void => this.fail(this.abortError());
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await this.pump();
    } catch (err) {
      const error = this.failure ?? this.classify(err);
      this.fail(error);
      throw error;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  private async pump(): Promise<WalkSummary> {
    const hash = this.diffIdHash();
    const opened = await openLayer(this.source, this.options.mediaType, this.options.label);
    this.opened = opened;
    if (this.failure) throw this.failure; // aborted while sniffing
    if (opened.warning !== undefined) this.warn('', opened.warning);

    // allowUnknownFormat: accept old v7 headers too (the checksum is still verified)
    const extract = tar.extract({ allowUnknownFormat: true } as Parameters<typeof tar.extract>[0]);
    this.extract = extract;
    extract.on('entry', (header, stream, next) => this.onEntry(header as TarHeader, stream as unknown as EntrySource, next));
    extract.on('error', (err: Error) => this.fail(this.tarError(err)));
    guardTarExtract(extract, {
      archiveEnd: () => {
        this.archiveEnded = true;
      },
      violation: (code, message) => this.fail(new LayerError(code, `${message}, after ${this.entries} entries`, { label: this.options.label })),
    });
    const done = new Promise<void>((resolve) => {
      extract.on('finish', resolve);
      extract.on('close', resolve);
    });

    // an uncompressed layer whose blob digest is its diffID: the source verifies these very bytes
    const verifiedBySource = opened.compression === 'none' && this.options.diffId !== undefined && this.options.sourceDigest === this.options.diffId;
    for await (const chunk of opened.stream as AsyncIterable<Buffer>) {
      if (this.failure) break;
      this.uncompressed += chunk.length;
      if (!verifiedBySource) hash.hash.update(chunk);
      this.checkExpansion(opened);
      if (this.archiveEnded) continue; // drained and hashed, never parsed
      if (!extract.write(chunk)) await this.drained(extract);
      if (this.failure) break;
    }
    if (this.failure) throw this.failure;
    extract.end(undefined);
    await done;
    if (this.failure) throw this.failure;
    const diffId = verifiedBySource ? (this.options.diffId as string) : `${hash.algorithm}:${hash.hash.digest('hex')}`;
    const expected = this.options.diffId;
    if (expected !== undefined && diffId !== expected) {
      throw new LayerError(
        'DIFF_ID_MISMATCH',
        `the uncompressed layer hashes to ${diffId} but the image config's rootfs.diff_ids claims ${expected}; layer refused`,
        { label: this.options.label },
      );
    }
    return {
      entries: this.entries,
      compressedBytes: opened.compressedBytes?.() ?? this.uncompressed,
      uncompressedBytes: this.uncompressed,
      compression: opened.compression,
      diffId,
    };
  }

  /** The hash of the uncompressed stream: sha256, or the algorithm the expected diffID names. */
  private diffIdHash(): { algorithm: string; hash: Hash } {
    const expected = this.options.diffId;
    if (expected === undefined) return { algorithm: 'sha256', hash: createHash('sha256') };
    const match = /^(sha256|sha512):[a-f0-9]+$/.exec(expected);
    if (!match) {
      throw new LayerError('DIFF_ID_MISMATCH', `diffID ${shorten(expected)} is not a sha256 or sha512 digest; layer refused`, { label: this.options.label });
    }
    const algorithm = match[1]!;
    return { algorithm, hash: createHash(algorithm) };
  }

  private drained(extract: tar.Extract): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        extract.off('drain', wake);
        extract.off('close', wake);
        resolve();
      };
      extract.on('drain', wake);
      extract.on('close', wake);
    });
  }

  private checkExpansion(opened: OpenedLayer): void {
    const { maxUncompressedBytes, maxCompressionRatio } = this.limits;
    if (this.uncompressed > maxUncompressedBytes) {
      throw this.limitError(`expands beyond ${formatBytes(maxUncompressedBytes)} uncompressed (maxUncompressedBytes)`);
    }
    if (opened.compression === 'none' || this.uncompressed <= RATIO_CHECK_FLOOR_BYTES) return;
    const consumed = opened.compressedBytes?.() ?? 0;
    const bound = this.ratioBound !== undefined ? Math.max(this.ratioBound, consumed * maxCompressionRatio) : consumed * maxCompressionRatio;
    if (this.uncompressed > bound) {
      const compressed = Math.max(consumed, this.options.compressedSize ?? 0);
      throw this.limitError(
        `decompression bomb: ${formatBytes(this.uncompressed)} from ${formatBytes(compressed)} compressed exceeds the ratio ${maxCompressionRatio}:1 (maxCompressionRatio)`,
      );
    }
  }

  private onEntry(header: TarHeader, src: EntrySource, next: (err?: Error | null) => void): void {
    src.on('error', noop); // errors reach us through the extractor; an unheard 'error' would throw
    if (this.failure) return;
    try {
      this.entries++;
      if (this.entries > this.limits.maxEntries) {
        this.fail(this.limitError(`has more than ${this.limits.maxEntries} entries (maxEntries)`));
        return;
      }
      if (this.describe(header, src, next) === 'skip') this.skip(src, next);
    } catch (err) {
      this.fail(toError(err));
    }
  }

  /** Reports the entry; returns 'skip' when its content is to be drained, 'taken' when delivered. */
  private describe(header: TarHeader, src: EntrySource, next: (err?: Error | null) => void): 'skip' | 'taken' {
    const pax = header.pax ?? undefined;
    const sparse = pax !== undefined && ('GNU.sparse.major' in pax || 'GNU.sparse.map' in pax || 'GNU.sparse.size' in pax);
    const raw = (sparse ? pax['GNU.sparse.name'] : undefined) ?? header.name;
    const path = normalizeLayerPath(raw);
    if (path === undefined) {
      this.warn(shorten(raw), 'path escapes the layer root or contains NUL; entry dropped');
      return 'skip';
    }
    if (path === '') {
      if (header.type !== 'directory') this.warn(shorten(raw), 'entry names the layer root but is not a directory; dropped');
      return 'skip';
    }
    if (path.length > this.limits.maxPathLength) {
      this.warn(shorten(path), `path of ${path.length} characters exceeds maxPathLength ${this.limits.maxPathLength}; entry dropped`);
      return 'skip';
    }

    const slash = path.lastIndexOf('/');
    const base = slash === -1 ? path : path.slice(slash + 1);
    if (base.startsWith('.wh.')) {
      this.whiteout(path, slash === -1 ? '' : path.slice(0, slash), base);
      return 'skip';
    }

    // GNU sparse files (old 'S' entries, which tar-stream types as null, and PAX sparse entries)
    // carry a sparse map instead of plain content: reported as 'other', content never delivered.
    const type = sparse ? 'other' : entryType(header.type);
    if (sparse || header.type === null || header.type === undefined) {
      this.warn(path, "GNU sparse file or unsupported tar entry type; reported as 'other', content skipped");
    }
    let size = header.size ?? 0;
    if (sparse) {
      const real = Number(pax['GNU.sparse.realsize'] ?? pax['GNU.sparse.size']);
      if (Number.isFinite(real)) size = real;
    }
    const entry: LayerEntry = { path, type, mode: (header.mode ?? 0) & 0o7777, size };

    if (type === 'symlink' || type === 'hardlink') {
      const rawTarget = header.linkname ?? '';
      if (rawTarget === '') {
        this.warn(path, `${type} without a target`);
      } else {
        const link = resolveLinkTarget(path, rawTarget, type);
        if (link.target.length > this.limits.maxPathLength) {
          this.warn(path, `${type} target of ${link.target.length} characters exceeds maxPathLength ${this.limits.maxPathLength}; entry dropped`);
          return 'skip';
        }
        entry.linkTarget = link.target;
        if (link.escapes) {
          entry.linkEscapesRoot = true;
          this.warn(path, `${type} target ${shorten(rawTarget)} escapes the layer root; reported as-is, never followed`);
        }
      }
    }

    this.visitor.entry?.(entry);
    if (type !== 'file' || !this.visitor.file || !this.visitor.wants?.(entry)) return 'skip';
    if (size > this.limits.maxFileSize) {
      this.warn(path, `file of ${formatBytes(size)} exceeds maxFileSize ${formatBytes(this.limits.maxFileSize)}; content skipped`);
      return 'skip';
    }
    if (size <= SMALL_FILE_BYTES && this.visitor.smallFile) this.deliverSmall(entry, src, next);
    else this.deliver(entry, src, next);
    return 'taken';
  }

  private whiteout(path: string, dir: string, base: string): void {
    if (base === '.wh..wh..opq') {
      this.visitor.opaqueDir?.(dir);
      return;
    }
    if (base.startsWith('.wh..wh.')) return; // aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs): not content
    const name = base.slice('.wh.'.length);
    if (name === '' || name === '.' || name === '..') {
      this.warn(path, 'malformed whiteout; ignored');
      return;
    }
    this.visitor.whiteout?.(dir === '' ? name : `${dir}/${name}`);
  }

  private skip(src: EntrySource, next: (err?: Error | null) => void): void {
    src.on('end', () => next());
    src.resume();
  }

  /**
   * Hands the content to the visitor through a node Readable with backpressure. If the visitor
   * stops early (destroys the stream, or resolves without reading it all) the rest is drained so
   * the walk goes on; the next entry is only read once both the content and the visitor are done.
   */
  private deliver(entry: LayerEntry, src: EntrySource, next: (err?: Error | null) => void): void {
    let srcEnded = false;
    let visitorDone = false;
    const content = new Readable({ highWaterMark: CONTENT_HIGH_WATER_MARK, read: () => void src.resume() });
    content.on('error', noop); // the visitor sees errors through its own reads
    content.on('close', () => {
      if (!srcEnded) src.resume(); // abandoned early: drain
    });
    this.content = content;
    const finish = (): void => {
      if (!srcEnded || !visitorDone) return;
      if (this.content === content) this.content = undefined;
      if (!this.failure) next();
    };
    src.on('data', (chunk: Buffer) => {
      if (content.destroyed) return;
      if (!content.push(chunk)) src.pause();
    });
    src.on('end', () => {
      srcEnded = true;
      if (!content.destroyed) content.push(null);
      finish();
    });

    this.visit(entry, () => this.visitor.file!(entry, content))
      .finally(() => {
        visitorDone = true;
        if (!srcEnded && !content.destroyed) content.destroy();
        finish();
      })
      .catch(noop);
  }

  /** Runs one visitor call; what it throws or rejects with becomes a warning on the entry (unless the walk already failed). */
  private visit(entry: LayerEntry, call: () => void | Promise<void>): Promise<void> {
    let result: Promise<void>;
    try {
      result = Promise.resolve(call());
    } catch (err) {
      result = Promise.reject(err);
    }
    return result.catch((err: unknown) => {
      if (!this.failure) this.warn(entry.path, `analyzer failed on this file: ${describeError(err)}`);
    });
  }

  /** Reads a small file whole (its size is bounded above), then hands it to `smallFile`; the next entry waits for the visitor. */
  private deliverSmall(entry: LayerEntry, src: EntrySource, next: (err?: Error | null) => void): void {
    const chunks: Buffer[] = [];
    let total = 0;
    src.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      total += chunk.length;
    });
    src.on('end', () => {
      // a copy: the chunks are views of a whole decoded block (see DECODER_CHUNK_BYTES), which they
      // would keep alive for as long as anything of this entry lives; the views go at once
      const content = Buffer.concat(chunks, total);
      chunks.length = 0;
      this.visit(entry, () => this.visitor.smallFile!(entry, content))
        .finally(() => {
          if (!this.failure) next();
        })
        .catch(noop);
    });
  }

  private warn(path: string, message: string): void {
    this.visitor.warning?.({ path, message });
  }

  /** First failure wins; tears everything down so nothing keeps reading or holding the source. */
  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.content?.destroy(error);
    this.content = undefined;
    this.extract?.destroy();
    this.opened?.stream.destroy();
    this.source.destroy();
  }

  private classify(err: unknown): Error {
    if (err instanceof LayerError) return err;
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ERR_STREAM_PREMATURE_CLOSE') {
      return new LayerError('TRUNCATED', 'layer source closed before its end', { label: this.options.label, cause: err });
    }
    return toError(err);
  }

  private tarError(err: Error): LayerError {
    const label = this.options.label;
    if (/unexpected end of data/i.test(err.message)) {
      return new LayerError('TRUNCATED', `tar stream ends in the middle of an entry after ${this.entries} entries`, { label, cause: err });
    }
    return new LayerError('BAD_TAR', `malformed tar after ${this.entries} entries, ${this.uncompressed} bytes: ${err.message}`, { label, cause: err });
  }

  private limitError(what: string): LayerError {
    return new LayerError('LIMIT_EXCEEDED', what, { label: this.options.label });
  }

  private abortError(): LayerError {
    return new LayerError('ABORTED', 'walk aborted', { label: this.options.label, cause: this.options.signal?.reason });
  }
}

function entryType(type: string | null | undefined): EntryType {
  switch (type) {
    case 'file':
    case 'contiguous-file':
      return 'file';
    case 'directory':
      return 'directory';
    case 'symlink':
      return 'symlink';
    case 'link':
      return 'hardlink';
    default:
      return 'other';
  }
}
