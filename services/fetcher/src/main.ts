// Entry point of strata-fetcher: settings from the environment, graceful stop on SIGTERM.
import { runServiceMain } from '@strata/service-runtime';
import { startFetcher } from './fetcher.js';
import { fetcherSettings } from './settings.js';

await runServiceMain({ service: 'fetcher', settings: fetcherSettings, start: (config) => startFetcher(config) });
