// Bounds on what advisory data may cost. OSV dumps come from a mirror Strata does not control: a
// few megabytes of zip can inflate to gigabytes, a server can stream forever. Every bound has a
// default that real OSV data stays far below, and can be changed per call (`limits` options).

import { resolveNumericLimits } from '@strata/model';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export interface AdvisoryLimits {
  /** largest record file (`*.json`) or inflated zip entry read; a larger one is skipped with a warning */
  maxRecordBytes: number;
  /** inflated bytes read from one zip; past it the rest of that zip is skipped with a warning */
  maxArchiveBytes: number;
  /** entries (of any kind) read from one zip; past it the rest of that zip is skipped with a warning */
  maxArchiveEntries: number;
  /**
   * inflated / compressed bytes of the entries read from one zip, checked once the zip has inflated
   * past ARCHIVE_RATIO_FLOOR_BYTES: real OSV JSON compresses about 10:1, a bomb up to 1000:1
   */
  maxArchiveRatio: number;
  /** bytes `strata db update` downloads for one ecosystem's dump */
  maxDownloadBytes: number;
  /** time one dump's download may take from the request to the last byte, in ms */
  downloadTimeoutMs: number;
  /** time a download may go without receiving a byte (or without response headers), in ms */
  downloadIdleTimeoutMs: number;
  /** redirects followed for one download; only to the same origin, never from https to http */
  maxRedirects: number;
}

export const DEFAULT_ADVISORY_LIMITS: Readonly<AdvisoryLimits> = Object.freeze({
  maxRecordBytes: 16 * MiB,
  maxArchiveBytes: 8 * GiB,
  maxArchiveEntries: 2_000_000,
  maxArchiveRatio: 200,
  maxDownloadBytes: 2 * GiB,
  downloadTimeoutMs: 30 * 60 * 1000,
  downloadIdleTimeoutMs: 60 * 1000,
  maxRedirects: 5,
});

/** Below this many inflated bytes a zip's compression ratio is not checked. */
export const ARCHIVE_RATIO_FLOOR_BYTES = 64 * MiB;

export function resolveAdvisoryLimits(overrides: Partial<AdvisoryLimits> | undefined): AdvisoryLimits {
  return resolveNumericLimits<AdvisoryLimits>(DEFAULT_ADVISORY_LIMITS, overrides, 'advisory');
}

/** What of the limits shapes a built index: a cache built under other reading limits is rebuilt. */
export function readingLimitsKey(overrides: Partial<AdvisoryLimits> | undefined): string {
  const l = resolveAdvisoryLimits(overrides);
  return `records<=${l.maxRecordBytes} zip<=${l.maxArchiveBytes}/${l.maxArchiveEntries}/${l.maxArchiveRatio}`;
}

/** The environment variable that sets each limit (read by the CLI and services, never by this library). */
export const ADVISORY_LIMIT_ENV: Readonly<Record<keyof AdvisoryLimits, string>> = Object.freeze({
  maxRecordBytes: 'STRATA_ADVISORY_MAX_RECORD_BYTES',
  maxArchiveBytes: 'STRATA_ADVISORY_MAX_ARCHIVE_BYTES',
  maxArchiveEntries: 'STRATA_ADVISORY_MAX_ARCHIVE_ENTRIES',
  maxArchiveRatio: 'STRATA_ADVISORY_MAX_ARCHIVE_RATIO',
  maxDownloadBytes: 'STRATA_DB_MAX_DOWNLOAD_BYTES',
  downloadTimeoutMs: 'STRATA_DB_DOWNLOAD_TIMEOUT_MS',
  downloadIdleTimeoutMs: 'STRATA_DB_DOWNLOAD_IDLE_TIMEOUT_MS',
  maxRedirects: 'STRATA_DB_MAX_REDIRECTS',
});

/** The limits set in env (ADVISORY_LIMIT_ENV); throws one RangeError naming every malformed variable. */
export function advisoryLimitsFromEnv(env: Readonly<Record<string, string | undefined>>): Partial<AdvisoryLimits> {
  const out: Partial<AdvisoryLimits> = {};
  const problems: string[] = [];
  for (const [key, variable] of Object.entries(ADVISORY_LIMIT_ENV) as [keyof AdvisoryLimits, string][]) {
    const raw = env[variable]?.trim();
    if (raw === undefined || raw === '') continue;
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw)))
      problems.push(`${variable} must be a non-negative integer, got ${JSON.stringify(raw.slice(0, 40))}`);
    else out[key] = Number(raw);
  }
  if (problems.length > 0) throw new RangeError(problems.join('; '));
  return out;
}
