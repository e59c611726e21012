// Environment settings of strata-matcher, on top of @strata/service-runtime's.
import { setting, type ConfigOf, type Setting } from '@strata/config';
import type { RuntimeConfig } from '@strata/service-runtime';
import { advisoryIndexSettings, findingsDbSettings } from '@strata/stage-runtime';

export const matcherSettings = {
  STRATA_DB: setting.string({ description: 'OSV advisory folder (*.json at any depth, <ecosystem>/all.zip)' }),
  ...advisoryIndexSettings,
  ...findingsDbSettings('images, findings state and history, re-match selection by SQL'),
  STRATA_REMATCH_CONCURRENCY: setting.integer({
    description: 'images re-matched at once after an advisory update (catalog reads/writes, events)',
    default: 16,
    min: 1,
  }),
} satisfies Record<string, Setting<unknown>>;

export type MatcherConfig = ConfigOf<typeof matcherSettings> & RuntimeConfig;
