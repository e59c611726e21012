// Settings more than one distributed service reads, on top of @strata/service-runtime's: registry
// credential entries (fetcher, watcher) and the advisory index cache (matcher, gateway).
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import { ADVISORY_LIMIT_ENV, DEFAULT_ADVISORY_LIMITS, type AdvisoryLimits } from '@strata/advisories';
import { setting, type Setting } from '@strata/config';

export interface RegistryCredentialEntry {
  username: string;
  password: string;
}

export const registryCredentialsSetting: Setting<Record<string, RegistryCredentialEntry>> = {
  description: 'registry credential entries as JSON {"<name>": {"username": "…", "password": "…"}}; a scan names one in credentials_ref',
  secret: true,
  parse(raw) {
    if (raw === undefined) return {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new Error('must be JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('must be a JSON object of named entries');
    const out: Record<string, RegistryCredentialEntry> = {};
    for (const [name, entry] of Object.entries(parsed)) {
      const e = entry as Partial<RegistryCredentialEntry> | null;
      if (!e || typeof e.username !== 'string' || typeof e.password !== 'string') throw new Error(`entry "${name}" needs a username and a password`);
      out[name] = { username: e.username, password: e.password };
    }
    return out;
  },
};

/** Where the built advisory index is cached and how often its folder is re-checked (matcher, gateway). */
export const advisoryIndexSettings = {
  STRATA_CACHE_DIR: setting.string({
    description: 'where the built advisory index is cached',
    default: join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'strata'),
  }),
  STRATA_DB_RECHECK_MS: setting.integer({
    description: 'how often the advisory folder is checked for a new version (a new one is published and re-matched)',
    default: 60_000,
    min: 0,
  }),
  // the bounds on reading advisory records and zips, the same variables the CLI reads (ADVISORY_LIMIT_ENV)
  STRATA_ADVISORY_MAX_RECORD_BYTES: advisoryLimit('maxRecordBytes', 'largest advisory record (*.json or inflated zip entry), bytes'),
  STRATA_ADVISORY_MAX_ARCHIVE_BYTES: advisoryLimit('maxArchiveBytes', 'inflated bytes read from one all.zip'),
  STRATA_ADVISORY_MAX_ARCHIVE_ENTRIES: advisoryLimit('maxArchiveEntries', 'entries read from one all.zip'),
  STRATA_ADVISORY_MAX_ARCHIVE_RATIO: advisoryLimit('maxArchiveRatio', 'inflated/compressed ratio of an all.zip past 64 MiB (a bomb beyond it)'),
} satisfies Record<string, Setting<unknown>>;

/**
 * STRATA_PG_URL: the findings DB (PostgreSQL): every service keeps the scan records there; the
 * matcher writes the findings state and the gateway queries it. Unset, all of it stays in the
 * blob store. `use` says what this service does with it.
 */
export const findingsDbSettings = (use: string) =>
  ({
    STRATA_PG_URL: setting.optionalString({
      description: `findings DB (PostgreSQL, postgres://user:password@host:port/db): ${use}; unset = the blob store`,
      secret: true,
    }),
  }) satisfies Record<string, Setting<unknown>>;

/** An advisory limit's setting: unset keeps the library default (named in the description). */
function advisoryLimit(key: keyof AdvisoryLimits, what: string): Setting<number | undefined> {
  const integer = setting.integer({ description: what, min: 0 });
  return {
    description: `${what} (default ${DEFAULT_ADVISORY_LIMITS[key]})`,
    parse: (raw) => (raw === undefined ? undefined : integer.parse(raw)),
  };
}

/** The advisory limits a service's configuration sets (for advisoryIndexSource / openAdvisoryIndex). */
export function advisoryLimitsOf(config: Readonly<Record<string, unknown>>): Partial<AdvisoryLimits> {
  const out: Partial<AdvisoryLimits> = {};
  for (const [key, variable] of Object.entries(ADVISORY_LIMIT_ENV) as [keyof AdvisoryLimits, string][]) {
    const value = config[variable];
    if (typeof value === 'number') out[key] = value;
  }
  return out;
}

/**
 * Where a layer-reading service (analyzer, merger) keeps its cache-dir work: its spooled temp
 * files go to <STRATA_CACHE_DIR>/tmp/<service>-<host>, never the shared os.tmpdir().
 */
export const serviceCacheDirSettings = {
  STRATA_CACHE_DIR: setting.string({
    description: 'cache folder; spooled temp files of layer analysis go to <dir>/tmp and are removed on every exit path',
    default: join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'strata'),
  }),
} satisfies Record<string, Setting<unknown>>;

/** The private temp root of one service replica (per host, so replicas sharing a volume never touch each other's). */
export const serviceTmpRoot = (cacheDir: string, service: string): string => join(cacheDir, 'tmp', `${service}-${hostname()}`);
