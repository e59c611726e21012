// What every request of one registry client shares: the registry's address, the settings with
// their defaults, and the auth state the registry's challenges fill in.
import type { Credentials } from '../credentials.js';
import { isLoopbackHost } from './http.js';
import type { RegistryClientOptions, RequestContext } from './types.js';

export interface BearerChallenge {
  realm: string;
  service?: string;
}

export interface Token {
  header: string;
  expiresAt: number;
}

/** Learned from the registry's 401 challenges; starts empty (anonymous, no scheme known). */
export interface AuthState {
  bearer?: BearerChallenge;
  basic: boolean;
  /** one pending or issued token per scope */
  tokens: Map<string, Promise<Token>>;
}

export interface Session {
  registry: string;
  baseUrl: string;
  origin: string;
  retries: number;
  retryDelayMs: number;
  maxRetryAfterMs: number;
  idleTimeoutMs: number;
  userAgent: string;
  credentials?: Credentials;
  throttle?: (signal?: AbortSignal) => Promise<void>;
  /** the client-wide signal; each call may add its own */
  signal?: AbortSignal;
  auth: AuthState;
}

/** The repository and image a request concerns (for messages and error fields), and its signal. */
export interface Ctx {
  repository?: string;
  image?: string;
  signal?: AbortSignal;
}

export function createSession(registry: string, options: RegistryClientOptions): Session {
  const scheme = isLoopbackHost(registry) || options.insecure ? 'http' : 'https';
  const baseUrl = `${scheme}://${registry}`;
  const session: Session = {
    registry,
    baseUrl,
    origin: new URL(baseUrl).origin,
    retries: Math.max(0, options.retries ?? 3),
    retryDelayMs: options.retryDelayMs ?? 250,
    maxRetryAfterMs: options.maxRetryAfterMs ?? 60_000,
    idleTimeoutMs: options.idleTimeoutMs ?? 60_000,
    userAgent: options.userAgent ?? 'strata',
    auth: { basic: false, tokens: new Map() },
  };
  if (options.credentials) session.credentials = options.credentials;
  if (options.throttle) session.throttle = options.throttle;
  if (options.signal) session.signal = options.signal;
  return session;
}

/** "image X", else "repository R at host", else "registry host": what a message is about. */
export function where(session: Session, repository?: string, image?: string): string {
  return image ? `image ${image}` : repository ? `repository ${repository} at ${session.registry}` : `registry ${session.registry}`;
}

/** The client's signal combined with the call's. */
export function signalFor(session: Session, ctx?: RequestContext): AbortSignal | undefined {
  const signals = [session.signal, ctx?.signal].filter((s): s is AbortSignal => s !== undefined);
  return signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
}

/** A repository name as a URL path (each segment escaped, the slashes kept). */
export function repoPath(repository: string): string {
  return repository.split('/').map(encodeURIComponent).join('/');
}

/** The registry, repository and image fields of an error about a request in `ctx`. */
export function errorFields(session: Session, ctx: Ctx): { registry: string; repository?: string; image?: string } {
  const fields: { registry: string; repository?: string; image?: string } = { registry: session.registry };
  if (ctx.repository !== undefined) fields.repository = ctx.repository;
  if (ctx.image !== undefined) fields.image = ctx.image;
  return fields;
}
