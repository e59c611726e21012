// S3 BlobStore on the `minio` client. Blobs live at blobs/<alg>/<hex>, documents at their key.
//
// putBlob streams into a multipart upload on the final key while hashing, and completes the upload
// only when the digest matches; on a mismatch (or any failure) it aborts the upload, so no object,
// temporary or final, is ever visible. Memory stays at two part buffers whatever the blob size.
import * as http from 'node:http';
import * as https from 'node:https';
import type { Readable } from 'node:stream';
import { createLogger, type Logger } from '@strata/log';
import { describeError } from '@strata/errors';
import { Verifier } from './verify.js';
import {
  BlobNotFoundError,
  BlobStoreUnavailableError,
  blobPrefixes,
  documentPrefixApplies,
  parseDigest,
  parseDocumentKey,
  parseKey,
  RESERVED_PREFIX,
} from './types.js';
import type { BlobInfo, BlobStat, BlobStore, ParsedKey, PutBlobOptions, VersionedDocument } from './types.js';

export interface S3BlobStoreOptions {
  endPoint: string;
  port?: number;
  useSSL?: boolean;
  accessKey: string;
  secretKey: string;
  bucket: string;
  /** Default us-east-1 (saves the bucket-location lookup). */
  region?: string;
  /** Created when missing. Default true. */
  createBucket?: boolean;
  /** Multipart part size; memory per concurrent put is about twice this. Default 16 MiB (max blob 160 GB). */
  partSizeBytes?: number;
  /** Retries of a request that failed on the network or with a 5xx/503 SlowDown. Default 4. */
  retries?: number;
  /** First retry delay, doubling after. Default 250 ms. */
  retryDelayMs?: number;
  /** A request with no progress for this long (connect, upload, waiting for the response) fails. Default 30 s. */
  requestTimeoutMs?: number;
  /** A download that stalls this long fails. Default 5 min. */
  streamIdleTimeoutMs?: number;
  /** Retries are logged here at warn level. */
  logger?: Logger;
}

const MiB = 1024 * 1024;
const NOT_FOUND = new Set(['NoSuchKey', 'NotFound', 'NoSuchObject']);
/** A conditional PUT that lost: the ETag moved (412), the key is gone (If-Match on a missing key), or another conditional write was in flight (409). */
const CONDITION_FAILED = new Set(['PreconditionFailed', 'ConditionalRequestConflict', ...NOT_FOUND]);
const unquote = (etag: string) => etag.replace(/^"|"$/g, '');
const RETRYABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ESOCKETTIMEDOUT',
  'ECONNABORTED',
  'ERR_S3_TIMEOUT',
  'SlowDown',
  'InternalError',
  'ServiceUnavailable',
  'XMinioServerNotInitialized',
]);

class S3TimeoutError extends Error {
  readonly code = 'ERR_S3_TIMEOUT';
  constructor(what: string, ms: number) {
    super(`${what}: no progress for ${ms} ms`);
    this.name = 'S3TimeoutError';
  }
}

const codeOf = (e: unknown): string | undefined => {
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'string' ? code : undefined;
};

function isRetryable(e: unknown): boolean {
  const code = codeOf(e);
  if (code && RETRYABLE_CODES.has(code)) return true;
  const message = e instanceof Error ? e.message : '';
  return /socket hang up|Retryable HTTP status|ECONNREFUSED|ECONNRESET/.test(message);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** http(s).request with timeouts minio-js does not have: none of our requests can hang forever. */
function timedTransport(useSSL: boolean, location: string, requestTimeoutMs: number, streamIdleTimeoutMs: number) {
  const base = useSSL ? https : http;
  return {
    request(options: http.RequestOptions, callback?: (res: http.IncomingMessage) => void): http.ClientRequest {
      const req = base.request(options, (res) => {
        req.setTimeout(streamIdleTimeoutMs, () => res.destroy(new S3TimeoutError(`download from ${location} stalled`, streamIdleTimeoutMs)));
        callback?.(res);
      });
      req.setTimeout(requestTimeoutMs, () =>
        req.destroy(new S3TimeoutError(`request to ${location} (${options.method ?? 'GET'} ${options.path ?? ''})`, requestTimeoutMs)),
      );
      return req;
    },
  } as Pick<typeof http, 'request'>;
}

export async function createS3BlobStore(options: S3BlobStoreOptions): Promise<BlobStore> {
  const useSSL = options.useSSL ?? false;
  const port = options.port ?? (useSSL ? 443 : 80);
  const bucket = options.bucket;
  const endpoint = `${useSSL ? 'https' : 'http'}://${options.endPoint}:${port}`;
  const location = `s3://${options.endPoint}:${port}/${bucket}`;
  const where = `S3 endpoint ${endpoint}, bucket ${bucket}`;
  const partSize = options.partSizeBytes ?? 16 * MiB;
  if (partSize < 5 * MiB) throw new RangeError(`partSizeBytes must be at least 5 MiB (an S3 rule), got ${partSize}`);
  const retries = options.retries ?? 4;
  const retryDelayMs = options.retryDelayMs ?? 250;
  const agent = new (useSSL ? https : http).Agent({ keepAlive: true, maxSockets: 64 });
  const logger = options.logger ?? createLogger({ service: 'strata-blobstore', level: process.env.STRATA_LOG_LEVEL ?? 'warn' });

  // minio takes about a second to load: only processes that use S3 pay for it.
  const { Client } = await import('minio');
  const client = new Client({
    endPoint: options.endPoint,
    port,
    useSSL,
    accessKey: options.accessKey,
    secretKey: options.secretKey,
    region: options.region ?? 'us-east-1',
    partSize,
    transport: timedTransport(useSSL, endpoint, options.requestTimeoutMs ?? 30_000, options.streamIdleTimeoutMs ?? 300_000),
    transportAgent: agent,
    // We retry ourselves (bounded, also on network errors, and without console output).
    retryOptions: { disableRetry: true },
  });

  async function attempt<T>(action: string, fn: () => Promise<T>): Promise<T> {
    for (let tries = 0; ; tries++) {
      try {
        return await fn();
      } catch (error) {
        if (!isRetryable(error)) throw new Error(`${where}: ${action} failed: ${describeError(error)}`, { cause: error });
        if (tries >= retries) throw new BlobStoreUnavailableError(`${endpoint} (bucket ${bucket})`, `${action} after ${tries + 1} attempts`, error);
        const delay = retryDelayMs * 2 ** tries;
        logger.warn({ endpoint, bucket, action, attempt: tries + 1, retryInMs: delay, err: describeError(error) }, 'S3 request failed; retrying');
        await sleep(delay);
      }
    }
  }

  const objectName = (parsed: ParsedKey) => (parsed.kind === 'blob' ? `${RESERVED_PREFIX}${parsed.algorithm}/${parsed.hex}` : parsed.key);

  async function statObject(name: string, action: string): Promise<BlobStat | undefined> {
    try {
      const s = await attempt(action, () => client.statObject(bucket, name));
      return { size: s.size };
    } catch (error) {
      if (NOT_FOUND.has(codeOf((error as Error).cause) ?? '')) return undefined;
      throw error;
    }
  }

  async function* listNames(prefix: string): AsyncGenerator<string> {
    const stream = await attempt(`list ${prefix}`, async () => client.listObjectsV2(bucket, prefix, true));
    try {
      for await (const item of stream as AsyncIterable<{ name?: string }>) if (item.name) yield item.name;
    } catch (error) {
      throw isRetryable(error)
        ? new BlobStoreUnavailableError(`${endpoint} (bucket ${bucket})`, `list ${prefix}`, error)
        : new Error(`${where}: list ${prefix} failed: ${describeError(error)}`, { cause: error });
    }
  }

  async function getDocument(key: string): Promise<VersionedDocument | undefined> {
    const name = parseDocumentKey(key);
    try {
      return await attempt(`get ${key}`, async () => {
        const response = await client.getObject(bucket, name);
        const etag = (response as Readable & { headers?: Record<string, string | undefined> }).headers?.etag;
        const chunks: Buffer[] = [];
        for await (const chunk of response) chunks.push(chunk as Buffer);
        if (!etag) throw new Error(`${where}: GET ${key} answered without an ETag`);
        return { body: Buffer.concat(chunks), version: unquote(etag) };
      });
    } catch (error) {
      if (NOT_FOUND.has(codeOf((error as Error).cause) ?? '')) return undefined;
      throw error;
    }
  }

  if (options.createBucket ?? true) {
    const exists = await attempt('check the bucket', () => client.bucketExists(bucket));
    if (!exists) {
      try {
        await attempt('create the bucket', () => client.makeBucket(bucket, options.region ?? 'us-east-1'));
      } catch (error) {
        // Someone else created it meanwhile.
        if (!/BucketAlreadyOwnedByYou|BucketAlreadyExists/.test(codeOf((error as Error).cause) ?? '')) throw error;
      }
    }
  }

  async function putBlob(digest: string, source: AsyncIterable<Uint8Array>, opts: PutBlobOptions = {}): Promise<BlobInfo> {
    const verifier = new Verifier(digest, opts.size);
    const name = objectName(parseDigest(digest));
    // Two part buffers: one uploading while the other fills. allocUnsafe pages that are never
    // touched (small blobs) cost no resident memory.
    let filling: Buffer | undefined;
    let spare: Buffer | undefined;
    let filled = 0;
    let uploadId: string | undefined;
    let uploading: Promise<void> | undefined;
    const parts: { part: number; etag: string }[] = [];

    const startPart = async (data: Buffer) => {
      await uploading;
      uploadId ??= await attempt(`start the upload of ${digest}`, () => client.initiateNewMultipartUpload(bucket, name, {}));
      const id = uploadId;
      const part = parts.length + 1;
      parts.push({ part, etag: '' });
      uploading = attempt(`upload part ${part} of ${digest}`, () =>
        client.uploadPart({ bucketName: bucket, objectName: name, uploadID: id, partNumber: part, headers: {} }, data),
      ).then((res) => void (parts[part - 1]!.etag = res.etag));
      uploading.catch(() => undefined); // awaited later; don't let it count as unhandled meanwhile
    };

    try {
      for await (const raw of source) {
        const chunk = verifier.update(raw);
        for (let offset = 0; offset < chunk.byteLength; ) {
          filling ??= Buffer.allocUnsafe(partSize);
          const n = Math.min(chunk.byteLength - offset, partSize - filled);
          filling.set(chunk.subarray(offset, offset + n), filled);
          filled += n;
          offset += n;
          if (filled === partSize) {
            await startPart(filling);
            [filling, spare] = [spare, filling];
            filled = 0;
          }
        }
      }
      const info = verifier.finish();
      const last = filling ? filling.subarray(0, filled) : Buffer.alloc(0);
      if (uploadId === undefined) {
        // Fits in one part: a plain PUT of the verified bytes.
        await attempt(`store ${digest}`, () => client.putObject(bucket, name, last, last.byteLength));
      } else {
        if (filled > 0) await startPart(last);
        await uploading;
        const id = uploadId;
        try {
          await attempt(`complete the upload of ${digest}`, () => client.completeMultipartUpload(bucket, name, id, parts));
        } catch (error) {
          // A retried complete whose first try did succeed finds the upload gone, and the object there.
          if (codeOf((error as Error).cause) !== 'NoSuchUpload' || (await statObject(name, `stat ${digest}`))?.size !== info.size) throw error;
        }
      }
      return info;
    } catch (error) {
      if (uploadId !== undefined) {
        const id = uploadId;
        await uploading?.catch(() => undefined);
        await attempt(`abort the upload of ${digest}`, () => client.abortMultipartUpload(bucket, name, id)).catch(() => undefined);
      }
      throw error;
    } finally {
      spare = undefined;
      filling = undefined;
    }
  }

  return {
    location,
    putBlob,

    async getBlob(digest: string): Promise<Readable> {
      const name = objectName(parseDigest(digest));
      try {
        return await attempt(`get ${digest}`, () => client.getObject(bucket, name));
      } catch (error) {
        if (NOT_FOUND.has(codeOf((error as Error).cause) ?? '')) throw new BlobNotFoundError(digest, location);
        throw error;
      }
    },

    async exists(key: string): Promise<boolean> {
      return (await statObject(objectName(parseKey(key)), `stat ${key}`)) !== undefined;
    },

    async stat(key: string): Promise<BlobStat | undefined> {
      return statObject(objectName(parseKey(key)), `stat ${key}`);
    },

    async *list(prefix: string): AsyncIterable<string> {
      for (const { algorithm, hexPrefix } of blobPrefixes(prefix)) {
        const base = `${RESERVED_PREFIX}${algorithm}/`;
        for await (const name of listNames(`${base}${hexPrefix}`)) yield `${algorithm}:${name.slice(base.length)}`;
      }
      if (documentPrefixApplies(prefix)) {
        for await (const name of listNames(prefix)) if (!name.startsWith(RESERVED_PREFIX)) yield name;
      }
    },

    async delete(key: string): Promise<void> {
      const name = objectName(parseKey(key));
      await attempt(`delete ${key}`, () => client.removeObject(bucket, name));
    },

    async putObject(key: string, body: Uint8Array | string): Promise<void> {
      const name = parseDocumentKey(key);
      const data = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
      const contentType = name.endsWith('.json') ? 'application/json' : 'application/octet-stream';
      await attempt(`put ${key}`, () => client.putObject(bucket, name, data, data.byteLength, { 'Content-Type': contentType }));
    },

    async getObject(key: string): Promise<Uint8Array | undefined> {
      return (await getDocument(key))?.body;
    },

    getObjectVersioned: getDocument,

    async putObjectIfMatch(key: string, body: Uint8Array | string, expected: string | null): Promise<string | undefined> {
      const name = parseDocumentKey(key);
      const data = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
      const contentType = name.endsWith('.json') ? 'application/json' : 'application/octet-stream';
      // minio passes If-Match / If-None-Match through as request headers; S3 and MinIO evaluate them atomically.
      const condition = expected === null ? { 'If-None-Match': '*' } : { 'If-Match': `"${unquote(expected)}"` };
      try {
        // A retried PUT whose first try did land fails its condition: the caller reads again and finds its own write.
        const done = await attempt(`conditionally put ${key}`, () =>
          client.putObject(bucket, name, data, data.byteLength, { 'Content-Type': contentType, ...condition }),
        );
        return unquote(done.etag);
      } catch (error) {
        if (CONDITION_FAILED.has(codeOf((error as Error).cause) ?? '')) return undefined;
        throw error;
      }
    },

    async close(): Promise<void> {
      agent.destroy();
    },
  };
}
