// Content digests: parse, compute, and verify while streaming.
import { createHash, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { BlobSizeError, BlobDigestMismatchError, OciError } from './errors.js';

export type DigestAlgorithm = 'sha256' | 'sha512';

export function parseDigest(digest: string, what = 'digest'): { algorithm: DigestAlgorithm; hex: string } {
  const match = /^(sha256|sha512):([a-f0-9]+)$/.exec(digest);
  const hexLength = match?.[1] === 'sha512' ? 128 : 64;
  if (!match || (match[2] as string).length !== hexLength) {
    throw new OciError(`unsupported or malformed ${what} "${digest}" (expected sha256:<64 hex> or sha512:<128 hex>)`);
  }
  return { algorithm: match[1] as DigestAlgorithm, hex: match[2] as string };
}

export function digestOf(data: Buffer | string, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

export function hasherFor(digest: string, what?: string): Hash {
  return createHash(parseDigest(digest, what).algorithm);
}

/** Throws BlobDigestMismatchError unless `data` hashes to `expected`. */
export function verifyBuffer(data: Buffer, expected: string, kind: string, image?: string): void {
  const actual = digestOf(data, parseDigest(expected, `${kind} digest`).algorithm);
  if (actual !== expected) {
    const options: ConstructorParameters<typeof BlobDigestMismatchError>[0] = { kind, expected, actual };
    if (image !== undefined) options.image = image;
    throw new BlobDigestMismatchError(options);
  }
}

export interface VerifyOptions {
  /** the digest the bytes must hash to; undefined = count bytes only */
  expected?: string;
  /** declared size in bytes, checked while streaming (too long fails at once) and at the end */
  size?: number;
  /** 'layer', 'config', ... for messages */
  kind: string;
  image?: string;
}

/**
 * Wraps a chunk source in a Readable that hashes every byte as it passes and fails the stream
 * (before its end) with BlobDigestMismatchError when the digest does not match, or BlobSizeError when
 * the byte count disagrees with the declared size.
 */
export function verifyingStream(source: AsyncIterable<Uint8Array>, options: VerifyOptions): Readable {
  return Readable.from(verifyChunks(source, options), { objectMode: false });
}

export async function* verifyChunks(source: AsyncIterable<Uint8Array>, options: VerifyOptions): AsyncGenerator<Buffer> {
  const hash = options.expected !== undefined ? hasherFor(options.expected, `${options.kind} digest`) : undefined;
  const imagePart = options.image ? ` of image ${options.image}` : '';
  const name = options.expected ?? options.kind;
  let count = 0;
  for await (const chunk of source) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    count += buf.length;
    if (options.size !== undefined && count > options.size) {
      throw new BlobSizeError(`${options.kind} ${name}${imagePart} is longer than its declared size of ${options.size} bytes`, sizeOpts(options));
    }
    hash?.update(buf);
    yield buf;
  }
  if (options.size !== undefined && count !== options.size) {
    throw new BlobSizeError(`${options.kind} ${name}${imagePart} is truncated: got ${count} of ${options.size} declared bytes`, sizeOpts(options));
  }
  if (hash && options.expected !== undefined) {
    const actual = `${parseDigest(options.expected).algorithm}:${hash.digest('hex')}`;
    if (actual !== options.expected) {
      const err: ConstructorParameters<typeof BlobDigestMismatchError>[0] = { kind: options.kind, expected: options.expected, actual };
      if (options.image !== undefined) err.image = options.image;
      throw new BlobDigestMismatchError(err);
    }
  }
}

function sizeOpts(options: VerifyOptions): { image?: string } {
  return options.image === undefined ? {} : { image: options.image };
}

/** Reads a whole (small) stream into memory, failing once it exceeds maxBytes. */
export async function readAll(source: AsyncIterable<Uint8Array>, maxBytes: number, what: string, image?: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of source) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    total += buf.length;
    if (total > maxBytes) {
      throw new BlobSizeError(`${what}${image ? ` of image ${image}` : ''} exceeds the limit of ${maxBytes} bytes`, image === undefined ? {} : { image });
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks, total);
}
