// The registry client's public shapes: its options, what it returns, and the client itself.
import type { Readable } from 'node:stream';
import type { Credentials } from '../credentials.js';

export interface RegistryClientOptions {
  /** answer auth challenges with these (opening an image: given ones skip the credential lookup) */
  credentials?: Credentials;
  /** plain HTTP for a registry that is not on loopback */
  insecure?: boolean;
  /** User-Agent header (default "strata") */
  userAgent?: string;
  /** retries after the first attempt for network errors, 5xx, 429 and broken blob bodies (default 3) */
  retries?: number;
  /** first backoff delay; doubles per retry (default 250 ms) */
  retryDelayMs?: number;
  /** longest Retry-After we wait for; a longer one fails at once (default 60 s) */
  maxRetryAfterMs?: number;
  /** abort a response that delivers no bytes for this long, then retry (default 60 s) */
  idleTimeoutMs?: number;
  signal?: AbortSignal;
  /** awaited before every HTTP request to the registry (retries included): a rate limiter's hook */
  throttle?: (signal?: AbortSignal) => Promise<void>;
}

export interface ManifestResponse {
  /** digest of the exact bytes received (verified against the requested digest or Docker-Content-Digest) */
  digest: string;
  /** the Content-Type the registry declared, parameters stripped */
  mediaType?: string;
  body: Buffer;
}

export interface ManifestHead {
  digest?: string;
  mediaType?: string;
  size?: number;
}

export interface RequestContext {
  /** the image as the user named it, for messages */
  image?: string;
  signal?: AbortSignal;
}

export interface BlobOptions extends RequestContext {
  /** start at this byte; the digest can only be verified when reading from 0 */
  offset?: number;
  /** declared size from the descriptor, checked while streaming */
  size?: number;
  /** what the blob is, for messages: 'layer', 'config' (default 'blob') */
  kind?: string;
}

export interface RegistryClient {
  readonly registry: string;
  readonly baseUrl: string;
  getManifest(repository: string, reference: string, options?: RequestContext & { accept?: string[] }): Promise<ManifestResponse>;
  /** undefined when the manifest does not exist */
  headManifest(repository: string, reference: string, options?: RequestContext & { accept?: string[] }): Promise<ManifestHead | undefined>;
  /** a blob's bytes, verified against its digest while streaming (from offset 0) */
  getBlob(repository: string, digest: string, options?: BlobOptions): Promise<Readable>;
  /** a small blob (config) read into memory and verified */
  getBlobBytes(repository: string, digest: string, maxBytes: number, options?: BlobOptions): Promise<Buffer>;
  /** every repository in the registry's catalog, following Link pagination */
  listRepositories(options?: RequestContext & { pageSize?: number }): Promise<string[]>;
  /** every tag of a repository, following Link pagination */
  listTags(repository: string, options?: RequestContext & { pageSize?: number }): Promise<string[]>;
}
