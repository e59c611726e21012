// What a stage error means for the scan: its FailureCode, and whether it is transient (the
// registry or the store is briefly away: retry the message) or final (fail the scan now).
import { BlobIntegrityError, BlobNotFoundError, BlobStoreUnavailableError } from '@strata/blobstore';
import { BusUnavailableError } from '@strata/bus';
import { LayerError } from '@strata/layers';
import {
  AuthError,
  BlobSizeError,
  BlobDigestMismatchError,
  ImageConfigError,
  InvalidReferenceError,
  ManifestError,
  NotFoundError,
  PlatformError,
  RegistryError,
} from '@strata/oci';
import type { FailureCodeName } from '@strata/scan-records';

/** A failure the stage detected itself (no exception class says it better). */
export class StageError extends Error {
  constructor(
    readonly code: FailureCodeName,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StageError';
  }
}

export interface Classified {
  code: FailureCodeName;
  transient: boolean;
}

const NETWORK_CODES =
  /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ECONNABORTED|ESOCKETTIMEDOUT|ERR_S3_TIMEOUT|UND_ERR_SOCKET|UND_ERR_CONNECT_TIMEOUT|SlowDown|ServiceUnavailable|XMinioServerNotInitialized|InternalError)$/;

function* chain(error: unknown): Generator<unknown> {
  const seen = new Set<unknown>();
  for (let e: unknown = error; e !== undefined && e !== null && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    yield e;
  }
}

function isUnavailable(error: unknown): boolean {
  for (const e of chain(error)) {
    if (e instanceof BlobStoreUnavailableError || e instanceof BusUnavailableError) return true;
    if (e instanceof RegistryError && !(e instanceof AuthError) && !(e instanceof NotFoundError)) {
      if (e.status === undefined || e.status >= 500 || e.status === 429 || e.status === 408) return true;
    }
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.test(code)) return true;
    if (e instanceof Error && /socket hang up|ECONNREFUSED|ECONNRESET/.test(e.message)) return true;
  }
  return false;
}

export function classifyError(error: unknown): Classified {
  if (error instanceof StageError) return { code: error.code, transient: false };
  // Failures that name a bad input come first: retrying them cannot help.
  if (error instanceof InvalidReferenceError) return { code: 'INVALID_REFERENCE', transient: false };
  if (error instanceof AuthError) return { code: 'UNAUTHORIZED', transient: false };
  if (error instanceof NotFoundError) return { code: 'IMAGE_NOT_FOUND', transient: false };
  if (error instanceof PlatformError) return { code: 'PLATFORM_NOT_FOUND', transient: false };
  for (const e of chain(error)) {
    if (e instanceof BlobDigestMismatchError || e instanceof BlobIntegrityError || e instanceof BlobSizeError)
      return { code: 'DIGEST_MISMATCH', transient: false };
    if (e instanceof LayerError && e.code === 'DIFF_ID_MISMATCH') return { code: 'DIGEST_MISMATCH', transient: false };
  }
  if (isUnavailable(error)) return { code: 'UNAVAILABLE', transient: true };
  if (error instanceof ManifestError || error instanceof ImageConfigError) return { code: 'UNSUPPORTED_MEDIA_TYPE', transient: false };
  for (const e of chain(error)) {
    if (e instanceof LayerError && e.code === 'LIMIT_EXCEEDED') return { code: 'LIMIT_EXCEEDED', transient: false };
    if (e instanceof BlobNotFoundError) return { code: 'INTERNAL', transient: false };
  }
  return { code: 'INTERNAL', transient: false };
}
