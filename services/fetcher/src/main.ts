// Entry point of strata-fetcher: settings from the environment, graceful stop on SIGTERM.
import { startFetcher, fetcherSettings } from '@strata/pipeline';
import { runServiceMain } from '@strata/service-runtime';

await runServiceMain({ service: 'fetcher', settings: fetcherSettings, start: (config) => startFetcher(config) });
