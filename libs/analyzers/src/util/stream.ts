import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';

/** Raised when input is bigger than the bound the caller set. */
export class SizeLimitError extends Error {
  constructor(what: string, limit: number) {
    super(`${what} exceeds the limit of ${limit} bytes`);
    this.name = 'SizeLimitError';
  }
}

/** Reads a stream into memory, failing once more than `max` bytes arrive. */
export async function readBounded(stream: Readable, max: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    total += buf.length;
    if (total > max) {
      stream.destroy();
      throw new SizeLimitError(what, max);
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks, total);
}

/** The content as a Buffer, whichever form it came in. */
export async function contentBuffer(content: Readable | Buffer, max: number, what: string): Promise<Buffer> {
  if (Buffer.isBuffer(content)) {
    if (content.length > max) throw new SizeLimitError(what, max);
    return content;
  }
  return readBounded(content, max, what);
}

/** The content as a stream, whichever form it came in. */
export const contentStream = (content: Readable | Buffer): Readable => (Buffer.isBuffer(content) ? Readable.from([content]) : content);

/** Consumes and discards what is left of a stream (a tar entry must be read to the end). */
export async function drain(stream: Readable): Promise<void> {
  if (stream.readableEnded || stream.destroyed) return;
  stream.resume();
  await new Promise<void>((resolve) => {
    const done = (): void => resolve();
    stream.once('end', done);
    stream.once('close', done);
    stream.once('error', done);
  });
}

/**
 * Writes a stream to `path`, failing past `max` bytes. `onChunk` sees every chunk with its file offset
 * (used to scan for magic bytes while spooling).
 */
export async function spoolToFile(
  content: Readable | Buffer,
  path: string,
  max: number,
  what: string,
  onChunk?: (chunk: Buffer, offset: number) => void,
): Promise<number> {
  const source = Buffer.isBuffer(content) ? Readable.from([content]) : content;
  let written = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (written + chunk.length > max) {
        cb(new SizeLimitError(what, max));
        return;
      }
      onChunk?.(chunk, written);
      written += chunk.length;
      cb(null, chunk);
    },
  });
  await pipeline(source, meter, createWriteStream(path, { mode: 0o600 }));
  return written;
}
