// Reading OSV data from a db folder: `*.json` records at any depth and `*.zip` dumps (the OSV
// bucket's per-ecosystem `all.zip`). Files and entries are read one record at a time; a broken
// record becomes a warning naming the file (and zip entry), and the rest still load.
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import yauzl from 'yauzl';

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
    onProblem({ origin, message: `invalid JSON: ${(e as Error).message}` });
    return;
  }
  // A file may hold one record or an array of them.
  if (Array.isArray(value)) value.forEach((v, i) => onRecord({ origin: `${origin}[${i}]`, value: v }));
  else onRecord({ origin, value });
}

async function readJsonFile(dbDir: string, file: SourceFile, onRecord: (r: RawRecord) => void, onProblem: (p: SourceProblem) => void): Promise<void> {
  let text: string;
  try {
    text = await readFile(join(dbDir, file.path), 'utf8');
  } catch (e) {
    onProblem({ origin: file.path, message: `cannot read: ${(e as Error).message}` });
    return;
  }
  parseRecords(text, file.path, onRecord, onProblem);
}

async function readStream(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Streams the JSON entries of a zip, one entry in memory at a time. Calls onEntry for every
 * `.json` entry; returns the number of such entries. Throws when the zip itself cannot be read.
 */
export async function eachZipJson(path: string, onEntry: (name: string, text: string) => void | Promise<void>): Promise<number> {
  const zip = await yauzl.openPromise(path, { lazyEntries: true, autoClose: true, validateEntrySizes: true });
  let count = 0;
  try {
    for await (const entry of zip.eachEntry()) {
      if (entry.fileName.endsWith('/') || !entry.fileName.toLowerCase().endsWith('.json')) continue;
      const stream = await zip.openReadStreamPromise(entry);
      const buf = await readStream(stream);
      count++;
      await onEntry(entry.fileName, buf.toString('utf8'));
    }
  } finally {
    zip.close();
  }
  return count;
}

async function readZipFile(dbDir: string, file: SourceFile, onRecord: (r: RawRecord) => void, onProblem: (p: SourceProblem) => void): Promise<void> {
  try {
    await eachZipJson(join(dbDir, file.path), (name, text) => parseRecords(text, `${file.path}!${name}`, onRecord, onProblem));
  } catch (e) {
    onProblem({ origin: file.path, message: `unreadable zip (records read before the damage are kept): ${(e as Error).message}` });
  }
}

/** Reads every record of every source file, a few files at a time. */
export async function readSources(
  dbDir: string,
  files: SourceFile[],
  onRecord: (r: RawRecord) => void,
  onProblem: (p: SourceProblem) => void,
): Promise<void> {
  const jsonFiles = files.filter((f) => f.kind === 'json');
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jsonFiles.length) {
      const file = jsonFiles[next++] as SourceFile;
      await readJsonFile(dbDir, file, onRecord, onProblem);
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, jsonFiles.length) }, worker));
  for (const file of files) if (file.kind === 'zip') await readZipFile(dbDir, file, onRecord, onProblem);
}
