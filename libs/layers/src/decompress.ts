import { Readable, pipeline, type Transform, type TransformOptions } from 'node:stream';
import { createGunzip, type ZlibOptions } from 'node:zlib';
import { LayerError } from './errors.js';
import { createZstdDecoder, DECODER_AHEAD_BYTES, DECODER_CHUNK_BYTES, ZstdDataError, ZstdFrameCheck } from './zstd.js';

export type Compression = 'gzip' | 'zstd' | 'none';

/**
 * Compression implied by a layer media type: OCI `…tar+gzip` / `…tar+zstd` / `…tar`, Docker
 * `…rootfs.diff.tar.gzip` / `…rootfs.diff.tar`. Undefined when the media type does not say.
 */
export function compressionForMediaType(mediaType: string | undefined): Compression | undefined {
  if (!mediaType) return undefined;
  const type = (mediaType.split(';')[0] ?? '').trim().toLowerCase();
  if (/[.+]zstd$/.test(type)) return 'zstd';
  if (/[.+]gzip$/.test(type)) return 'gzip';
  if (/[./+-]tar$/.test(type)) return 'none';
  return undefined;
}

/** Compression recognised from the first bytes: gzip and zstd magic, or a plausible tar header. */
export function sniffCompression(head: Uint8Array): Compression | undefined {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4) {
    const magic = Buffer.from(head.buffer, head.byteOffset, head.byteLength).readUInt32LE(0);
    if (magic === 0xfd2fb528 || (magic & 0xfffffff0) === 0x184d2a50) return 'zstd';
  }
  return looksLikeTar(head) ? 'none' : undefined;
}

function looksLikeTar(head: Uint8Array): boolean {
  if (head.length < 512) return false;
  const block = head.subarray(0, 512);
  if (block.every((b) => b === 0)) return true; // an empty archive starts with end-of-archive blocks
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  const stored = parseInt(
    Buffer.from(block.subarray(148, 156))
      .toString('latin1')
      .replace(/[\0 ]+$/g, '')
      .trim(),
    8,
  );
  return stored === sum;
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes.subarray(0, 8)).toString('hex').replace(/(..)/g, '$1 ').trim();

export interface OpenedLayer {
  /** the uncompressed tar stream */
  stream: Readable;
  compression: Compression;
  /** set when the media type disagreed with the data or was not understood */
  warning?: string;
  /** compressed bytes consumed by the decoder so far (undefined for uncompressed layers) */
  compressedBytes?: () => number;
}

const HEAD_BYTES = 512;

/**
 * Reads the first `want` bytes (or all, if fewer) and returns them with a stream of the whole
 * content, head included. It pulls through the source's async iterator, so every chunk is read
 * exactly once: a digest tap on the source's 'data' events sees each byte once, in order.
 */
async function readHead(source: Readable, want: number): Promise<{ head: Buffer; rest: Readable }> {
  const iterator = (source as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let length = 0;
  let done = false;
  while (length < want) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
    chunks.push(chunk);
    length += chunk.length;
  }
  const rest = Readable.from(
    (async function* () {
      yield* chunks;
      chunks.length = 0;
      if (done) return;
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
      }
    })(),
    { objectMode: false, highWaterMark: 64 * 1024 },
  );
  // destroying rest must release the source even while the generator awaits it
  rest.once('close', () => source.destroy());
  return { head: Buffer.concat(chunks, length), rest };
}

/**
 * Opens the uncompressed tar stream of a layer. The media type picks the decoder; the magic bytes
 * are checked too and win when the media type lies (with a warning). Errors from source propagate
 * unchanged through the returned stream; the decoders' own errors are raw (zlib / ZstdDataError)
 * and are classified by the caller.
 */
export async function openLayer(source: Readable, mediaType: string | undefined, label?: string): Promise<OpenedLayer> {
  try {
    return await open(source, mediaType, label);
  } catch (err) {
    source.destroy();
    throw err;
  }
}

async function open(source: Readable, mediaType: string | undefined, label: string | undefined): Promise<OpenedLayer> {
  const { head, rest } = await readHead(source, HEAD_BYTES);
  if (head.length === 0) throw new LayerError('TRUNCATED', 'layer blob is empty', { label });
  const declared = compressionForMediaType(mediaType);
  const sniffed = sniffCompression(head);
  let compression: Compression;
  let warning: string | undefined;
  if (sniffed !== undefined) {
    compression = sniffed;
    if (declared !== undefined && declared !== sniffed) {
      warning = `media type ${mediaType} says ${declared} but the data is ${sniffed}; reading it as ${sniffed}`;
    } else if (declared === undefined && mediaType) {
      warning = `unrecognised layer media type ${mediaType}; data detected as ${sniffed}`;
    }
  } else if (declared === 'gzip' || declared === 'zstd') {
    rest.destroy();
    if (head.length < 4) throw new LayerError('TRUNCATED', `layer blob is only ${head.length} bytes`, { label });
    throw new LayerError('CORRUPT', `media type ${mediaType} says ${declared}, but the data is neither gzip, zstd nor tar (starts ${hex(head)})`, { label });
  } else {
    // no magic and no compressed media type: treat as a plain tar and let the tar parser judge
    compression = 'none';
    if (declared === undefined && mediaType) warning = `unrecognised layer media type ${mediaType}; reading it as an uncompressed tar`;
  }

  const opened: OpenedLayer = { stream: rest, compression };
  if (warning !== undefined) opened.warning = warning;
  if (compression === 'gzip') {
    const options: ZlibOptions & TransformOptions = { chunkSize: DECODER_CHUNK_BYTES, readableHighWaterMark: DECODER_AHEAD_BYTES };
    const gunzip = createGunzip(options);
    mapDecoderErrors(gunzip, label);
    opened.stream = pipeline(rest, gunzip, noop);
    opened.compressedBytes = () => gunzip.bytesWritten;
  } else if (compression === 'zstd') {
    const check = new ZstdFrameCheck();
    const zstd = createZstdDecoder();
    mapDecoderErrors(check, label);
    mapDecoderErrors(zstd, label);
    opened.stream = pipeline(rest, check, zstd, noop);
    opened.compressedBytes = () => check.bytesIn;
  }
  return opened;
}

/**
 * Turns the decoder's own errors into LayerErrors as the decoder is destroyed, so whoever reads
 * the stream sees TRUNCATED/CORRUPT. Errors that come from the source (propagated by pipeline)
 * pass through unchanged.
 */
function mapDecoderErrors(decoder: Transform, label: string | undefined): void {
  const destroy = decoder._destroy.bind(decoder);
  decoder._destroy = (err, callback) => destroy(err, (e) => callback(e ? decoderError(e, label) : e));
}

function decoderError(err: Error, label: string | undefined): Error {
  if (err instanceof LayerError) return err;
  if (err instanceof ZstdDataError) {
    return new LayerError(err.truncated ? 'TRUNCATED' : 'CORRUPT', err.message, { label, cause: err });
  }
  const code = (err as NodeJS.ErrnoException).code;
  if (typeof code === 'string' && code.startsWith('ZSTD_error_')) {
    return new LayerError('CORRUPT', `zstd data corrupt (${err.message})`, { label, cause: err });
  }
  if (typeof code === 'string' && code.startsWith('Z_')) {
    if (code === 'Z_BUF_ERROR') return new LayerError('TRUNCATED', `gzip data truncated (${err.message})`, { label, cause: err });
    return new LayerError('CORRUPT', `gzip data corrupt (${err.message})`, { label, cause: err });
  }
  return err;
}

function noop(): void {}

/**
 * The uncompressed content of a layer blob. Compression comes from the media type, checked against
 * the magic bytes (the bytes win; `warning` says so). Decoder failures surface on the stream as
 * LayerError (TRUNCATED / CORRUPT); errors of source pass through unchanged.
 */
export async function decompressStream(source: Readable, mediaType?: string): Promise<{ stream: Readable; compression: Compression; warning?: string }> {
  const { stream, compression, warning } = await openLayer(source, mediaType);
  return warning === undefined ? { stream, compression } : { stream, compression, warning };
}
