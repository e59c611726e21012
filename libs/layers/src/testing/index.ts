// Helpers for this library's tests: build tars (@strata/testing's packTar), compress them with the real CLIs, ask Python's
// tarfile (an independent tar reader) what an archive contains, and record what a walk reports.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { tarHeader, tarPad } from '@strata/testing';
import { walkLayer, type LayerEntry, type WalkOptions, type WalkSummary } from '../walk.js';

export { packTar } from '@strata/testing';
export type { TarEntry } from '@strata/testing';

/** Runs a CLI with stdin → stdout (gzip, zstd, tar, python3). */
export function run(cmd: string, args: string[], input?: Buffer, cwd?: string): Buffer {
  const result = spawnSync(cmd, args, { input, cwd, maxBuffer: 1 << 30 });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${result.status}: ${result.stderr.toString()}`);
  return result.stdout;
}

export const gzipCli = (data: Buffer): Buffer => run('gzip', ['-c', '-6'], data);
export const zstdCli = (data: Buffer): Buffer => run('zstd', ['-q', '-c', '-3'], data);

/** A tar made by the real GNU tar from a directory the callback fills. */
export function tarCli(fill: (dir: string) => void, args: string[] = []): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'strata-layers-'));
  try {
    fill(dir);
    return run('tar', ['-C', dir, '-cf', '-', ...args, '.']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface OracleMember {
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';
  mode: number;
  size: number;
  linkname: string;
  sparse: boolean;
  sha256?: string;
}

const ORACLE = `
import sys, tarfile, json, hashlib
out = []
with tarfile.open(fileobj=sys.stdin.buffer, mode='r|*') as t:
    for m in t:
        kind = 'file' if m.isreg() else 'directory' if m.isdir() else 'symlink' if m.issym() else 'hardlink' if m.islnk() else 'other'
        item = {'name': m.name, 'type': kind, 'mode': m.mode, 'size': m.size, 'linkname': m.linkname, 'sparse': m.issparse()}
        if m.isreg() and not m.issparse():
            item['sha256'] = hashlib.sha256(t.extractfile(m).read()).hexdigest()
        out.append(item)
json.dump(out, sys.stdout)
`;

/** What Python's tarfile reads from a (possibly compressed) tar. */
export function pythonTarList(archive: Buffer): OracleMember[] {
  return JSON.parse(run('python3', ['-c', ORACLE], archive).toString()) as OracleMember[];
}

/** Python's posixpath as the oracle for lexical normalization (see normalizeLayerPath). */
export function pythonNormalize(paths: string[]): (string | null)[] {
  const script = `
import sys, json, posixpath
res = []
for p in json.load(sys.stdin):
    if '\\0' in p:
        res.append(None); continue
    n = posixpath.normpath(p.lstrip('/')) if p.lstrip('/') else '.'
    res.append(None if n == '..' or n.startswith('../') else '' if n == '.' else n)
json.dump(res, sys.stdout)
`;
  return JSON.parse(run('python3', ['-c', script], Buffer.from(JSON.stringify(paths))).toString()) as (string | null)[];
}

export const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

export interface Recorded {
  summary: WalkSummary;
  entries: LayerEntry[];
  whiteouts: string[];
  opaque: string[];
  warnings: { path: string; message: string }[];
  asked: string[];
  /** content of each delivered file, or its sha256 (hex) when recorded with `digestsOnly` */
  files: Map<string, Buffer>;
}

/** Walks a layer, wanting the files `wants` accepts (default: all), and records every callback. */
export async function record(
  source: Readable | Buffer,
  options: WalkOptions = {},
  wants: (entry: LayerEntry) => boolean = () => true,
  digestsOnly = false,
): Promise<Recorded> {
  const rec: Omit<Recorded, 'summary'> = { entries: [], whiteouts: [], opaque: [], warnings: [], asked: [], files: new Map() };
  const stream = Buffer.isBuffer(source) ? Readable.from([source]) : source;
  const summary = await walkLayer(stream, options, {
    entry: (e) => rec.entries.push(e),
    whiteout: (p) => rec.whiteouts.push(p),
    opaqueDir: (d) => rec.opaque.push(d),
    warning: (w) => rec.warnings.push(w),
    wants: (e) => {
      rec.asked.push(e.path);
      return wants(e);
    },
    file: async (e, content) => {
      if (digestsOnly) {
        const hash = createHash('sha256');
        for await (const chunk of content) hash.update(chunk as Buffer);
        rec.files.set(e.path, Buffer.from(hash.digest('hex')));
        return;
      }
      const parts: Buffer[] = [];
      for await (const chunk of content) parts.push(chunk as Buffer);
      rec.files.set(e.path, Buffer.concat(parts));
    },
  });
  return { summary, ...rec };
}

/** Splits a buffer into chunks of `size`, to exercise headers and blocks that straddle chunks. */
export function chunked(data: Buffer, size: number): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) parts.push(data.subarray(i, i + size));
  return Readable.from(parts);
}

/** A hand-made ustar header (@strata/testing's tarHeader), for archives tar-stream's pack would not write (huge or hostile). */
export const ustarHeader = (name: string, size: number, typeflag = '0', options: { linkname?: string; badChecksum?: boolean } = {}): Buffer =>
  tarHeader({ name, size, typeflag, ...options });

/** Pads file content to whole 512-byte blocks. */
export const padded = tarPad;
