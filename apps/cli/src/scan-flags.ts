// What `strata image` and `strata registry` read from their shared flags the same way: the
// advisory folder and the finding filters (severities, unfixed, .trivyignore).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { parseIgnoreFile, parseSeverities, type FilterOptions } from '@strata/matcher';
import { describeError } from '@strata/errors';

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

/**
 * The advisory folder a local scan reads. A folder the user named (--db, STRATA_DB) that is missing
 * is a usage error; a missing default folder is left to the index, which says to run `strata db update`.
 */
export function scanAdvisoryDir(flags: SharedScanFlags): string {
  const dir = advisoryDir(flags);
  const named = flags.db !== undefined ? '--db' : process.env.STRATA_DB ? 'STRATA_DB' : undefined;
  if (named === undefined) return dir;
  const stats = statSync(dir, { throwIfNoEntry: false });
  if (!stats)
    throw new InvalidArgumentError(
      `${named} ${dir} does not exist: download advisories into it with "strata db update --db ${dir}", or name a folder of OSV records`,
    );
  if (!stats.isDirectory()) throw new InvalidArgumentError(`${named} ${dir} is not a folder: give the folder that holds the OSV records or all.zip dumps`);
  return dir;
}

function readIgnoreFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a folder, not a file' : `cannot be read (${code ?? describeError(error)})`;
    throw new InvalidArgumentError(`--ignorefile ${path} ${why}`);
  }
}

/** --severity, --ignore-unfixed and --ignorefile (default ./.trivyignore when present). */
export function findingFilter(flags: SharedScanFlags): FilterOptions {
  const filter: FilterOptions = {};
  if (flags.severity) {
    try {
      filter.severities = parseSeverities(flags.severity);
    } catch (error) {
      throw new InvalidArgumentError(`--severity: ${describeError(error)}`);
    }
  }
  if (flags.ignoreUnfixed) filter.ignoreUnfixed = true;
  const ignorePath = flags.ignorefile ?? (existsSync('.trivyignore') ? '.trivyignore' : undefined);
  if (ignorePath) filter.ignore = parseIgnoreFile(readIgnoreFile(ignorePath)).rules;
  return filter;
}
