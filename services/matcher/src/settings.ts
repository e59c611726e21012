// Environment settings of strata-matcher, on top of @strata/service-runtime's.
import { setting, type ConfigOf, type Setting } from '@strata/config';
import type { RuntimeConfig } from '@strata/service-runtime';
import { advisoryIndexSettings, findingsDbSettings } from '@strata/stage-runtime';

export const matcherSettings = {
  STRATA_DB: setting.string({ description: 'OSV advisory folder (*.json at any depth, <ecosystem>/all.zip)' }),
  ...advisoryIndexSettings,
  ...findingsDbSettings('images, findings state and history, re-match selection by SQL'),
  STRATA_REMATCH_CONCURRENCY: setting.integer({
    description: 'images re-matched at once after an advisory update, without STRATA_PG_URL (catalog reads/writes)',
    default: 16,
    min: 1,
  }),
  STRATA_REMATCH_BATCH_IMAGES: setting.integer({
    description: 'with STRATA_PG_URL: images per re-match batch (the unit replicas claim)',
    default: 500,
    min: 1,
  }),
  STRATA_REMATCH_WORKERS: setting.integer({ description: 'with STRATA_PG_URL: re-match batches this replica works on at once', default: 2, min: 1 }),
  STRATA_REMATCH_LEASE_MS: setting.integer({
    description: 'with STRATA_PG_URL: how long a claimed batch is held; a replica that dies leaves it to others after this',
    default: 60_000,
    min: 100,
  }),
  STRATA_REMATCH_POLL_MS: setting.integer({
    description: 'with STRATA_PG_URL: how often a replica looks for open re-match batches (planned elsewhere, or left by a dead replica)',
    default: 500,
    min: 10,
  }),
} satisfies Record<string, Setting<unknown>>;

export type MatcherConfig = ConfigOf<typeof matcherSettings> & RuntimeConfig;
