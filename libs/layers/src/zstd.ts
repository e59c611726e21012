// Streaming zstd decompression with fzstd (pure JS). fzstd's `Decompress` is push-based and
// produces all output of a pushed chunk synchronously, so a small chunk of RLE blocks could expand
// to gigabytes at once. We therefore walk the frame structure ourselves and hand fzstd at most one
// block per push (≤ 128 KiB of output), pausing between blocks when the reader is behind. Walking
// the frames also lets us refuse a hostile window size before fzstd allocates the window.
import { Transform, type TransformCallback } from 'node:stream';
import { Decompress } from 'fzstd';

const ZSTD_MAGIC = 0xfd2fb528;
const MAX_BLOCK_SIZE = 128 * 1024;
/** zstd's own default decoder limit (ZSTD_WINDOWLOG_LIMIT_DEFAULT = 27) */
export const MAX_ZSTD_WINDOW = 1 << 27;

/** Raised for malformed or unsupported zstd data; `truncated` when the data simply stops. */
export class ZstdDataError extends Error {
  constructor(message: string, readonly truncated = false) {
    super(message);
    this.name = 'ZstdDataError';
  }
}

type State = 'magic' | 'frameHeader' | 'blockHeader' | 'blockBody' | 'checksum' | 'skippableSize' | 'skip';

/** Tracks zstd frame boundaries so input can be cut at block ends. */
export class ZstdFrameTracker {
  private state: State = 'magic';
  /** bytes collected for a small header field that may straddle chunks */
  private field = Buffer.alloc(18);
  private fieldLength = 0;
  private fieldWanted = 4;
  /** bytes still to pass through for the current block body / checksum / skippable frame */
  private remaining = 0;
  private lastBlock = false;
  private checksum = false;
  frames = 0;

  /**
   * Consumes chunk from offset until the end of the next complete block (or the chunk end) and
   * returns the offset it stopped at.
   */
  advance(chunk: Uint8Array, offset: number): number {
    let at = offset;
    while (at < chunk.length) {
      if (this.state === 'blockBody' || this.state === 'checksum' || this.state === 'skip') {
        const take = Math.min(this.remaining, chunk.length - at);
        at += take;
        this.remaining -= take;
        if (this.remaining > 0) return at;
        if (this.state === 'blockBody') {
          this.endBlock();
          return at; // a block ends here
        }
        this.expect('magic');
        continue;
      }
      const take = Math.min(this.fieldWanted - this.fieldLength, chunk.length - at);
      this.field.set(chunk.subarray(at, at + take), this.fieldLength);
      this.fieldLength += take;
      at += take;
      if (this.fieldLength < this.fieldWanted) return at;
      this.onField();
    }
    return at;
  }

  /** Throws unless the data ended on a frame boundary. */
  finish(): void {
    if (this.state !== 'magic' || this.fieldLength !== 0) throw new ZstdDataError('zstd data ends in the middle of a frame', true);
    if (this.frames === 0) throw new ZstdDataError('no zstd frame found', true);
  }

  private expect(state: State): void {
    this.state = state;
    this.fieldLength = 0;
    this.fieldWanted = state === 'magic' ? 4 : state === 'frameHeader' ? 1 : state === 'blockHeader' ? 3 : state === 'skippableSize' ? 4 : 0;
  }

  private endBlock(): void {
    if (!this.lastBlock) {
      this.expect('blockHeader');
    } else if (this.checksum) {
      this.expect('checksum');
      this.remaining = 4;
    } else {
      this.expect('magic');
    }
  }

  private onField(): void {
    const f = this.field;
    switch (this.state) {
      case 'magic': {
        const magic = f.readUInt32LE(0);
        if (magic === ZSTD_MAGIC) {
          this.frames++;
          this.expect('frameHeader');
        } else if ((magic & 0xfffffff0) === 0x184d2a50) {
          this.expect('skippableSize');
        } else {
          throw new ZstdDataError(`not a zstd frame (magic 0x${magic.toString(16).padStart(8, '0')})`);
        }
        return;
      }
      case 'skippableSize':
        this.remaining = f.readUInt32LE(0);
        this.state = 'skip';
        if (this.remaining === 0) this.expect('magic');
        return;
      case 'frameHeader': {
        const descriptor = f[0] ?? 0;
        const fcsFlag = descriptor >> 6;
        const singleSegment = (descriptor >> 5) & 1;
        const dictIdFlag = descriptor & 3;
        if (descriptor & 8) throw new ZstdDataError('zstd frame header has the reserved bit set');
        const headerSize = 1 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][dictIdFlag]! + [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag]!;
        if (this.fieldWanted === 1) {
          // first the descriptor alone, which tells how long the rest of the header is
          this.fieldWanted = headerSize;
          return;
        }
        this.checksum = ((descriptor >> 2) & 1) === 1;
        let at = 1;
        let window = 0;
        if (!singleSegment) {
          const wd = f[at++] ?? 0;
          const base = 2 ** (10 + (wd >> 3));
          window = base + (base / 8) * (wd & 7);
        }
        const dictBytes = [0, 1, 2, 4][dictIdFlag]!;
        const dictId = dictBytes === 0 ? 0 : f.readUIntLE(at, dictBytes);
        at += dictBytes;
        if (dictId !== 0) throw new ZstdDataError(`zstd frame needs dictionary ${dictId}, which is not supported`);
        const fcsBytes = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag]!;
        if (singleSegment) {
          // the window is the whole content; fzstd allocates it up front
          const size = fcsBytes === 8 ? Number(f.readBigUInt64LE(at)) : fcsBytes === 0 ? 0 : f.readUIntLE(at, fcsBytes) + (fcsBytes === 2 ? 256 : 0);
          window = size;
        }
        if (window > MAX_ZSTD_WINDOW) {
          throw new ZstdDataError(`zstd window of ${window} bytes exceeds the supported ${MAX_ZSTD_WINDOW}`);
        }
        this.expect('blockHeader');
        return;
      }
      case 'blockHeader': {
        const header = f.readUIntLE(0, 3);
        this.lastBlock = (header & 1) === 1;
        const type = (header >> 1) & 3;
        const size = header >>> 3;
        if (type === 3) throw new ZstdDataError('zstd block of reserved type');
        if (size > MAX_BLOCK_SIZE) throw new ZstdDataError(`zstd block of ${size} bytes exceeds 128 KiB`);
        this.state = 'blockBody';
        this.remaining = type === 1 ? 1 : size;
        if (this.remaining === 0) this.endBlock(); // an empty block ends right here
        return;
      }
      default:
        return;
    }
  }
}

/**
 * A Transform that decompresses zstd with backpressure inside a chunk: after each block it stops
 * when the readable side is full and continues when the reader asks for more.
 */
export class ZstdDecompressStream extends Transform {
  /** compressed bytes handed to the decoder so far */
  bytesIn = 0;
  private readonly tracker = new ZstdFrameTracker();
  private readonly decoder: Decompress;
  private pending: (() => void) | undefined;

  constructor() {
    super({ readableHighWaterMark: 128 * 1024 });
    this.decoder = new Decompress((data) => {
      if (data.length > 0) this.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.work(chunk, 0, callback);
  }

  private work(chunk: Buffer, offset: number, callback: TransformCallback): void {
    let at = offset;
    try {
      while (at < chunk.length) {
        if (this.destroyed) return;
        const end = this.tracker.advance(chunk, at);
        this.decoder.push(chunk.subarray(at, end));
        this.bytesIn += end - at;
        at = end;
        if (at < chunk.length && this.readableLength >= this.readableHighWaterMark) {
          const resumeAt = at;
          this.pending = () => this.work(chunk, resumeAt, callback);
          return;
        }
      }
    } catch (err) {
      callback(asZstdError(err));
      return;
    }
    callback();
  }

  override _read(size: number): void {
    const pending = this.pending;
    if (pending) {
      this.pending = undefined;
      pending();
    }
    super._read(size);
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.tracker.finish();
      this.decoder.push(new Uint8Array(0), true);
    } catch (err) {
      callback(asZstdError(err));
      return;
    }
    callback();
  }
}

function asZstdError(err: unknown): Error {
  if (err instanceof ZstdDataError) return err;
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  // fzstd code 5 = unexpected EOF
  return new ZstdDataError(`zstd: ${message}`, code === 5);
}
