// One bounded HTTP download for `strata db update`. An advisory mirror is not trusted: it may
// redirect elsewhere, send more than it announced, send forever, or stall. Redirects are followed
// only within the origin asked for, the body is counted against maxDownloadBytes and against its
// own Content-Length as it arrives, and the download is abandoned after downloadTimeoutMs in all
// or downloadIdleTimeoutMs without a byte.
import { createWriteStream } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { AdvisoryLimits } from './limits.js';

export interface DownloadProgress {
  receivedBytes: number;
  /** Content-Length, when the server sent one */
  totalBytes?: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Downloads url into path (created or truncated). Throws an Error that says what went wrong. */
export async function downloadBounded(
  url: string,
  path: string,
  limits: AdvisoryLimits,
  options: { signal?: AbortSignal; onProgress?: (p: DownloadProgress) => void } = {},
): Promise<DownloadProgress> {
  const total = new AbortController();
  const idle = new AbortController();
  let failure: Error | undefined;
  const stop = (controller: AbortController, error: Error): void => {
    failure ??= error;
    controller.abort(error);
  };
  const totalTimer = setTimeout(
    () => stop(total, new Error(`download took longer than ${limits.downloadTimeoutMs} ms (downloadTimeoutMs)`)),
    limits.downloadTimeoutMs,
  );
  let idleTimer: NodeJS.Timeout | undefined;
  const touch = (): void => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(
      () => stop(idle, new Error(`no data from the server for ${limits.downloadIdleTimeoutMs} ms (downloadIdleTimeoutMs)`)),
      limits.downloadIdleTimeoutMs,
    );
  };
  const signal = AbortSignal.any([total.signal, idle.signal, ...(options.signal ? [options.signal] : [])]);
  try {
    touch();
    const res = await fetchSameOrigin(url, limits.maxRedirects, signal);
    if (!res.ok || !res.body) {
      await res.body?.cancel().catch(() => undefined);
      throw new Error(`HTTP ${res.status} ${res.statusText}`.trim());
    }
    const header = res.headers.get('content-length');
    const length = header !== null && /^\d+$/.test(header.trim()) ? Number(header) : undefined;
    if (length !== undefined && length > limits.maxDownloadBytes) {
      await res.body.cancel().catch(() => undefined);
      throw new Error(`the server announces ${length} bytes, more than maxDownloadBytes (${limits.maxDownloadBytes})`);
    }
    // fetch decodes a Content-Encoding (gzip, br): Content-Length then counts the encoded bytes,
    // not the ones received here, so it only bounds the download, it does not describe the body.
    const encoding = res.headers.get('content-encoding')?.trim().toLowerCase();
    const bodyLength = encoding && encoding !== 'identity' ? undefined : length;
    const progress: DownloadProgress = bodyLength !== undefined ? { receivedBytes: 0, totalBytes: bodyLength } : { receivedBytes: 0 };
    let lastReport = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        touch();
        progress.receivedBytes += chunk.length;
        if (progress.receivedBytes > limits.maxDownloadBytes) {
          cb(new Error(`the download passed maxDownloadBytes (${limits.maxDownloadBytes})`));
          return;
        }
        if (bodyLength !== undefined && progress.receivedBytes > bodyLength) {
          cb(new Error(`the server sent more than the ${bodyLength} bytes its Content-Length announced`));
          return;
        }
        if (progress.receivedBytes - lastReport >= 256 * 1024) {
          lastReport = progress.receivedBytes;
          options.onProgress?.({ ...progress });
        }
        cb(null, chunk);
      },
    });
    await pipeline(Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>), counter, createWriteStream(path), { signal });
    if (bodyLength !== undefined && progress.receivedBytes !== bodyLength)
      throw new Error(`download truncated: ${progress.receivedBytes} of ${bodyLength} bytes`);
    return progress;
  } catch (e) {
    // A timeout surfaces as whatever the aborted fetch or stream throws: name the timeout instead.
    throw failure ?? e;
  } finally {
    clearTimeout(totalTimer);
    clearTimeout(idleTimer);
  }
}

/** fetch, following at most maxRedirects redirects, and only to the origin of the first URL. */
async function fetchSameOrigin(url: string, maxRedirects: number, signal: AbortSignal): Promise<Response> {
  const origin = new URL(url).origin;
  let current = url;
  for (let hops = 0; ; hops++) {
    const res = await fetch(current, { redirect: 'manual', signal });
    if (!REDIRECTS.has(res.status)) return res;
    await res.body?.cancel().catch(() => undefined);
    const location = res.headers.get('location');
    if (!location) throw new Error(`HTTP ${res.status} redirect without a Location`);
    if (hops >= maxRedirects) throw new Error(`more than ${maxRedirects} redirects (maxRedirects)`);
    let next: URL;
    try {
      next = new URL(location, current);
    } catch {
      throw new Error(`HTTP ${res.status} redirect to an invalid Location ${JSON.stringify(location.slice(0, 200))}`);
    }
    if (next.origin !== origin) {
      throw new Error(`redirected to ${next.origin}, outside ${origin}: refused (only redirects within the mirror's origin are followed)`);
    }
    current = next.href;
  }
}
