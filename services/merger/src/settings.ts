// Environment settings of strata-merger: only @strata/service-runtime's.
import type { ConfigOf, Setting } from '@strata/config';
import type { RuntimeConfig } from '@strata/service-runtime';

export const mergerSettings = {} satisfies Record<string, Setting<unknown>>;

export type MergerConfig = ConfigOf<typeof mergerSettings> & RuntimeConfig;
