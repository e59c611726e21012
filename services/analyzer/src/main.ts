// Entry point of strata-analyzer: settings from the environment, graceful stop on SIGTERM.
import { startAnalyzer, analyzerSettings } from '@strata/pipeline';
import { runServiceMain } from '@strata/service-runtime';

await runServiceMain({ service: 'analyzer', settings: analyzerSettings, start: (config) => startAnalyzer(config) });
