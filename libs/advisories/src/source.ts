// Reading OSV data from a db folder: `*.json` records at any depth and `*.zip` dumps (the OSV
// bucket's per-ecosystem `all.zip`). Files and entries are read one record at a time; a broken
// record becomes a warning naming the file (and zip entry), and the rest still load.
import { createHash } from 'node:crypto';
import { closeSync, constants as fsConstants, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { inflateRawSync } from 'node:zlib';
import { join, relative, resolve, sep } from 'node:path';
import yauzl from 'yauzl';
import { describeError } from '@strata/errors';
import { ARCHIVE_RATIO_FLOOR_BYTES, resolveAdvisoryLimits, type AdvisoryLimits } from './limits.js';

export interface SourceFile {
  /** path relative to the db folder, '/'-separated */
  path: string;
  kind: 'json' | 'zip';
  size: number;
  mtimeMs: number;
}

/** One raw record and where it came from, e.g. "Go/all.zip!GO-2020-0001.json". */
export interface RawRecord {
  origin: string;
  value: unknown;
}

export interface SourceProblem {
  origin: string;
  message: string;
}

const isHidden = (name: string): boolean => name.startsWith('.');

/**
 * Lists the record files under dir. Hidden files and folders (in-flight downloads) are skipped, and
 * so are the `exclude` folders (an index cache kept inside the db folder).
 */
export async function listSources(dbDir: string, exclude: readonly string[] = []): Promise<SourceFile[]> {
  const out: SourceFile[] = [];
  const skip = new Set(exclude.map((p) => resolve(p)));
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    const files: { full: string; kind: 'json' | 'zip' }[] = [];
    for (const entry of entries) {
      if (isHidden(entry.name)) continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (skip.has(resolve(full))) continue;
        await walk(full);
        continue;
      }
      const lower = entry.name.toLowerCase();
      const kind = lower.endsWith('.json') ? 'json' : lower.endsWith('.zip') ? 'zip' : undefined;
      if (kind && (entry.isFile() || entry.isSymbolicLink())) files.push({ full, kind });
    }
    // Folders of thousands of records (a checkout of a vulndb) are stat'ed a batch at a time.
    for (let i = 0; i < files.length; i += 256) {
      const batch = files.slice(i, i + 256);
      const stats = await Promise.all(batch.map((f) => stat(f.full)));
      batch.forEach((f, k) => {
        const st = stats[k];
        if (!st?.isFile()) return;
        out.push({ path: relative(dbDir, f.full).split(sep).join('/'), kind: f.kind, size: st.size, mtimeMs: Math.floor(st.mtimeMs) });
      });
    }
  };
  await walk(dbDir);
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** A cheap fingerprint of the source: every file's path, size and mtime. A change means "rebuild". */
export function fingerprint(files: SourceFile[], formatVersion: string): string {
  const h = createHash('sha256').update(`strata-advisory-index ${formatVersion}\n`);
  for (const f of files) h.update(`${f.path}\t${f.size}\t${f.mtimeMs}\n`);
  return h.digest('hex');
}

function parseRecords(text: string, origin: string, onRecord: (r: RawRecord) => void, onProblem: (p: SourceProblem) => void): void {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    onProblem({ origin, message: `invalid JSON: ${describeError(e)}` });
    return;
  }
  // A file may hold one record or an array of them.
  if (Array.isArray(value)) value.forEach((v, i) => onRecord({ origin: `${origin}[${i}]`, value: v }));
  else onRecord({ origin, value });
}

function readJsonFile(dbDir: string, file: SourceFile, limits: AdvisoryLimits, onRecord: (r: RawRecord) => void, onProblem: (p: SourceProblem) => void): void {
  let text: string;
  try {
    // The size is checked on the open file, so a file swapped after listing cannot slip through.
    // Synchronous reads: record files are small, and four awaited calls per file cost more than the
    // read itself (an update reads thousands of them).
    // O_NONBLOCK: a FIFO swapped in after listing cannot block the open.
    const fd = openSync(join(dbDir, file.path), fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) {
        onProblem({ origin: file.path, message: 'file skipped: not a regular file' });
        return;
      }
      const { size } = st;
      if (size > limits.maxRecordBytes) {
        onProblem({ origin: file.path, message: `file skipped: ${size} bytes, more than maxRecordBytes (${limits.maxRecordBytes})` });
        return;
      }
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    onProblem({ origin: file.path, message: `cannot read: ${describeError(e)}` });
    return;
  }
  parseRecords(text, file.path, onRecord, onProblem);
}

/** A zip entry's data went past a bound while inflating. */
class EntryTooLargeError extends Error {}

/** Reads an entry's inflated stream, counting the bytes itself: the sizes in the zip's headers are not trusted. */
async function readBounded(stream: NodeJS.ReadableStream, max: number, bound: string, onBytes: (n: number) => void): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream) {
      total += (chunk as Buffer).length;
      onBytes((chunk as Buffer).length);
      if (total > max) throw new EntryTooLargeError(`inflates past ${bound}`);
      chunks.push(chunk as Buffer);
    }
  } finally {
    (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
  }
  return Buffer.concat(chunks);
}

/**
 * An entry's bytes, at most `max` of them inflated. Deflated entries (all of an OSV dump's) are
 * read raw and inflated in one synchronous call bounded by maxOutputLength: a zlib stream per
 * entry cost more than the records' parsing on a 400k-record build. Other methods stream.
 */
async function readEntry(
  zip: yauzl.ZipFile,
  reader: WindowedReader,
  entry: yauzl.Entry,
  max: number,
  bound: string,
  onBytes: (n: number) => void,
): Promise<Buffer> {
  if (entry.compressionMethod !== 8 || entry.isEncrypted()) return readBounded(await zip.openReadStreamPromise(entry), max, bound, onBytes);
  // Deflate never shrinks data by less than a few bytes per 16 KiB block: a raw entry past this could not inflate within max.
  if (entry.compressedSize > max + 1024 + max / 1000)
    throw new EntryTooLargeError(`claims ${entry.compressedSize} compressed bytes, more than ${bound} allows`);
  // yauzl checks the local header and that the data lies within the file; the bytes are then
  // taken from the reader's window as they are (no stream per entry).
  const { fileDataStart } = await zip.readLocalFileHeaderPromise(entry, { minimal: true });
  const raw = reader.view(fileDataStart, fileDataStart + entry.compressedSize);
  if (raw.length !== entry.compressedSize) throw new Error(`unexpected end of file in the entry's data`);
  let data: Buffer;
  try {
    data = inflateRawSync(raw, { maxOutputLength: Math.max(1, max) });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      onBytes(max + 1);
      throw new EntryTooLargeError(`inflates past ${bound}`);
    }
    throw new Error(`invalid deflate data: ${describeError(e)}`);
  }
  onBytes(data.length);
  if (data.length > max) throw new EntryTooLargeError(`inflates past ${bound}`);
  if (data.length !== entry.uncompressedSize) throw new Error(`inflated to ${data.length} bytes, the entry says ${entry.uncompressedSize}`);
  return data;
}

/** Something wrong with one entry (named) or with the rest of the archive (no entry). */
export interface ZipProblem {
  entry?: string;
  message: string;
}

/**
 * Streams the JSON entries of a zip, one entry in memory at a time, and returns how many were read.
 * A bad entry (unsafe name, too big, corrupt data) is skipped with a problem and the others are
 * read; the archive's own bounds (entries, inflated bytes, compression ratio) stop the rest of it
 * with a problem. Throws when the zip cannot be opened or its directory breaks: entries handed to
 * onEntry before that stay handed.
 */
/**
 * A zip read through a window of sequential synchronous reads: the entries of a dump lie in
 * order, so one read fills the window for hundreds of them, where yauzl's own file reader makes
 * two asynchronous reads per entry (which, on a busy machine, left a 400k-record build waiting).
 */
class WindowedReader extends yauzl.RandomAccessReader {
  // Two windows: yauzl walks the central directory (at the end) and the entries (from the start) in turn.
  private windows: { start: number; bytes: Buffer }[] = [];
  constructor(private readonly fd: number) {
    super();
  }
  /**
   * The file's bytes [start, end) (fewer at its end), as a view of a window: valid as long as the
   * caller keeps it (a window is never overwritten, only replaced), never to be written to.
   */
  view(start: number, end: number): Buffer {
    const hit = this.windows.find((w) => start >= w.start && end <= w.start + w.bytes.length);
    if (hit) {
      // most recently used last
      if (this.windows[this.windows.length - 1] !== hit) this.windows = [...this.windows.filter((w) => w !== hit), hit];
      return hit.bytes.subarray(start - hit.start, end - hit.start);
    }
    const length = end - start;
    if (length > WINDOW_BYTES) {
      const buf = Buffer.alloc(length);
      const n = readSync(this.fd, buf, 0, length, start);
      return buf.subarray(0, n);
    }
    const window = Buffer.allocUnsafe(WINDOW_BYTES);
    const n = readSync(this.fd, window, 0, WINDOW_BYTES, start);
    this.windows = [...this.windows.slice(-1), { start, bytes: window.subarray(0, n) }];
    return window.subarray(0, Math.min(length, n));
  }
  override _readStreamForRange(start: number, end: number): Readable {
    return Readable.from([Buffer.from(this.view(start, end))], { objectMode: false });
  }
  /**
   * yauzl's reads of the central directory and local headers, served from the window with one
   * tick instead of three piped streams each (which cost more than the records' parsing).
   */
  override read(buffer: Buffer, offset: number, length: number, position: number, callback: (err: Error | null, bytesRead?: number) => void): void {
    let n: number;
    try {
      n = this.view(position, position + length).copy(buffer, offset);
    } catch (e) {
      process.nextTick(callback, e as Error);
      return;
    }
    process.nextTick(callback, null, n);
  }
  override close(callback: (err: Error | null) => void): void {
    closeSync(this.fd);
    callback(null);
  }
}

const WINDOW_BYTES = 4 * 1024 * 1024;

async function openSequentialZip(path: string, options: yauzl.Options): Promise<{ zip: yauzl.ZipFile; reader: WindowedReader }> {
  const fd = openSync(path, 'r');
  let size: number;
  try {
    size = fstatSync(fd).size;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  const reader = new WindowedReader(fd);
  return new Promise((resolvePromise, reject) => {
    yauzl.fromRandomAccessReader(reader, size, options, (err, zip) => {
      if (err || !zip) {
        reader.close(() => undefined);
        reject(err ?? new Error(`cannot open ${path}`));
      } else resolvePromise({ zip, reader });
    });
  });
}

export async function eachZipJson(
  path: string,
  onEntry: (name: string, text: string) => void | Promise<void>,
  onProblem: (p: ZipProblem) => void = () => undefined,
  limitOverrides?: Partial<AdvisoryLimits>,
): Promise<number> {
  const limits = resolveAdvisoryLimits(limitOverrides);
  // Names are decoded and checked here rather than by yauzl, whose check ends the whole archive.
  const { zip, reader } = await openSequentialZip(path, { lazyEntries: true, autoClose: true, validateEntrySizes: true, decodeStrings: false });
  let count = 0;
  let entries = 0;
  let inflated = 0;
  let compressed = 0;
  try {
    for await (const entry of zip.eachEntry()) {
      if (++entries > limits.maxArchiveEntries) {
        onProblem({ message: `more than ${limits.maxArchiveEntries} entries (maxArchiveEntries): the rest of the archive is skipped` });
        break;
      }
      const name = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, false);
      const unsafe = yauzl.validateFileName(name);
      if (unsafe !== null) {
        onProblem({ entry: name, message: `entry skipped: unsafe name (${unsafe})` });
        continue;
      }
      if (name.endsWith('/') || !name.toLowerCase().endsWith('.json')) continue;
      if (entry.uncompressedSize > limits.maxRecordBytes) {
        onProblem({
          entry: name,
          message: `entry skipped: claims ${entry.uncompressedSize} bytes inflated, more than maxRecordBytes (${limits.maxRecordBytes})`,
        });
        continue;
      }
      const archiveLeft = Math.max(0, limits.maxArchiveBytes - inflated);
      const archiveBound = archiveLeft < limits.maxRecordBytes;
      let data: Buffer | undefined;
      let failure: unknown;
      try {
        data = await readEntry(
          zip,
          reader,
          entry,
          archiveBound ? archiveLeft : limits.maxRecordBytes,
          archiveBound ? `maxArchiveBytes (${limits.maxArchiveBytes})` : `maxRecordBytes (${limits.maxRecordBytes})`,
          (n) => (inflated += n),
        );
      } catch (e) {
        failure = e;
      }
      // Bytes inflated for an entry that was then refused count too: they cost the same.
      compressed += entry.compressedSize;
      if (failure instanceof EntryTooLargeError && archiveBound) {
        onProblem({ message: `inflates past maxArchiveBytes (${limits.maxArchiveBytes}) at entry ${name}: the rest of the archive is skipped` });
        break;
      }
      if (inflated > ARCHIVE_RATIO_FLOOR_BYTES && inflated > compressed * limits.maxArchiveRatio) {
        onProblem({
          message: `inflates more than ${limits.maxArchiveRatio} times its compressed size (maxArchiveRatio) at entry ${name}: a zip bomb; the rest of the archive is skipped`,
        });
        break;
      }
      if (data === undefined) {
        onProblem({ entry: name, message: `entry skipped: ${describeError(failure)}` });
        continue;
      }
      count++;
      await onEntry(name, data.toString('utf8'));
      if (entries % YIELD_EVERY === 0) await yieldToLoop();
    }
  } finally {
    zip.close();
  }
  return count;
}

async function readZipFile(
  dbDir: string,
  file: SourceFile,
  limits: AdvisoryLimits,
  onRecord: (r: RawRecord) => void,
  onProblem: (p: SourceProblem) => void,
): Promise<void> {
  try {
    await eachZipJson(
      join(dbDir, file.path),
      (name, text) => parseRecords(text, `${file.path}!${name}`, onRecord, onProblem),
      (p) => onProblem({ origin: p.entry !== undefined ? `${file.path}!${p.entry}` : file.path, message: p.message }),
      limits,
    );
  } catch (e) {
    onProblem({ origin: file.path, message: `unreadable zip (records read before the damage are kept): ${describeError(e)}` });
  }
}

/**
 * Every so many records the reading yields to the event loop: the reads themselves never wait
 * (synchronous file reads, zip windows), and a service building its store must keep answering.
 */
const YIELD_EVERY = 500;
const yieldToLoop = (): Promise<void> => new Promise((resolveYield) => setImmediate(resolveYield));

/** Reads every record of every source file: the JSON files, then the zips. */
export async function readSources(
  dbDir: string,
  files: SourceFile[],
  onRecord: (r: RawRecord) => void,
  onProblem: (p: SourceProblem) => void,
  limitOverrides?: Partial<AdvisoryLimits>,
): Promise<void> {
  const limits = resolveAdvisoryLimits(limitOverrides);
  let read = 0;
  for (const file of files) {
    if (file.kind !== 'json') continue;
    readJsonFile(dbDir, file, limits, onRecord, onProblem);
    if (++read % YIELD_EVERY === 0) await yieldToLoop();
  }
  for (const file of files) if (file.kind === 'zip') await readZipFile(dbDir, file, limits, onRecord, onProblem);
}
