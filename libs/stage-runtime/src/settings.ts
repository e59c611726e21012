// Environment settings of each distributed service, on top of @strata/service-runtime's.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { setting, type ConfigOf, type Setting } from '@strata/config';
import type { RuntimeConfig } from '@strata/service-runtime';

export interface RegistryCredentialEntry {
  username: string;
  password: string;
}

export const credentialEntries: Setting<Record<string, RegistryCredentialEntry>> = {
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

export const fetcherSettings = {
  STRATA_REGISTRY_CREDENTIALS: credentialEntries,
  DOCKER_CONFIG: setting.optionalString({ description: "folder of Docker's config.json, for scans without credentials_ref (default ~/.docker)" }),
  STRATA_REGISTRY_INSECURE: setting.boolean({ description: 'plain HTTP for registries that are not on loopback', default: false }),
} satisfies Record<string, Setting<unknown>>;

export const analyzerSettings = {} satisfies Record<string, Setting<unknown>>;

export const mergerSettings = {} satisfies Record<string, Setting<unknown>>;

export const matcherSettings = {
  STRATA_DB: setting.string({ description: 'OSV advisory folder (*.json at any depth, <ecosystem>/all.zip)' }),
  STRATA_CACHE_DIR: setting.string({
    description: 'where the built advisory index is cached',
    default: join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'strata'),
  }),
  STRATA_DB_RECHECK_MS: setting.integer({ description: 'how often the advisory folder is checked for a new version (a new one is published and re-matched)', default: 60_000, min: 0 }),
  STRATA_REMATCH_CONCURRENCY: setting.integer({ description: 'images re-matched at once after an advisory update (catalog reads/writes, events)', default: 16, min: 1 }),
} satisfies Record<string, Setting<unknown>>;

export type FetcherConfig = ConfigOf<typeof fetcherSettings> & RuntimeConfig;
export type AnalyzerConfig = ConfigOf<typeof analyzerSettings> & RuntimeConfig;
export type MergerConfig = ConfigOf<typeof mergerSettings> & RuntimeConfig;
export type MatcherConfig = ConfigOf<typeof matcherSettings> & RuntimeConfig;
