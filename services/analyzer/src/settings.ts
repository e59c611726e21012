// Environment settings of strata-analyzer: only @strata/service-runtime's.
import type { ConfigOf, Setting } from '@strata/config';
import type { RuntimeConfig } from '@strata/service-runtime';

export const analyzerSettings = {} satisfies Record<string, Setting<unknown>>;

export type AnalyzerConfig = ConfigOf<typeof analyzerSettings> & RuntimeConfig;
