// Entry point of strata-matcher: settings from the environment, graceful stop on SIGTERM.
import { runServiceMain } from '@strata/service-runtime';
import { startMatcher } from './matcher.js';
import { matcherSettings } from './settings.js';

await runServiceMain({ service: 'matcher', settings: matcherSettings, start: (config) => startMatcher(config) });
