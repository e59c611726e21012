// Console authentication: the gateway's token (GATEWAY_TOKEN), compared in constant time, either
// sent as `Authorization: Bearer` or exchanged at POST /login for a session cookie. The cookie is
// `<expiry>.<nonce>.<hmac>` with the HMAC keyed by a hash of the token, so every gateway replica
// with the same token accepts it, and changing the token ends every session.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const SESSION_COOKIE = 'strata_console';
const SESSION_MS = 12 * 60 * 60 * 1000;

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/** Constant-time comparison of a presented token with the configured one (hashed first: equal lengths). */
export function tokenMatches(presented: string, token: string): boolean {
  return timingSafeEqual(digest(presented), digest(token));
}

export interface ConsoleAuth {
  /** a token is configured */
  readonly required: boolean;
  /** the request carries the token (bearer) or a valid session cookie; always true without a token */
  authenticated(req: IncomingMessage): boolean;
  /** checks a presented token; a session cookie value when it matches */
  login(presented: string): string | undefined;
  cookie(value: string, secure: boolean): string;
  clearCookie(secure: boolean): string;
}

function cookies(req: IncomingMessage): Map<string, string> {
  const out = new Map<string, string>();
  const header = req.headers.cookie;
  if (!header || header.length > 8192) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return out;
}

export function consoleAuth(token: string | undefined, now: () => number = Date.now): ConsoleAuth {
  const key = token === undefined ? undefined : createHash('sha256').update('strata-console-session\u0000').update(token, 'utf8').digest();
  const sign = (payload: string): string =>
    createHmac('sha256', key as Buffer)
      .update(payload)
      .digest('base64url');
  const validSession = (value: string | undefined): boolean => {
    if (!key || !value || value.length > 256) return false;
    const parts = value.split('.');
    if (parts.length !== 3) return false;
    const [expiry, nonce, mac] = parts as [string, string, string];
    const expected = Buffer.from(sign(`${expiry}.${nonce}`));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false;
    const until = Number(expiry);
    return Number.isSafeInteger(until) && until > now();
  };
  const attributes = (secure: boolean) => `Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
  return {
    required: token !== undefined,
    authenticated(req) {
      if (token === undefined) return true;
      const header = req.headers.authorization;
      if (typeof header === 'string' && header.length <= 4096) {
        const match = /^Bearer\s+(.+)$/i.exec(header.trim());
        if (match?.[1] && tokenMatches(match[1], token)) return true;
      }
      return validSession(cookies(req).get(SESSION_COOKIE));
    },
    login(presented) {
      if (token === undefined) return '';
      if (!tokenMatches(presented, token)) return undefined;
      const payload = `${now() + SESSION_MS}.${randomBytes(12).toString('base64url')}`;
      return `${payload}.${sign(payload)}`;
    },
    cookie: (value, secure) => `${SESSION_COOKIE}=${value}; ${attributes(secure)}; Max-Age=${SESSION_MS / 1000}`,
    clearCookie: (secure) => `${SESSION_COOKIE}=; ${attributes(secure)}; Max-Age=0`,
  };
}

/** Whether an address only the local machine can reach (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === '::ffff:127.0.0.1';
}

export interface LoginThrottle {
  /** seconds the address must still wait (0: it may try) */
  blocked(remote: string): number;
  failed(remote: string): void;
  succeeded(remote: string): void;
}

/**
 * A bounded per-address backoff for wrong tokens: 5 free tries, then a wait that doubles from 1 s
 * up to 60 s after each further wrong one (a right token resets it). Remembers at most `maxAddresses`
 * addresses (the oldest forgotten first), so a flood of addresses costs bounded memory.
 */
export interface LoginThrottleOptions {
  free?: number;
  firstWaitMs?: number;
  maxWaitMs?: number;
  maxAddresses?: number;
  now?: () => number;
}

export function loginThrottle(options: LoginThrottleOptions = {}): LoginThrottle {
  const free = options.free ?? 5;
  const firstWait = options.firstWaitMs ?? 1000;
  const maxWait = options.maxWaitMs ?? 60_000;
  const maxAddresses = options.maxAddresses ?? 10_000;
  const now = options.now ?? Date.now;
  const seen = new Map<string, { failures: number; until: number }>();
  return {
    blocked(remote) {
      const entry = seen.get(remote);
      return entry && entry.until > now() ? Math.ceil((entry.until - now()) / 1000) : 0;
    },
    failed(remote) {
      const entry = seen.get(remote) ?? { failures: 0, until: 0 };
      seen.delete(remote);
      entry.failures++;
      if (entry.failures > free) entry.until = now() + Math.min(maxWait, firstWait * 2 ** Math.min(entry.failures - free - 1, 16));
      seen.set(remote, entry);
      while (seen.size > maxAddresses) seen.delete(seen.keys().next().value as string);
    },
    succeeded(remote) {
      seen.delete(remote);
    },
  };
}
