// Environment settings of strata-matcher, on top of @strata/service-runtime's.
import { setting, type ConfigOf, type Setting } from '@strata/config';
import type { RuntimeConfig } from '@strata/service-runtime';
import { advisoryIndexSettings } from '@strata/stage-runtime';

export const matcherSettings = {
  STRATA_DB: setting.string({ description: 'OSV advisory folder (*.json at any depth, <ecosystem>/all.zip)' }),
  ...advisoryIndexSettings,
  STRATA_PG_URL: setting.optionalString({
    description:
      'findings DB (PostgreSQL, postgres://user:password@host:port/db): images, findings state and history, re-match selection by SQL; unset = the blob-store catalog',
    secret: true,
  }),
  STRATA_REMATCH_CONCURRENCY: setting.integer({
    description: 'images re-matched at once after an advisory update (catalog reads/writes, events)',
    default: 16,
    min: 1,
  }),
} satisfies Record<string, Setting<unknown>>;

export type MatcherConfig = ConfigOf<typeof matcherSettings> & RuntimeConfig;
