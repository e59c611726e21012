// The one tar builder of the tests (tar-stream's pack): entries of any type, written in order, a
// file's bytes given in memory or generated lazily (so a 10 GB entry costs no memory). Every entry
// has mtime 0 and a fixed default mode, so the same entries always give the same bytes.
import { Readable } from 'node:stream';
import { pack, type Pack } from 'tar-stream';

export interface TarEntry {
  name: string;
  /** default 'file' */
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'fifo' | 'character-device';
  /** a file's bytes (default: empty) */
  content?: string | Buffer;
  /** target of a symlink, or the earlier entry a hard link ('link') names */
  linkname?: string;
  /** default 0o755 for directories, 0o644 otherwise */
  mode?: number;
  /** a file written lazily: `size` bytes from `generate` (instead of `content`) */
  size?: number;
  generate?: () => AsyncIterable<Buffer>;
}

async function writeEntry(p: Pack, e: TarEntry): Promise<void> {
  const type = e.type ?? 'file';
  const header = {
    name: e.name,
    type,
    mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644),
    mtime: new Date(0),
    ...(e.linkname !== undefined ? { linkname: e.linkname } : {}),
  };
  if (type === 'file' && e.generate) {
    const sink = p.entry({ ...header, size: e.size ?? 0 });
    for await (const chunk of e.generate()) {
      if (!sink.write(chunk)) await new Promise<void>((resolve) => sink.once('drain', () => resolve()));
    }
    await new Promise<void>((resolve, reject) => sink.end((err?: Error | null) => (err ? reject(err) : resolve())));
    return;
  }
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error | null): void => (err ? reject(err) : resolve());
    if (type === 'file') p.entry(header, Buffer.from(e.content ?? ''), done);
    else p.entry(header, done);
  });
}

/** An uncompressed tar of `entries` as a stream, entries written as it is read. */
export function tarStream(entries: Iterable<TarEntry>): Readable {
  const p = pack();
  void (async () => {
    try {
      for (const e of entries) await writeEntry(p, e);
      p.finalize();
    } catch (err) {
      p.destroy(err as Error);
    }
  })();
  return Readable.from(p as unknown as AsyncIterable<Buffer>);
}

/** An uncompressed tar of `entries`, in memory (small archives). */
export async function packTar(entries: Iterable<TarEntry>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of tarStream(entries)) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}
