// Environment settings of strata-analyzer, on top of @strata/service-runtime's: the cache folder (temp files).
import type { ConfigOf, Setting } from '@strata/config';
import { findingsDbSettings, serviceCacheDirSettings } from '@strata/stage-runtime';
import type { RuntimeConfig } from '@strata/service-runtime';

export const analyzerSettings = { ...serviceCacheDirSettings, ...findingsDbSettings('scan records') } satisfies Record<string, Setting<unknown>>;

export type AnalyzerConfig = ConfigOf<typeof analyzerSettings> & RuntimeConfig;
