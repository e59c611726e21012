// Settings more than one distributed service reads, on top of @strata/service-runtime's: registry
// credential entries (fetcher, watcher) and the advisory index cache (matcher, gateway).
import { homedir } from 'node:os';
import { join } from 'node:path';
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
  STRATA_DB_RECHECK_MS: setting.integer({ description: 'how often the advisory folder is checked for a new version (a new one is published and re-matched)', default: 60_000, min: 0 }),
} satisfies Record<string, Setting<unknown>>;
