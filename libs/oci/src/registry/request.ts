// One logical request to the registry: the Authorization the registry asked for, its 401
// challenges answered once, 429 Retry-After and 5xx/network errors retried with backoff, and
// redirects followed without leaking Authorization to another host.
import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from '@strata/errors';
import { AuthError, OciError, RegistryError } from '../errors.js';
import { adoptChallenge, authorization, parseChallenge } from './auth.js';
import { abortError, discard, errorDetail, fetchFollowing, retryAfterMs, type HttpResponse } from './http.js';
import { errorFields, where, type Ctx, type Session } from './session.js';

const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);

export interface SendOptions {
  method: 'GET' | 'HEAD';
  url: string;
  /** the token scope the request needs, e.g. `repository:library/alpine:pull` */
  scope: string;
  headers?: Record<string, string>;
  repository?: string;
  image?: string;
  signal?: AbortSignal;
  /** which statuses the caller handles itself (404, 206, ...) */
  accept?: (status: number) => boolean;
}

/** Sends `req` until the registry gives an answer to hand back, or a reason to give up (thrown). */
export async function send(session: Session, req: SendOptions): Promise<HttpResponse> {
  const { registry } = session;
  const ctx: Ctx = {};
  if (req.repository !== undefined) ctx.repository = req.repository;
  if (req.image !== undefined) ctx.image = req.image;
  if (req.signal !== undefined) ctx.signal = req.signal;
  const errOpts = errorFields(session, ctx);
  let challenged = false;
  for (let attempt = 0; ; attempt++) {
    const headers: Record<string, string> = { 'User-Agent': session.userAgent, ...req.headers };
    const auth = await authorization(session, req.scope, ctx);
    if (auth) headers.Authorization = auth;
    if (session.throttle) await session.throttle(req.signal);
    let res: HttpResponse;
    try {
      res = await fetchFollowing(new URL(req.url), { method: req.method, headers, ...(req.signal ? { signal: req.signal } : {}) }, session.origin);
    } catch (err) {
      if (req.signal?.aborted) throw abortError(req.signal);
      if (err instanceof OciError) throw err;
      if (attempt < session.retries) {
        await sleep(session.retryDelayMs * 2 ** attempt, undefined, req.signal ? { signal: req.signal } : undefined);
        continue;
      }
      // a socket error (ECONNREFUSED, ...) is named by its code; the message would only repeat it
      const cause = ((err as { cause?: unknown }).cause ?? err) as { code?: string; message?: string } | undefined;
      throw new RegistryError(
        `cannot reach registry ${registry}${req.image ? ` for image ${req.image}` : req.repository ? ` for repository ${req.repository}` : ''} after ${attempt + 1} attempt(s): ${cause?.code ?? cause?.message ?? describeError(err)}`,
        errOpts,
      );
    }
    if (req.accept?.(res.status)) return res;
    if (res.status === 401) {
      const challenge = parseChallenge(res.headers.get('www-authenticate'));
      await discard(res);
      if (!challenged && challenge) {
        challenged = true;
        if (await adoptChallenge(session, challenge, req.scope, ctx)) {
          attempt--;
          continue;
        }
      }
      const creds = session.credentials;
      throw new AuthError(
        `authentication failed for ${where(session, req.repository, req.image)}: registry ${registry} answered 401 ${creds ? `to the credentials of user "${creds.username}"` : 'and no credentials are configured'}`,
        { ...errOpts, status: 401 },
      );
    }
    if (res.status === 403) {
      const detail = await errorDetail(res);
      throw new AuthError(`access denied to ${where(session, req.repository, req.image)} by registry ${registry} (HTTP 403)${detail ? `: ${detail}` : ''}`, {
        ...errOpts,
        status: 403,
      });
    }
    if (RETRY_STATUS.has(res.status)) {
      const wait = res.status === 429 ? retryAfterMs(res.headers.get('retry-after')) : undefined;
      const detail = await errorDetail(res);
      if (wait !== undefined && wait > session.maxRetryAfterMs) {
        throw new RegistryError(
          `registry ${registry} rate-limited ${where(session, req.repository, req.image)} (HTTP 429) and asks to retry after ${Math.ceil(wait / 1000)} s, longer than the ${Math.ceil(session.maxRetryAfterMs / 1000)} s we wait`,
          { ...errOpts, status: 429 },
        );
      }
      if (attempt < session.retries) {
        await sleep(wait ?? session.retryDelayMs * 2 ** attempt, undefined, req.signal ? { signal: req.signal } : undefined);
        continue;
      }
      throw new RegistryError(
        `registry ${registry} answered HTTP ${res.status} for ${where(session, req.repository, req.image)} after ${attempt + 1} attempt(s)${detail ? `: ${detail}` : ''}`,
        { ...errOpts, status: res.status },
      );
    }
    return res;
  }
}
