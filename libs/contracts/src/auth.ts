import { createHash, timingSafeEqual } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';

const AUTHORIZATION = 'authorization';
const BEARER = /^Bearer\s+(\S+)\s*$/i;

export type AuthCheckResult = { ok: true } | { ok: false; code: grpc.status; details: string };
export type AuthCheck = (metadata: grpc.Metadata) => AuthCheckResult;

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Server-side check of `authorization: Bearer <token>` metadata. Compares in constant time
 * (hashing first, so the length of the configured token does not leak either). Failures are
 * UNAUTHENTICATED; the details never echo what the client sent.
 */
export function bearerAuth(token: string): AuthCheck {
  if (token === '') throw new Error('bearerAuth: the configured token is empty');
  const expected = digest(token);
  return (metadata) => {
    const values = metadata.get(AUTHORIZATION);
    if (values.length === 0) {
      return { ok: false, code: grpc.status.UNAUTHENTICATED, details: 'missing bearer token (authorization metadata)' };
    }
    const match = values.length === 1 && typeof values[0] === 'string' ? BEARER.exec(values[0]) : null;
    if (!match?.[1]) {
      return { ok: false, code: grpc.status.UNAUTHENTICATED, details: 'malformed authorization metadata: expected "Bearer <token>"' };
    }
    if (!timingSafeEqual(digest(match[1]), expected)) {
      return { ok: false, code: grpc.status.UNAUTHENTICATED, details: 'invalid bearer token' };
    }
    return { ok: true };
  };
}

export interface AuthInterceptorOptions {
  /**
   * Method paths ("/pkg.Service/Method") that skip the check. Default: the grpc.health.v1
   * service, so that load balancers and Kubernetes probes need no token.
   */
  exempt?: (path: string) => boolean;
}

const healthPath = '/grpc.health.v1.Health/';

/**
 * Server interceptor (pass in `new grpc.Server({ interceptors: [...] })`) that ends every call
 * failing `check` with its status before any handler runs. Accepts a token or an AuthCheck.
 */
export function bearerAuthInterceptor(tokenOrCheck: string | AuthCheck, options: AuthInterceptorOptions = {}): grpc.ServerInterceptor {
  const check = typeof tokenOrCheck === 'string' ? bearerAuth(tokenOrCheck) : tokenOrCheck;
  const exempt = options.exempt ?? ((path: string) => path.startsWith(healthPath));
  return (method, call) => {
    if (exempt(method.path)) return new grpc.ServerInterceptingCall(call);
    return new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata, pass) => {
            const result = check(metadata);
            if (result.ok) pass(metadata);
            else call.sendStatus({ code: result.code, details: result.details, metadata: new grpc.Metadata() });
          },
        });
      },
    });
  };
}

/** `authorization: Bearer <token>` metadata. */
export function bearerMetadata(token: string, metadata: grpc.Metadata = new grpc.Metadata()): grpc.Metadata {
  metadata.set(AUTHORIZATION, `Bearer ${token}`);
  return metadata;
}

/**
 * Call credentials that send the bearer token. Compose them into TLS channel credentials
 * (`grpc.credentials.combineChannelCredentials`) or pass them per call (`{ credentials }`).
 */
export function bearerCallCredentials(token: string): grpc.CallCredentials {
  return grpc.credentials.createFromMetadataGenerator((_params, callback) => callback(null, bearerMetadata(token)));
}

/** Client interceptor that sends the bearer token; works on insecure (loopback) channels too. */
export function bearerClientInterceptor(token: string): grpc.Interceptor {
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start: (metadata, listener, next) => next(bearerMetadata(token, metadata), listener),
    });
}
