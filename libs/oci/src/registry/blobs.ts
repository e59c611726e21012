// Blobs (layers, configs) as verified streams: the digest and declared size are checked while the
// bytes flow, and a body that breaks off or stalls is resumed with Range (or re-read from the
// start, skipping what was already handed out, when the registry has no Range support).
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from '@strata/errors';
import { NotFoundError, OciError, RegistryError } from '../errors.js';
import { parseDigest, readAll, verifyChunks } from '../digest.js';
import { abortError, discard, errorDetail, type HttpResponse } from './http.js';
import { send } from './request.js';
import { repoPath, signalFor, where, type Session } from './session.js';
import type { BlobOptions } from './types.js';

async function openBlobResponse(
  session: Session,
  repository: string,
  digest: string,
  start: number,
  ctx: BlobOptions,
  signal: AbortSignal | undefined,
): Promise<HttpResponse> {
  const { registry } = session;
  const headers: Record<string, string> = {};
  if (start > 0) headers.Range = `bytes=${start}-`;
  const res = await send(session, {
    method: 'GET',
    url: `${session.baseUrl}/v2/${repoPath(repository)}/blobs/${digest}`,
    scope: `repository:${repository}:pull`,
    headers,
    repository,
    ...(ctx.image !== undefined ? { image: ctx.image } : {}),
    ...(signal ? { signal } : {}),
  });
  const kind = ctx.kind ?? 'blob';
  if (res.status === 404) {
    await discard(res);
    throw new NotFoundError(`${kind} ${digest} of ${where(session, repository, ctx.image)} not found in registry ${registry} (HTTP 404)`, {
      registry,
      repository,
      status: 404,
      ...(ctx.image !== undefined ? { image: ctx.image } : {}),
    });
  }
  if (res.status !== 200 && res.status !== 206) {
    const detail = await errorDetail(res);
    throw new RegistryError(
      `registry ${registry} answered HTTP ${res.status} for ${kind} ${digest} of ${where(session, repository, ctx.image)}${detail ? `: ${detail}` : ''}`,
      {
        registry,
        repository,
        status: res.status,
        ...(ctx.image !== undefined ? { image: ctx.image } : {}),
      },
    );
  }
  return res;
}

/** Offset of the first byte of a response to a request that started at `start`. */
function firstByte(res: HttpResponse, start: number): number {
  if (res.status !== 206) return 0;
  const m = /^bytes\s+(\d+)-/.exec(res.headers.get('content-range') ?? '');
  return m ? Number(m[1]) : start;
}

async function* blobBytes(
  session: Session,
  repository: string,
  digest: string,
  first: HttpResponse,
  start: number,
  ctx: BlobOptions,
  signal: AbortSignal | undefined,
): AsyncGenerator<Buffer> {
  const { registry, idleTimeoutMs } = session;
  const kind = ctx.kind ?? 'blob';
  let res = first;
  let position = start; // absolute offset of the next byte we hand out
  let failures = 0;
  let rangeSupported = (first.headers.get('accept-ranges') ?? '').toLowerCase().includes('bytes') || first.status === 206;
  for (;;) {
    let at = firstByte(res, position);
    if (at > position) {
      await discard(res);
      throw new RegistryError(
        `registry ${registry} resumed ${kind} ${digest} of ${where(session, repository, ctx.image)} at byte ${at}, after the requested ${position}`,
        {
          registry,
          repository,
        },
      );
    }
    const idle = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => idle.abort(new Error(`no data for ${idleTimeoutMs} ms`)), idleTimeoutMs);
    };
    try {
      const body = res.body;
      const onIdle = () => body.destroy(idle.signal.reason as Error);
      idle.signal.addEventListener('abort', onIdle, { once: true });
      arm();
      try {
        for await (const value of body as AsyncIterable<Buffer>) {
          if (idle.signal.aborted) throw idle.signal.reason;
          arm();
          let buf = value;
          if (at < position) {
            // A server without Range support restarted from an earlier byte: skip what we already handed out.
            const skip = Math.min(buf.length, position - at);
            at += skip;
            buf = buf.subarray(skip);
            if (buf.length === 0) continue;
          }
          at += buf.length;
          position += buf.length;
          yield buf;
        }
        if (idle.signal.aborted) throw idle.signal.reason;
      } finally {
        clearTimeout(timer);
      }
      if (at < position) throw new Error(`the retried response ended at byte ${at}, before byte ${position}`);
      if (ctx.size !== undefined && position < ctx.size) throw new Error(`connection closed at byte ${position} of ${ctx.size}`);
      return;
    } catch (err) {
      clearTimeout(timer);
      await discard(res);
      if (signal?.aborted) throw abortError(signal);
      if (err instanceof OciError) throw err;
      failures++;
      if (failures > session.retries) {
        throw new RegistryError(
          `reading ${kind} ${digest} of ${where(session, repository, ctx.image)} from registry ${registry} failed after ${failures} attempt(s) at byte ${position}: ${describeError(err)}`,
          { registry, repository, ...(ctx.image !== undefined ? { image: ctx.image } : {}), cause: err },
        );
      }
      await sleep(session.retryDelayMs * 2 ** (failures - 1), undefined, signal ? { signal } : undefined);
      res = await openBlobResponse(session, repository, digest, rangeSupported ? position : 0, ctx, signal);
      if (res.status === 206) rangeSupported = true;
      else if (position > 0) rangeSupported = (res.headers.get('accept-ranges') ?? '').toLowerCase().includes('bytes');
    }
  }
}

export async function getBlob(session: Session, repository: string, digest: string, ctx: BlobOptions = {}): Promise<Readable> {
  parseDigest(digest, 'blob digest');
  const signal = signalFor(session, ctx);
  const start = ctx.offset ?? 0;
  const first = await openBlobResponse(session, repository, digest, start, ctx, signal);
  const bytes = blobBytes(session, repository, digest, first, start, ctx, signal);
  const verify: Parameters<typeof verifyChunks>[1] = { kind: ctx.kind ?? 'blob' };
  if (start === 0) verify.expected = digest;
  if (ctx.size !== undefined) verify.size = ctx.size - start;
  if (ctx.image !== undefined) verify.image = ctx.image;
  return Readable.from(verifyChunks(bytes, verify), { objectMode: false });
}

export async function getBlobBytes(session: Session, repository: string, digest: string, maxBytes: number, ctx: BlobOptions = {}): Promise<Buffer> {
  const stream = await getBlob(session, repository, digest, ctx);
  return readAll(stream, maxBytes, `${ctx.kind ?? 'blob'} ${digest}`, ctx.image);
}
