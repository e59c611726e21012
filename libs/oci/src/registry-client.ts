// A registry client for the OCI distribution spec on Node's global fetch: manifests, blobs,
// catalog and tag listing; WWW-Authenticate challenges (anonymous bearer, bearer with
// credentials, basic); 429 Retry-After; redirects handled by hand so the registry's
// Authorization never reaches another host; bounded retries that resume blobs with Range.
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from '@strata/errors';
import type { Credentials } from './credentials.js';
import { AuthError, BlobDigestMismatchError, NotFoundError, OciError, RegistryError } from './errors.js';
import { digestOf, parseDigest, readAll, verifyChunks } from './digest.js';
import { baseMediaType, MANIFEST_ACCEPT } from './manifest.js';
import { isDigest } from './reference.js';

export interface RegistryClientOptions {
  credentials?: Credentials;
  /** plain HTTP for a registry that is not on loopback */
  insecure?: boolean;
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

const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_REDIRECTS = 10;
const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);

interface BearerChallenge {
  realm: string;
  service?: string;
}

interface Ctx {
  repository?: string;
  image?: string;
  signal?: AbortSignal;
}

interface Token {
  header: string;
  expiresAt: number;
}

/** Parses `WWW-Authenticate: Bearer realm="...",service="...",scope="..."` (or Basic). */
export function parseChallenge(header: string | null): { scheme: string; params: Record<string, string> } | undefined {
  if (!header) return undefined;
  const match = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(header);
  if (!match) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (let m = re.exec(match[2] as string); m; m = re.exec(match[2] as string)) {
    params[(m[1] as string).toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
  }
  return { scheme: (match[1] as string).toLowerCase(), params };
}

/** The `rel="next"` target of a Link header, if any. */
export function parseNextLink(header: string | null): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(',')) {
    const m = /<([^>]*)>\s*;(.*)/.exec(part);
    if (m && /rel\s*=\s*"?next"?/i.test(m[2] as string)) return m[1];
  }
  return undefined;
}

export function isLoopbackHost(registry: string): boolean {
  const host = registry.replace(/:\d+$/, '').replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** A response body as chunks (an empty body yields nothing). */
function bodyChunks(res: Response): AsyncIterable<Uint8Array> {
  return (res.body ?? (async function* () {})()) as AsyncIterable<Uint8Array>;
}

async function discard(res: Response): Promise<void> {
  try {
    await res.body?.cancel();
  } catch {
    /* already closed */
  }
}

/** The `errors[]` of a registry error body, shortened, for messages (never echoes headers). */
async function errorDetail(res: Response): Promise<string> {
  try {
    const text = (await readAll(bodyChunks(res), 64 * 1024, 'error body')).toString('utf8');
    try {
      const parsed = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> };
      if (Array.isArray(parsed.errors) && parsed.errors.length > 0) {
        return parsed.errors.map((e) => [e.code, e.message].filter(Boolean).join(': ')).join('; ').slice(0, 300);
      }
    } catch {
      /* not JSON */
    }
    return text.trim().slice(0, 200);
  } catch {
    return '';
  }
}

/**
 * fetch that follows redirects by hand: Authorization is sent only while the target stays on
 * `trustedOrigin` (a registry redirecting blob downloads to object storage must not leak it).
 */
async function fetchFollowing(
  url: URL,
  init: { method: string; headers: Record<string, string>; body?: URLSearchParams; signal?: AbortSignal },
  trustedOrigin: string,
): Promise<Response> {
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

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new Error('aborted');
}

export function createRegistryClient(registry: string, options: RegistryClientOptions = {}): RegistryClient {
  const scheme = isLoopbackHost(registry) || options.insecure ? 'http' : 'https';
  const baseUrl = `${scheme}://${registry}`;
  const origin = new URL(baseUrl).origin;
  const retries = Math.max(0, options.retries ?? 3);
  const retryDelay = options.retryDelayMs ?? 250;
  const maxRetryAfter = options.maxRetryAfterMs ?? 60_000;
  const idleTimeout = options.idleTimeoutMs ?? 60_000;
  const userAgent = options.userAgent ?? 'strata';
  const creds = options.credentials;

  let bearer: BearerChallenge | undefined;
  let basic = false;
  const tokens = new Map<string, Promise<Token>>();

  const where = (repository?: string, image?: string) =>
    image ? `image ${image}` : repository ? `repository ${repository} at ${registry}` : `registry ${registry}`;

  const signalFor = (ctx?: RequestContext): AbortSignal | undefined => {
    const signals = [options.signal, ctx?.signal].filter((s): s is AbortSignal => s !== undefined);
    return signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
  };

  function basicHeader(): string | undefined {
    if (!creds || creds.identityToken) return undefined;
    return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
  }

  async function fetchToken(scope: string, challengeScope: string | undefined, ctx: Ctx): Promise<Token> {
    if (!bearer) throw new Error('no bearer challenge');
    const realm = new URL(bearer.realm);
    const scopes = new Set([scope, ...(challengeScope ? challengeScope.split(' ') : [])].filter(Boolean));
    const headers: Record<string, string> = { 'User-Agent': userAgent };
    let res: Response;
    try {
      const init: Parameters<typeof fetchFollowing>[1] = { method: 'GET', headers };
      if (ctx.signal) init.signal = ctx.signal;
      if (creds?.identityToken) {
        // OAuth2 refresh-token grant, as Docker does with an identity token
        const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'strata' });
        if (bearer.service) form.set('service', bearer.service);
        form.set('scope', [...scopes].join(' '));
        headers['Content-Type'] = 'application/x-www-form-urlencoded';
        init.method = 'POST';
        init.body = form;
      } else {
        if (bearer.service) realm.searchParams.set('service', bearer.service);
        for (const s of scopes) realm.searchParams.append('scope', s);
        const auth = basicHeader();
        if (auth) headers.Authorization = auth;
        if (creds) realm.searchParams.set('account', creds.username);
      }
      // The realm is trusted with the credentials; a redirect elsewhere is not.
      res = await fetchFollowing(realm, init, realm.origin);
    } catch (err) {
      throw new RegistryError(`cannot reach the token server ${bearer.realm} for ${where(ctx.repository, ctx.image)}: ${describeError(err)}`, {
        registry,
        ...(ctx.repository !== undefined ? { repository: ctx.repository } : {}),
        ...(ctx.image !== undefined ? { image: ctx.image } : {}),
        cause: err,
      });
    }
    if (res.status === 401 || res.status === 403) {
      await discard(res);
      throw new AuthError(
        `authentication failed for ${where(ctx.repository, ctx.image)}: the token server ${bearer.realm} rejected ${creds ? `the credentials of user "${creds.username}"` : 'anonymous access'} (HTTP ${res.status})`,
        { registry, status: res.status, ...(ctx.repository !== undefined ? { repository: ctx.repository } : {}), ...(ctx.image !== undefined ? { image: ctx.image } : {}) },
      );
    }
    if (!res.ok) {
      const detail = await errorDetail(res);
      throw new RegistryError(`token server ${bearer.realm} answered HTTP ${res.status} for ${where(ctx.repository, ctx.image)}${detail ? `: ${detail}` : ''}`, {
        registry,
        status: res.status,
      });
    }
    let body: { token?: string; access_token?: string; expires_in?: number };
    try {
      body = JSON.parse((await readAll(bodyChunks(res), 1 << 20, 'token response')).toString('utf8')) as typeof body;
    } catch (err) {
      throw new AuthError(`token server ${bearer.realm} answered with something that is not a JSON token for ${where(ctx.repository, ctx.image)}`, { registry, cause: err });
    }
    const token = body.token ?? body.access_token;
    if (!token) throw new AuthError(`token server ${bearer.realm} returned no token for ${where(ctx.repository, ctx.image)}`, { registry });
    const lifetime = Math.max(10, typeof body.expires_in === 'number' ? body.expires_in : 60);
    return { header: `Bearer ${token}`, expiresAt: Date.now() + (lifetime - 5) * 1000 };
  }

  /** A token per scope, shared by concurrent requests (one token request, not one per layer). */
  function tokenFor(scope: string, challengeScope: string | undefined, ctx: Ctx, fresh: boolean): Promise<Token> {
    const cached = tokens.get(scope);
    if (!fresh && cached) return cached;
    const pending = fetchToken(scope, challengeScope, ctx).then((token) => {
      // expire the cache entry shortly before the token does
      setTimeout(() => {
        if (tokens.get(scope) === pending) tokens.delete(scope);
      }, Math.max(0, token.expiresAt - Date.now())).unref();
      return token;
    });
    tokens.set(scope, pending);
    pending.catch(() => {
      if (tokens.get(scope) === pending) tokens.delete(scope);
    });
    return pending;
  }

  async function authorization(scope: string, ctx: Ctx): Promise<string | undefined> {
    if (basic) return basicHeader();
    if (!bearer) return undefined;
    return (await tokenFor(scope, undefined, ctx, false)).header;
  }

  interface SendOptions {
    method: 'GET' | 'HEAD';
    url: string;
    scope: string;
    headers?: Record<string, string>;
    repository?: string;
    image?: string;
    signal?: AbortSignal;
    /** which statuses the caller handles itself (404, 206, ...) */
    accept?: (status: number) => boolean;
  }

  /** One logical request: auth challenges, 429/5xx/network retries, redirects. */
  async function send(req: SendOptions): Promise<Response> {
    const ctx: Ctx = {};
    if (req.repository !== undefined) ctx.repository = req.repository;
    if (req.image !== undefined) ctx.image = req.image;
    if (req.signal !== undefined) ctx.signal = req.signal;
    const errOpts: { registry: string; repository?: string; image?: string } = { registry };
    if (req.repository !== undefined) errOpts.repository = req.repository;
    if (req.image !== undefined) errOpts.image = req.image;
    let challenged = false;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { 'User-Agent': userAgent, ...req.headers };
      const auth = await authorization(req.scope, ctx);
      if (auth) headers.Authorization = auth;
      if (options.throttle) await options.throttle(req.signal);
      let res: Response;
      try {
        res = await fetchFollowing(new URL(req.url), { method: req.method, headers, ...(req.signal ? { signal: req.signal } : {}) }, origin);
      } catch (err) {
        if (req.signal?.aborted) throw abortError(req.signal);
        if (err instanceof OciError) throw err;
        if (attempt < retries) {
          await sleep(retryDelay * 2 ** attempt, undefined, req.signal ? { signal: req.signal } : undefined);
          continue;
        }
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        throw new RegistryError(
          `cannot reach registry ${registry}${req.image ? ` for image ${req.image}` : req.repository ? ` for repository ${req.repository}` : ''} after ${attempt + 1} attempt(s): ${cause?.code ?? cause?.message ?? describeError(err)}`,
          { ...errOpts, cause: err },
        );
      }
      if (req.accept?.(res.status)) return res;
      if (res.status === 401) {
        const challenge = parseChallenge(res.headers.get('www-authenticate'));
        await discard(res);
        if (!challenged && challenge) {
          challenged = true;
          if (challenge.scheme === 'bearer' && challenge.params.realm) {
            bearer = { realm: challenge.params.realm, ...(challenge.params.service ? { service: challenge.params.service } : {}) };
            basic = false;
            await tokenFor(req.scope, challenge.params.scope, ctx, true);
            attempt--;
            continue;
          }
          if (challenge.scheme === 'basic') {
            if (!basicHeader()) {
              throw new AuthError(
                `${where(req.repository, req.image)} requires credentials (registry ${registry} asks for basic auth); pass --username/--password, set STRATA_USERNAME/STRATA_PASSWORD or docker login`,
                { ...errOpts, status: 401 },
              );
            }
            basic = true;
            attempt--;
            continue;
          }
        }
        throw new AuthError(
          `authentication failed for ${where(req.repository, req.image)}: registry ${registry} answered 401 ${creds ? `to the credentials of user "${creds.username}"` : 'and no credentials are configured'}`,
          { ...errOpts, status: 401 },
        );
      }
      if (res.status === 403) {
        const detail = await errorDetail(res);
        throw new AuthError(`access denied to ${where(req.repository, req.image)} by registry ${registry} (HTTP 403)${detail ? `: ${detail}` : ''}`, {
          ...errOpts,
          status: 403,
        });
      }
      if (RETRY_STATUS.has(res.status)) {
        const wait = res.status === 429 ? retryAfterMs(res.headers.get('retry-after')) : undefined;
        const detail = await errorDetail(res);
        if (wait !== undefined && wait > maxRetryAfter) {
          throw new RegistryError(
            `registry ${registry} rate-limited ${where(req.repository, req.image)} (HTTP 429) and asks to retry after ${Math.ceil(wait / 1000)} s, longer than the ${Math.ceil(maxRetryAfter / 1000)} s we wait`,
            { ...errOpts, status: 429 },
          );
        }
        if (attempt < retries) {
          await sleep(wait ?? retryDelay * 2 ** attempt, undefined, req.signal ? { signal: req.signal } : undefined);
          continue;
        }
        throw new RegistryError(
          `registry ${registry} answered HTTP ${res.status} for ${where(req.repository, req.image)} after ${attempt + 1} attempt(s)${detail ? `: ${detail}` : ''}`,
          { ...errOpts, status: res.status },
        );
      }
      return res;
    }
  }

  /** A tag or digest, checked so it can go into the URL as is (registries expect a literal `:`). */
  function manifestRef(reference: string): string {
    if (!/^[\w][\w.-]{0,127}$/.test(reference) && !isDigest(reference)) {
      throw new RegistryError(`invalid tag or digest "${reference}" for registry ${registry}`, { registry });
    }
    return reference;
  }

  function repoPath(repository: string): string {
    return repository.split('/').map(encodeURIComponent).join('/');
  }

  async function getManifest(repository: string, reference: string, ctx: RequestContext & { accept?: string[] } = {}): Promise<ManifestResponse> {
    const signal = signalFor(ctx);
    const res = await send({
      method: 'GET',
      url: `${baseUrl}/v2/${repoPath(repository)}/manifests/${manifestRef(reference)}`,
      scope: `repository:${repository}:pull`,
      headers: { Accept: (ctx.accept ?? MANIFEST_ACCEPT).join(', ') },
      repository,
      ...(ctx.image !== undefined ? { image: ctx.image } : {}),
      ...(signal ? { signal } : {}),
    });
    const image = ctx.image ?? `${registry}/${repository}:${reference}`;
    if (res.status === 404) {
      const detail = await errorDetail(res);
      const what = isDigest(reference) ? `manifest ${reference}` : `tag "${reference}"`;
      throw new NotFoundError(`image ${image} not found: ${what} does not exist in repository ${repository} at ${registry}${detail ? ` (${detail})` : ''}`, {
        registry,
        repository,
        status: 404,
        image,
      });
    }
    if (!res.ok) {
      const detail = await errorDetail(res);
      throw new RegistryError(`registry ${registry} answered HTTP ${res.status} for the manifest of image ${image}${detail ? `: ${detail}` : ''}`, {
        registry,
        repository,
        status: res.status,
        image,
      });
    }
    const body = await readAll(bodyChunks(res), MAX_MANIFEST_BYTES, `manifest ${reference}`, image);
    const headerDigest = res.headers.get('docker-content-digest') ?? undefined;
    const expected = isDigest(reference) ? reference : headerDigest && /^sha(256|512):/.test(headerDigest) ? headerDigest : undefined;
    const algorithm = expected ? parseDigest(expected).algorithm : 'sha256';
    const digest = digestOf(body, algorithm);
    if (expected !== undefined && digest !== expected) {
      throw new BlobDigestMismatchError({
        kind: 'manifest',
        expected,
        actual: digest,
        image,
        detail: isDigest(reference) ? 'requested by digest' : 'as declared by Docker-Content-Digest',
      });
    }
    const mediaType = baseMediaType(res.headers.get('content-type'));
    return mediaType === undefined ? { digest, body } : { digest, body, mediaType };
  }

  async function headManifest(repository: string, reference: string, ctx: RequestContext & { accept?: string[] } = {}): Promise<ManifestHead | undefined> {
    const signal = signalFor(ctx);
    const res = await send({
      method: 'HEAD',
      url: `${baseUrl}/v2/${repoPath(repository)}/manifests/${manifestRef(reference)}`,
      scope: `repository:${repository}:pull`,
      headers: { Accept: (ctx.accept ?? MANIFEST_ACCEPT).join(', ') },
      repository,
      ...(ctx.image !== undefined ? { image: ctx.image } : {}),
      ...(signal ? { signal } : {}),
    });
    await discard(res);
    if (res.status === 404) return undefined;
    if (!res.ok) {
      throw new RegistryError(`registry ${registry} answered HTTP ${res.status} to HEAD of manifest ${repository}:${reference}`, {
        registry,
        repository,
        status: res.status,
      });
    }
    const head: ManifestHead = {};
    const digest = res.headers.get('docker-content-digest');
    const mediaType = baseMediaType(res.headers.get('content-type'));
    const length = Number(res.headers.get('content-length'));
    if (digest) head.digest = digest;
    if (mediaType) head.mediaType = mediaType;
    if (Number.isFinite(length) && res.headers.get('content-length') !== null) head.size = length;
    return head;
  }

  async function openBlobResponse(repository: string, digest: string, start: number, ctx: BlobOptions, signal: AbortSignal | undefined): Promise<Response> {
    const headers: Record<string, string> = {};
    if (start > 0) headers.Range = `bytes=${start}-`;
    const res = await send({
      method: 'GET',
      url: `${baseUrl}/v2/${repoPath(repository)}/blobs/${digest}`,
      scope: `repository:${repository}:pull`,
      headers,
      repository,
      ...(ctx.image !== undefined ? { image: ctx.image } : {}),
      ...(signal ? { signal } : {}),
    });
    const kind = ctx.kind ?? 'blob';
    if (res.status === 404) {
      await discard(res);
      throw new NotFoundError(`${kind} ${digest} of ${where(repository, ctx.image)} not found in registry ${registry} (HTTP 404)`, {
        registry,
        repository,
        status: 404,
        ...(ctx.image !== undefined ? { image: ctx.image } : {}),
      });
    }
    if (res.status !== 200 && res.status !== 206) {
      const detail = await errorDetail(res);
      throw new RegistryError(`registry ${registry} answered HTTP ${res.status} for ${kind} ${digest} of ${where(repository, ctx.image)}${detail ? `: ${detail}` : ''}`, {
        registry,
        repository,
        status: res.status,
        ...(ctx.image !== undefined ? { image: ctx.image } : {}),
      });
    }
    return res;
  }

  /** Offset of the first byte of a response to a request that started at `start`. */
  function firstByte(res: Response, start: number): number {
    if (res.status !== 206) return 0;
    const m = /^bytes\s+(\d+)-/.exec(res.headers.get('content-range') ?? '');
    return m ? Number(m[1]) : start;
  }

  async function* blobBytes(repository: string, digest: string, first: Response, start: number, ctx: BlobOptions, signal: AbortSignal | undefined): AsyncGenerator<Buffer> {
    const kind = ctx.kind ?? 'blob';
    let res = first;
    let position = start; // absolute offset of the next byte we hand out
    let failures = 0;
    let rangeSupported = (first.headers.get('accept-ranges') ?? '').toLowerCase().includes('bytes') || first.status === 206;
    for (;;) {
      let at = firstByte(res, position);
      if (at > position) {
        await discard(res);
        throw new RegistryError(`registry ${registry} resumed ${kind} ${digest} of ${where(repository, ctx.image)} at byte ${at}, after the requested ${position}`, {
          registry,
          repository,
        });
      }
      const idle = new AbortController();
      let timer: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => idle.abort(new Error(`no data for ${idleTimeout} ms`)), idleTimeout);
      };
      try {
        if (!res.body) throw new Error('response has no body');
        const reader = res.body.getReader();
        const onIdle = () => void reader.cancel(idle.signal.reason).catch(() => undefined);
        idle.signal.addEventListener('abort', onIdle, { once: true });
        arm();
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (idle.signal.aborted) throw idle.signal.reason;
            if (done) break;
            arm();
            let buf = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
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
        } finally {
          clearTimeout(timer);
          reader.releaseLock();
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
        if (failures > retries) {
          throw new RegistryError(
            `reading ${kind} ${digest} of ${where(repository, ctx.image)} from registry ${registry} failed after ${failures} attempt(s) at byte ${position}: ${describeError(err)}`,
            { registry, repository, ...(ctx.image !== undefined ? { image: ctx.image } : {}), cause: err },
          );
        }
        await sleep(retryDelay * 2 ** (failures - 1), undefined, signal ? { signal } : undefined);
        res = await openBlobResponse(repository, digest, rangeSupported ? position : 0, ctx, signal);
        if (res.status === 206) rangeSupported = true;
        else if (position > 0) rangeSupported = (res.headers.get('accept-ranges') ?? '').toLowerCase().includes('bytes');
      }
    }
  }

  async function getBlob(repository: string, digest: string, ctx: BlobOptions = {}): Promise<Readable> {
    parseDigest(digest, 'blob digest');
    const signal = signalFor(ctx);
    const start = ctx.offset ?? 0;
    const first = await openBlobResponse(repository, digest, start, ctx, signal);
    const bytes = blobBytes(repository, digest, first, start, ctx, signal);
    const verify: Parameters<typeof verifyChunks>[1] = { kind: ctx.kind ?? 'blob' };
    if (start === 0) verify.expected = digest;
    if (ctx.size !== undefined) verify.size = ctx.size - start;
    if (ctx.image !== undefined) verify.image = ctx.image;
    return Readable.from(verifyChunks(bytes, verify), { objectMode: false });
  }

  async function getBlobBytes(repository: string, digest: string, maxBytes: number, ctx: BlobOptions = {}): Promise<Buffer> {
    const stream = await getBlob(repository, digest, ctx);
    return readAll(stream, maxBytes, `${ctx.kind ?? 'blob'} ${digest}`, ctx.image);
  }

  async function listPaged(path: string, key: 'repositories' | 'tags', scope: string, ctx: RequestContext & { pageSize?: number }, repository?: string): Promise<string[]> {
    const signal = signalFor(ctx);
    let url: string | undefined = `${baseUrl}${path}${ctx.pageSize ? `?n=${ctx.pageSize}` : ''}`;
    const out: string[] = [];
    for (let page = 0; url !== undefined; page++) {
      if (page > 100_000) throw new RegistryError(`registry ${registry}: ${path} pagination does not end`, { registry });
      const res = await send({
        method: 'GET',
        url,
        scope,
        headers: { Accept: 'application/json' },
        ...(repository !== undefined ? { repository } : {}),
        ...(signal ? { signal } : {}),
      });
      if (res.status === 404) {
        const detail = await errorDetail(res);
        throw new NotFoundError(`${repository ? `repository ${repository}` : 'catalog'} not found at registry ${registry}${detail ? ` (${detail})` : ''}`, {
          registry,
          status: 404,
          ...(repository !== undefined ? { repository } : {}),
        });
      }
      if (!res.ok) {
        const detail = await errorDetail(res);
        throw new RegistryError(`registry ${registry} answered HTTP ${res.status} to ${path}${detail ? `: ${detail}` : ''}`, {
          registry,
          status: res.status,
        });
      }
      const text = (await readAll(bodyChunks(res), 16 * 1024 * 1024, `${path} page`)).toString('utf8');
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(text) as Record<string, unknown>;
      } catch {
        throw new RegistryError(`registry ${registry} returned a ${path} page that is not JSON`, { registry });
      }
      const items = parsed[key];
      if (Array.isArray(items)) for (const item of items) if (typeof item === 'string') out.push(item);
      const next = parseNextLink(res.headers.get('link'));
      url = next === undefined ? undefined : new URL(next, url).toString();
    }
    return out;
  }

  return {
    registry,
    baseUrl,
    getManifest,
    headManifest,
    getBlob,
    getBlobBytes,
    listRepositories: (ctx = {}) => listPaged('/v2/_catalog', 'repositories', 'registry:catalog:*', ctx),
    listTags: (repository, ctx = {}) => listPaged(`/v2/${repoPath(repository)}/tags/list`, 'tags', `repository:${repository}:pull`, ctx, repository),
  };
}
