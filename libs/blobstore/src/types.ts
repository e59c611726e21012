// The BlobStore port: content-addressed blobs (layers, configs) plus small documents
// (layer inventories, reports) under free-form keys, in one key space.
import type { Readable } from 'node:stream';
import { describeError } from '@strata/errors';

export type DigestAlgorithm = 'sha256' | 'sha512';

export interface BlobInfo {
  digest: string;
  size: number;
}

export interface BlobStat {
  size: number;
}

/** A document with the version it was read at, for a conditional write (putObjectIfMatch). */
export interface VersionedDocument {
  body: Uint8Array;
  /** Opaque; changes whenever the content changes (the S3 ETag; a content hash on the filesystem). */
  version: string;
}

export interface PutBlobOptions {
  /** Expected size in bytes; a different size is rejected like a digest mismatch. */
  size?: number;
}

export interface BlobStore {
  /** Where the store lives, for logs and claim-check events (`file:///…`, `s3://host:port/bucket`). */
  readonly location: string;
  /**
   * Streams `source` into the store under `digest` (`sha256:<hex>`), verifying the digest while it
   * streams. A mismatch rejects with BlobStoreDigestMismatchError (or SizeMismatchError) and leaves nothing
   * behind. Concurrent puts of the same digest are safe: both succeed and one object remains.
   */
  putBlob(digest: string, source: AsyncIterable<Uint8Array>, options?: PutBlobOptions): Promise<BlobInfo>;
  /** A stream of the blob; rejects with BlobNotFoundError when it is missing. */
  getBlob(digest: string): Promise<Readable>;
  /** For a digest or a document key. */
  exists(key: string): Promise<boolean>;
  stat(key: string): Promise<BlobStat | undefined>;
  /** Every key starting with `prefix`: blobs appear as their digest (`sha256:…`), documents as their key. No order is promised. */
  list(prefix: string): AsyncIterable<string>;
  /** Deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Stores a small document (written whole, replaced atomically). */
  putObject(key: string, body: Uint8Array | string): Promise<void>;
  /** The document, or undefined when there is none. */
  getObject(key: string): Promise<Uint8Array | undefined>;
  /** The document and its version, or undefined when there is none. */
  getObjectVersioned(key: string): Promise<VersionedDocument | undefined>;
  /**
   * Compare-and-swap of a document: stores `body` only if the document is still at version
   * `expected` (null: only if there is none), atomically with respect to every other write or
   * delete of the key. Resolves with the new version, or undefined when the condition did not hold
   * (someone else wrote, created or deleted it meanwhile): read it again and decide.
   */
  putObjectIfMatch(key: string, body: Uint8Array | string, expected: string | null): Promise<string | undefined>;
  close(): Promise<void>;
}

export class InvalidKeyError extends Error {
  readonly key: string;
  constructor(key: string, reason: string) {
    super(`invalid blob store key ${JSON.stringify(key)}: ${reason}`);
    this.name = 'InvalidKeyError';
    this.key = key;
  }
}

/** Content that does not match what it claims to be. */
export class BlobIntegrityError extends Error {
  readonly expected: string;
  readonly actual: string;
  constructor(message: string, expected: string, actual: string) {
    super(message);
    this.name = 'BlobIntegrityError';
    this.expected = expected;
    this.actual = actual;
  }
}

export class BlobStoreDigestMismatchError extends BlobIntegrityError {
  constructor(expected: string, actual: string) {
    super(`digest mismatch: expected ${expected}, content has ${actual}`, expected, actual);
    this.name = 'BlobStoreDigestMismatchError';
  }
}

export class SizeMismatchError extends BlobIntegrityError {
  constructor(digest: string, expected: number, actual: number, complete: boolean) {
    super(`size mismatch for ${digest}: expected ${expected} bytes, got ${complete ? '' : 'more than '}${actual}`, String(expected), String(actual));
    this.name = 'SizeMismatchError';
  }
}

export class BlobNotFoundError extends Error {
  readonly key: string;
  constructor(key: string, location: string) {
    super(`${key} not found in ${location}`);
    this.name = 'BlobNotFoundError';
    this.key = key;
  }
}

/** The storage service cannot be reached (after bounded retries). */
export class BlobStoreUnavailableError extends Error {
  readonly location: string;
  constructor(location: string, action: string, cause: unknown) {
    super(`blob store ${location} unreachable while trying to ${action}: ${describeError(cause)}`, { cause });
    this.name = 'BlobStoreUnavailableError';
    this.location = location;
  }
}

export type ParsedKey = { kind: 'blob'; digest: string; algorithm: DigestAlgorithm; hex: string } | { kind: 'document'; key: string };

const DIGEST = /^(sha256|sha512):([0-9a-f]+)$/;
const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };
const SEGMENT = /^[A-Za-z0-9_@+=:-][A-Za-z0-9._@+=:-]*$/;
/** Where the adapters keep blobs; no document may live there. */
export const RESERVED_PREFIX = 'blobs/';

export function parseDigest(digest: string): Extract<ParsedKey, { kind: 'blob' }> {
  const parsed = parseKey(digest);
  if (parsed.kind !== 'blob') throw new InvalidKeyError(digest, 'expected a digest like sha256:<64 hex digits>');
  return parsed;
}

/** Digests (`sha256:<hex>`, `sha512:<hex>`) name blobs; anything else must be a safe relative document key. */
export function parseKey(key: string): ParsedKey {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidKeyError(String(key), 'empty');
  if (/^sha(256|512):/.test(key)) {
    const m = DIGEST.exec(key);
    const algorithm = m?.[1] as DigestAlgorithm | undefined;
    if (!m || !algorithm || m[2]!.length !== HEX_LENGTH[algorithm]) {
      throw new InvalidKeyError(key, 'not a valid digest (lowercase hex of the right length)');
    }
    return { kind: 'blob', digest: key, algorithm, hex: m[2]! };
  }
  if (/^[a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(key))
    throw new InvalidKeyError(key, 'unsupported digest algorithm (sha256 and sha512 are supported)');
  if (key.length > 512) throw new InvalidKeyError(key, 'longer than 512 characters');
  if (key.startsWith(RESERVED_PREFIX)) throw new InvalidKeyError(key, `${RESERVED_PREFIX} is reserved for blobs`);
  for (const segment of key.split('/')) {
    if (!SEGMENT.test(segment)) {
      throw new InvalidKeyError(key, 'use "/"-separated segments of letters, digits and ._-@+=: (not starting with ".")');
    }
  }
  return { kind: 'document', key };
}

export function parseDocumentKey(key: string): string {
  const parsed = parseKey(key);
  if (parsed.kind !== 'document') throw new InvalidKeyError(key, 'documents use plain keys; store content-addressed data with putBlob');
  return parsed.key;
}

/** Whether a listing with `prefix` can contain blobs (their keys all start with "sha256:" or "sha512:"). */
export function blobPrefixes(prefix: string): { algorithm: DigestAlgorithm; hexPrefix: string }[] {
  return (['sha256', 'sha512'] as const).flatMap((algorithm) => {
    const head = `${algorithm}:`;
    if (head.startsWith(prefix)) return [{ algorithm, hexPrefix: '' }];
    if (prefix.startsWith(head)) return [{ algorithm, hexPrefix: prefix.slice(head.length) }];
    return [];
  });
}

/** Whether a listing with `prefix` can contain documents. */
export function documentPrefixApplies(prefix: string): boolean {
  return !/^sha(256|512):/.test(prefix) && !prefix.startsWith(RESERVED_PREFIX);
}
