import { createHash, type Hash } from 'node:crypto';
import { SizeMismatchError, BlobStoreDigestMismatchError, parseDigest, type BlobInfo } from './types.js';

/** Hashes and counts bytes as they stream past; finish() checks them against the claimed digest and size. */
export class Verifier {
  readonly digest: string;
  private readonly algorithm: string;
  private readonly hash: Hash;
  private readonly expectedSize: number | undefined;
  size = 0;

  constructor(digest: string, expectedSize?: number) {
    const parsed = parseDigest(digest);
    if (expectedSize !== undefined && (!Number.isSafeInteger(expectedSize) || expectedSize < 0)) {
      throw new RangeError(`size must be a non-negative integer, got ${expectedSize}`);
    }
    this.digest = digest;
    this.algorithm = parsed.algorithm;
    this.hash = createHash(parsed.algorithm);
    this.expectedSize = expectedSize;
  }

  update(chunk: unknown): Uint8Array {
    if (!(chunk instanceof Uint8Array)) throw new TypeError(`putBlob ${this.digest}: the source must yield bytes (Buffer/Uint8Array), got ${typeof chunk}`);
    this.size += chunk.byteLength;
    if (this.expectedSize !== undefined && this.size > this.expectedSize) {
      throw new SizeMismatchError(this.digest, this.expectedSize, this.size, false);
    }
    this.hash.update(chunk);
    return chunk;
  }

  finish(): BlobInfo {
    if (this.expectedSize !== undefined && this.size !== this.expectedSize) {
      throw new SizeMismatchError(this.digest, this.expectedSize, this.size, true);
    }
    const actual = `${this.algorithm}:${this.hash.digest('hex')}`;
    if (actual !== this.digest) throw new BlobStoreDigestMismatchError(this.digest, actual);
    return { digest: this.digest, size: this.size };
  }
}
