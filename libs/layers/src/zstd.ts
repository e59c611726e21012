// Streaming zstd decompression: node:zlib's zstd decoder (libzstd, Node >= 24) does the work, with
// its window limited to MAX_ZSTD_WINDOW. In front of it, ZstdFrameTracker walks the frame structure
// (headers only; block bodies are skipped, not copied), so that a hostile frame is refused with a
// message that says what is wrong before libzstd sees it, and a stream cut off between blocks is
// reported as truncated.
import { Transform, type TransformCallback, type TransformOptions } from 'node:stream';
import { constants as zlibConstants, createZstdDecompress, type ZstdOptions } from 'node:zlib';

const ZSTD_MAGIC = 0xfd2fb528;
const MAX_BLOCK_SIZE = 128 * 1024;
/**
 * Output buffer of one decoder call. Each call costs the main thread a round trip from the thread
 * pool (a callback, a new buffer, a stream push) whatever its size, so larger calls save CPU (about
 * 100 ms per 170 MB of tar at 256 KiB). But every tar entry's content and header is a view into one
 * of these buffers, and a view that outlives a young-generation collection keeps its whole buffer
 * until a full one: with 150,000 small files, 256 KiB buffers held about 60 MB more peak RSS than
 * 64 KiB ones (the hostile suite's 300 MB bound, issue 12), so 64 KiB it is.
 */
export const DECODER_CHUNK_BYTES = 64 * 1024;
/** decoded bytes held ahead of the walk, so the decoder keeps working while the walk is busy with an entry */
export const DECODER_AHEAD_BYTES = 4 * DECODER_CHUNK_BYTES;

/** zstd's own default decoder limit (ZSTD_WINDOWLOG_LIMIT_DEFAULT = 27) */
export const MAX_ZSTD_WINDOW = 1 << 27;

/** Raised for malformed or unsupported zstd data; `truncated` when the data simply stops. */
export class ZstdDataError extends Error {
  constructor(
    message: string,
    readonly truncated = false,
  ) {
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
          // the window is the whole content, which a decoder allocates up front
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

/** Passes zstd data through unchanged while ZstdFrameTracker checks its frame structure. */
export class ZstdFrameCheck extends Transform {
  /** compressed bytes passed on so far */
  bytesIn = 0;
  private readonly tracker = new ZstdFrameTracker();

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      for (let at = 0; at < chunk.length; ) at = this.tracker.advance(chunk, at);
    } catch (err) {
      callback(err as Error);
      return;
    }
    this.bytesIn += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.tracker.finish();
    } catch (err) {
      callback(err as Error);
      return;
    }
    callback();
  }
}

/** libzstd's decoder from node:zlib, limited to MAX_ZSTD_WINDOW, with 64 KiB output chunks. */
export function createZstdDecoder(): Transform {
  const options: ZstdOptions & TransformOptions = {
    chunkSize: DECODER_CHUNK_BYTES,
    readableHighWaterMark: DECODER_AHEAD_BYTES,
    params: { [zlibConstants.ZSTD_d_windowLogMax]: Math.log2(MAX_ZSTD_WINDOW) },
  };
  return createZstdDecompress(options);
}
