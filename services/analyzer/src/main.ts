// Entry point of strata-analyzer: settings from the environment, graceful stop on SIGTERM.
import { runServiceMain } from '@strata/service-runtime';
import { startAnalyzer } from './analyzer.js';
import { analyzerSettings } from './settings.js';

await runServiceMain({ service: 'analyzer', settings: analyzerSettings, start: (config) => startAnalyzer(config) });
