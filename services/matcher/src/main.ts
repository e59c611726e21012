// Entry point of strata-matcher: settings from the environment, graceful stop on SIGTERM.
import { startMatcher, matcherSettings } from '@strata/pipeline';
import { runServiceMain } from '@strata/service-runtime';

await runServiceMain({ service: 'matcher', settings: matcherSettings, start: (config) => startMatcher(config) });
