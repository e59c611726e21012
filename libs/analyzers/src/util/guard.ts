import { PassThrough, Readable } from 'node:stream';
import { SizeLimitError } from './stream.js';

/**
 * A layer walk's entry stream must be read to its end and must never be destroyed (destroying a
 * tar entry tears down the whole archive). `EntrySource` reads such a stream exactly once, in one
 * of three ways, and can always finish it off with `discard()`. Only 'data'/'end'/'error' events
 * and pause/resume are used, so Node streams and streamx streams both work.
 */
export class EntrySource {
  private readonly done: Promise<void>;
  private ended = false;
  private consumer: ((chunk: Buffer) => void) | undefined;

  constructor(private readonly src: Readable) {
    this.done = new Promise<void>((resolve, reject) => {
      src.once('end', () => {
        this.ended = true;
        resolve();
      });
      src.once('error', (err: Error) => {
        this.ended = true;
        reject(err);
      });
      src.once('close', () => {
        if (this.ended) return;
        this.ended = true;
        reject(new Error('file content stream closed before its end'));
      });
    });
    this.done.catch(() => undefined);
    src.on('data', (chunk: Buffer) => this.consumer?.(chunk));
    src.pause();
  }

  /** Reads up to `max` bytes into memory; past that, discards the rest and rejects with SizeLimitError. */
  async buffer(max: number, what: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let total = 0;
    let over = false;
    this.consumer = (chunk) => {
      total += chunk.length;
      if (over) return;
      if (total > max) {
        over = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    };
    this.src.resume();
    await this.done;
    if (over) throw new SizeLimitError(what, max);
    return Buffer.concat(chunks, total);
  }

  /** A stream an analyzer may consume, abandon or destroy; the source flows to its end regardless. */
  stream(): Readable {
    const out = new PassThrough();
    let discarding = false;
    this.consumer = (chunk) => {
      if (discarding || out.destroyed) return;
      if (!out.write(chunk)) {
        this.src.pause();
        out.once('drain', () => this.src.resume());
      }
    };
    this.done.then(
      () => {
        if (!out.destroyed) out.end();
      },
      (err: Error) => out.destroy(err),
    );
    out.once('close', () => {
      if (!this.ended) {
        discarding = true;
        this.src.resume();
      }
    });
    this.src.resume();
    return out;
  }

  /**
   * `n` streams of the same bytes, for analyzers that read one entry at the same time: each chunk
   * goes to every reader still open, and the source pauses while any of them is full, so memory
   * stays at a few chunks per reader. A reader that is destroyed drops out; when all are gone the
   * rest is discarded. The readers must be consumed concurrently.
   */
  streams(n: number): Readable[] {
    const outs = Array.from({ length: n }, () => new PassThrough());
    const open = new Set(outs);
    let waiting = 0;
    const release = (): void => {
      waiting--;
      if (waiting === 0) this.src.resume();
    };
    this.consumer = (chunk) => {
      for (const out of open) {
        if (out.destroyed) continue;
        if (!out.write(chunk)) {
          waiting++;
          let done = false;
          const once = (): void => {
            if (done) return;
            done = true;
            out.off('drain', once);
            out.off('close', once);
            release();
          };
          out.on('drain', once);
          out.on('close', once);
        }
      }
      if (waiting > 0) this.src.pause();
    };
    this.done.then(
      () => {
        for (const out of outs) if (!out.destroyed) out.end();
      },
      (err: Error) => {
        for (const out of outs) out.destroy(err);
      },
    );
    for (const out of outs) {
      out.once('close', () => {
        open.delete(out);
        if (open.size === 0 && !this.ended) this.consumer = undefined;
      });
    }
    this.src.resume();
    return outs;
  }

  /** Discards whatever is left. Resolves when the source has ended (rejects on a source error). */
  async discard(): Promise<void> {
    if (this.ended) return this.done;
    this.consumer = undefined;
    this.src.resume();
    return this.done;
  }
}

/** The same reads as EntrySource, for a file the walk already read whole (LayerVisitor.smallFile). */
export class BufferedEntry {
  constructor(private readonly content: Buffer) {}

  async buffer(max: number, what: string): Promise<Buffer> {
    if (this.content.length > max) throw new SizeLimitError(what, max);
    return this.content;
  }

  stream(): Readable {
    return Readable.from([this.content], { objectMode: false });
  }

  streams(n: number): Readable[] {
    return Array.from({ length: n }, () => this.stream());
  }

  async discard(): Promise<void> {}
}
