// What `strata image` and `strata registry` read from their shared flags the same way: the
// advisory folder and the finding filters (severities, unfixed, .trivyignore).
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseIgnoreFile, parseSeverities, type FilterOptions } from '@strata/matcher';

export interface SharedScanFlags {
  cacheDir: string;
  db?: string;
  severity?: string;
  ignoreUnfixed?: boolean;
  ignorefile?: string;
}

/** --db, else STRATA_DB, else <cache-dir>/db. */
export function advisoryDir(flags: SharedScanFlags): string {
  return resolve(flags.db ?? process.env.STRATA_DB ?? join(resolve(flags.cacheDir), 'db'));
}

/** --severity, --ignore-unfixed and --ignorefile (default ./.trivyignore when present). */
export function findingFilter(flags: SharedScanFlags): FilterOptions {
  const filter: FilterOptions = {};
  if (flags.severity) filter.severities = parseSeverities(flags.severity);
  if (flags.ignoreUnfixed) filter.ignoreUnfixed = true;
  const ignorePath = flags.ignorefile ?? (existsSync('.trivyignore') ? '.trivyignore' : undefined);
  if (ignorePath) filter.ignore = parseIgnoreFile(readFileSync(ignorePath, 'utf8')).rules;
  return filter;
}
