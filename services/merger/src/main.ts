// Entry point of strata-merger: settings from the environment, graceful stop on SIGTERM.
import { startMerger, mergerSettings } from '@strata/pipeline';
import { runServiceMain } from '@strata/service-runtime';

await runServiceMain({ service: 'merger', settings: mergerSettings, start: (config) => startMerger(config) });
