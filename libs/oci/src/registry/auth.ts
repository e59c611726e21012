// Registry auth: WWW-Authenticate challenges (anonymous bearer, bearer with credentials or an
// identity token, basic), and bearer tokens fetched once per scope and shared until they expire.
import { describeError } from '@strata/errors';
import { AuthError, RegistryError } from '../errors.js';
import { readAll } from '../digest.js';
import { bodyChunks, discard, errorDetail, fetchFollowing, type FetchInit, type HttpResponse } from './http.js';
import { errorFields, where, type Ctx, type Session, type Token } from './session.js';

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `WWW-Authenticate: Bearer realm="...",service="...",scope="..."` (or Basic). */
export function parseChallenge(header: string | null): Challenge | undefined {
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

function basicHeader(session: Session): string | undefined {
  const creds = session.credentials;
  if (!creds || creds.identityToken) return undefined;
  return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
}

async function fetchToken(session: Session, scope: string, challengeScope: string | undefined, ctx: Ctx): Promise<Token> {
  const { bearer } = session.auth;
  const creds = session.credentials;
  if (!bearer) throw new Error('no bearer challenge');
  const realm = new URL(bearer.realm);
  const scopes = new Set([scope, ...(challengeScope ? challengeScope.split(' ') : [])].filter(Boolean));
  const headers: Record<string, string> = { 'User-Agent': session.userAgent };
  let res: HttpResponse;
  try {
    const init: FetchInit = { method: 'GET', headers };
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
      const auth = basicHeader(session);
      if (auth) headers.Authorization = auth;
      if (creds) realm.searchParams.set('account', creds.username);
    }
    // The realm is trusted with the credentials; a redirect elsewhere is not.
    res = await fetchFollowing(realm, init, realm.origin);
  } catch (err) {
    throw new RegistryError(`cannot reach the token server ${bearer.realm} for ${where(session, ctx.repository, ctx.image)}: ${describeError(err)}`, {
      ...errorFields(session, ctx),
      cause: err,
    });
  }
  const registry = session.registry;
  if (res.status === 401 || res.status === 403) {
    await discard(res);
    throw new AuthError(
      `authentication failed for ${where(session, ctx.repository, ctx.image)}: the token server ${bearer.realm} rejected ${creds ? `the credentials of user "${creds.username}"` : 'anonymous access'} (HTTP ${res.status})`,
      { ...errorFields(session, ctx), status: res.status },
    );
  }
  if (!res.ok) {
    const detail = await errorDetail(res);
    throw new RegistryError(
      `token server ${bearer.realm} answered HTTP ${res.status} for ${where(session, ctx.repository, ctx.image)}${detail ? `: ${detail}` : ''}`,
      {
        registry,
        status: res.status,
      },
    );
  }
  let body: { token?: string; access_token?: string; expires_in?: number };
  try {
    body = JSON.parse((await readAll(bodyChunks(res), 1 << 20, 'token response')).toString('utf8')) as typeof body;
  } catch (err) {
    throw new AuthError(`token server ${bearer.realm} answered with something that is not a JSON token for ${where(session, ctx.repository, ctx.image)}`, {
      registry,
      cause: err,
    });
  }
  const token = body.token ?? body.access_token;
  if (!token) throw new AuthError(`token server ${bearer.realm} returned no token for ${where(session, ctx.repository, ctx.image)}`, { registry });
  const lifetime = Math.max(10, typeof body.expires_in === 'number' ? body.expires_in : 60);
  return { header: `Bearer ${token}`, expiresAt: Date.now() + (lifetime - 5) * 1000 };
}

/** A token per scope, shared by concurrent requests (one token request, not one per layer). */
function tokenFor(session: Session, scope: string, challengeScope: string | undefined, ctx: Ctx, fresh: boolean): Promise<Token> {
  const { tokens } = session.auth;
  const cached = tokens.get(scope);
  if (!fresh && cached) return cached;
  const pending = fetchToken(session, scope, challengeScope, ctx).then((token) => {
    // expire the cache entry shortly before the token does
    setTimeout(
      () => {
        if (tokens.get(scope) === pending) tokens.delete(scope);
      },
      Math.max(0, token.expiresAt - Date.now()),
    ).unref();
    return token;
  });
  tokens.set(scope, pending);
  pending.catch(() => {
    if (tokens.get(scope) === pending) tokens.delete(scope);
  });
  return pending;
}

/** The Authorization header for a request in `scope`, once the registry has said which scheme it wants. */
export async function authorization(session: Session, scope: string, ctx: Ctx): Promise<string | undefined> {
  if (session.auth.basic) return basicHeader(session);
  if (!session.auth.bearer) return undefined;
  return (await tokenFor(session, scope, undefined, ctx, false)).header;
}

/**
 * Adopts the scheme a 401 challenge asks for (fetching a bearer token for `scope` at once); true
 * when the request should be sent again with it, false when the challenge is not one we answer.
 */
export async function adoptChallenge(session: Session, challenge: Challenge, scope: string, ctx: Ctx): Promise<boolean> {
  if (challenge.scheme === 'bearer' && challenge.params.realm) {
    session.auth.bearer = { realm: challenge.params.realm, ...(challenge.params.service ? { service: challenge.params.service } : {}) };
    session.auth.basic = false;
    await tokenFor(session, scope, challenge.params.scope, ctx, true);
    return true;
  }
  if (challenge.scheme === 'basic') {
    if (!basicHeader(session)) {
      throw new AuthError(
        `${where(session, ctx.repository, ctx.image)} requires credentials (registry ${session.registry} asks for basic auth); pass --username/--password, set STRATA_USERNAME/STRATA_PASSWORD or docker login`,
        { ...errorFields(session, ctx), status: 401 },
      );
    }
    session.auth.basic = true;
    return true;
  }
  return false;
}
