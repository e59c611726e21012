// HTTP helpers of the registry client that know nothing about registries: requests over
// node:http / node:https, response bodies, Retry-After, registry error bodies, and redirects
// followed by hand. Not fetch(): its first call loads undici (with http2 and tls), which costs a
// scan about 70 ms of CPU at start, as much as the rest of a warm scan's set-up; its web streams
// also cost more per chunk of a layer than a plain node stream.
import type { IncomingMessage } from 'node:http';
import { readAll } from '../digest.js';

const MAX_REDIRECTS = 10;

export function isLoopbackHost(registry: string): boolean {
  const host = registry
    .replace(/:\d+$/, '')
    .replace(/^\[|\]$/g, '')
    .toLowerCase();
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** No byte from the server for this long (before the response headers, or within a body) fails the request. */
const SOCKET_TIMEOUT_MS = 300_000;

/** What the registry client reads of an HTTP response. */
export interface HttpResponse {
  status: number;
  ok: boolean;
  headers: { get(name: string): string | null };
  /** the body as it arrives (empty for HEAD); read it, or let discard() release it */
  body: IncomingMessage;
}

function toResponse(res: IncomingMessage): HttpResponse {
  const status = res.statusCode ?? 0;
  return {
    status,
    ok: status >= 200 && status < 300,
    headers: {
      get(name) {
        const value = res.headers[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
      },
    },
    body: res,
  };
}

/**
 * One HTTP exchange, resolved once the response headers are in. node:https (and tls) load only for
 * https URLs. getBuiltinModule, not import(): an ESM import of node:http reads every export, and
 * one of them (its undici-based WebSocket) loads all of undici.
 */
async function request(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  signal: AbortSignal | undefined,
): Promise<HttpResponse> {
  const { request: send } = url.protocol === 'https:' ? process.getBuiltinModule('node:https') : process.getBuiltinModule('node:http');
  signal?.throwIfAborted();
  return new Promise<HttpResponse>((resolve, reject) => {
    const req = send(
      url,
      { method, headers: body === undefined ? headers : { ...headers, 'Content-Length': String(Buffer.byteLength(body)) }, ...(signal ? { signal } : {}) },
      (res) => resolve(toResponse(res)),
    );
    req.once('error', reject);
    req.setTimeout(SOCKET_TIMEOUT_MS, () => req.destroy(new Error(`no data from ${url.host} for ${SOCKET_TIMEOUT_MS / 1000} s`)));
    req.end(body);
  });
}

export function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** A response body as chunks (an empty body yields nothing). */
export function bodyChunks(res: HttpResponse): AsyncIterable<Uint8Array> {
  return res.body;
}

/** Releases a response whose body is not wanted: a body still arriving closes its connection. */
export async function discard(res: HttpResponse): Promise<void> {
  if (res.body.complete) res.body.resume();
  else res.body.destroy();
}

/** The `errors[]` of a registry error body, shortened, for messages (never echoes headers). */
export async function errorDetail(res: HttpResponse): Promise<string> {
  try {
    const text = (await readAll(bodyChunks(res), 64 * 1024, 'error body')).toString('utf8');
    try {
      const parsed = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> };
      if (Array.isArray(parsed.errors) && parsed.errors.length > 0) {
        return parsed.errors
          .map((e) => [e.code, e.message].filter(Boolean).join(': '))
          .join('; ')
          .slice(0, 300);
      }
    } catch {
      /* not JSON */
    }
    return text.trim().slice(0, 200);
  } catch {
    return '';
  }
}

export interface FetchInit {
  method: string;
  headers: Record<string, string>;
  body?: URLSearchParams;
  signal?: AbortSignal;
}

/**
 * A request that follows redirects by hand: Authorization is sent only while the target stays on
 * `trustedOrigin` (a registry redirecting blob downloads to object storage must not leak it).
 */
export async function fetchFollowing(url: URL, init: FetchInit, trustedOrigin: string): Promise<HttpResponse> {
  let target = url;
  let method = init.method;
  let body = init.body;
  const headers = { ...init.headers };
  for (let hop = 0; ; hop++) {
    if (target.origin !== trustedOrigin) delete headers.Authorization;
    if (body !== undefined) headers['Content-Type'] ??= 'application/x-www-form-urlencoded;charset=UTF-8';
    const res = await request(target, method, headers, body?.toString(), init.signal);
    const location = res.headers.get('location');
    if (![301, 302, 303, 307, 308].includes(res.status) || !location) return res;
    await discard(res);
    if (hop >= MAX_REDIRECTS) throw new Error(`too many redirects (last: ${target.host})`);
    target = new URL(location, target);
    if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
      if (method !== 'HEAD') method = 'GET';
      body = undefined;
      delete headers['Content-Type'];
    }
  }
}

export function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new Error('aborted');
}
