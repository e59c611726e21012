import type { Credentials } from './credentials.js';
import type { Platform } from './reference.js';

export interface OpenOptions {
  /** default linux/amd64; when given for a single-platform image, its config must match */
  platform?: Platform;
  /** use these and skip credential lookup */
  credentials?: Credentials;
  /** --username/--password (else STRATA_USERNAME/STRATA_PASSWORD, else Docker config.json) */
  username?: string | undefined;
  password?: string | undefined;
  /** plain HTTP for a registry that is not on loopback */
  insecure?: boolean;
  /** directory of the Docker config.json (default $DOCKER_CONFIG, else ~/.docker) */
  dockerConfigDir?: string;
  userAgent?: string;
  /** bounded retries for network errors, 5xx, 429 and broken blob transfers (default 3) */
  retries?: number;
  retryDelayMs?: number;
  /** longest 429 Retry-After honoured (default 60 s) */
  maxRetryAfterMs?: number;
  /** a blob response silent this long is retried (default 60 s) */
  idleTimeoutMs?: number;
  signal?: AbortSignal;
}
