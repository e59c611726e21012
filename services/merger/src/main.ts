// Entry point of strata-merger: settings from the environment, graceful stop on SIGTERM.
import { runServiceMain } from '@strata/service-runtime';
import { startMerger } from './merger.js';
import { mergerSettings } from './settings.js';

await runServiceMain({ service: 'merger', settings: mergerSettings, start: (config) => startMerger(config) });
