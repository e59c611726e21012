// HTTP helpers of the registry client that know nothing about registries: response bodies,
// Retry-After, registry error bodies, and redirects followed by hand.
import { readAll } from '../digest.js';

const MAX_REDIRECTS = 10;

export function isLoopbackHost(registry: string): boolean {
  const host = registry
    .replace(/:\d+$/, '')
    .replace(/^\[|\]$/g, '')
    .toLowerCase();
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** A response body as chunks (an empty body yields nothing). */
export function bodyChunks(res: Response): AsyncIterable<Uint8Array> {
  return (res.body ?? (async function* () {})()) as AsyncIterable<Uint8Array>;
}

export async function discard(res: Response): Promise<void> {
  try {
    await res.body?.cancel();
  } catch {
    /* already closed */
  }
}

/** The `errors[]` of a registry error body, shortened, for messages (never echoes headers). */
export async function errorDetail(res: Response): Promise<string> {
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
 * fetch that follows redirects by hand: Authorization is sent only while the target stays on
 * `trustedOrigin` (a registry redirecting blob downloads to object storage must not leak it).
 */
export async function fetchFollowing(url: URL, init: FetchInit, trustedOrigin: string): Promise<Response> {
  let target = url;
  let method = init.method;
  let body = init.body;
  const headers = { ...init.headers };
  for (let hop = 0; ; hop++) {
    if (target.origin !== trustedOrigin) delete headers.Authorization;
    const req: RequestInit = { method, headers, redirect: 'manual' };
    if (body !== undefined) req.body = body;
    if (init.signal) req.signal = init.signal;
    const res = await fetch(target, req);
    const location = res.headers.get('location');
    if (![301, 302, 303, 307, 308].includes(res.status) || !location) return res;
    await discard(res);
    if (hop >= MAX_REDIRECTS) throw new Error(`too many redirects (last: ${target.host})`);
    target = new URL(location, target);
    if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
      if (method !== 'HEAD') method = 'GET';
      body = undefined;
    }
  }
}

export function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new Error('aborted');
}
