// The process entry point refuses to start on bad settings and names every problem at once.
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import test from 'node:test';
import { assertSettingsRefused } from '@strata/testing';

const main = fileURLToPath(new URL('./main.ts', import.meta.url));

test('strata-watcher exits 2 and lists every missing or bad setting', () => {
  const env = { S3_ENDPOINT: 'http://127.0.0.1:1', STRATA_WATCH_INTERVAL_MS: 'soon', STRATA_REGISTRY_CREDENTIALS: '{"x": {"username": "u"}}' };
  // a secret setting is named, its content never shown
  assertSettingsRefused(main, env, [
    /KAFKA_BROKERS is required/,
    /STRATA_WATCH_REGISTRIES is required/,
    /STRATA_WATCH_INTERVAL_MS must be an integer/,
    /STRATA_REGISTRY_CREDENTIALS is invalid/,
  ]);
  const bad = {
    ...env,
    KAFKA_BROKERS: '127.0.0.1:1',
    STRATA_WATCH_INTERVAL_MS: '1000',
    STRATA_REGISTRY_CREDENTIALS: '',
    STRATA_WATCH_REGISTRIES: '[{"host": "https://r.example/x"}, {"host": "ok.example", "include": "team/*", "colour": 1}]',
  };
  assertSettingsRefused(main, bad, [
    /entry 0: "host" must be host\[:port\]/,
    /unknown field "colour"/,
    /registry ok\.example: "include" must be a list of globs/,
  ]);
});

test('strata-watcher refuses a push endpoint without a token, or open off loopback, and never shows the token', () => {
  const env = {
    KAFKA_BROKERS: '127.0.0.1:1',
    S3_ENDPOINT: 'http://127.0.0.1:1',
    S3_ACCESS_KEY: 'k',
    S3_SECRET_KEY: 's',
    STRATA_WATCH_REGISTRIES: '[{"host": "registry.example", "repositories": []}]',
    STRATA_WATCHER_HOOK_PORT: '0',
  };
  assertSettingsRefused(main, env, [/STRATA_WATCHER_HOOK_TOKEN is required/]);
  assertSettingsRefused(main, { ...env, STRATA_WATCHER_HOOK_OPEN: 'true', STRATA_WATCHER_HOOK_HOST: '0.0.0.0' }, [/only allowed on loopback/]);
  const stderr = assertSettingsRefused(main, { ...env, STRATA_WATCHER_HOOK_TOKEN: 'tiny-secret-x' }, [/at least 16 characters/]);
  assert.ok(!stderr.includes('tiny-secret-x'), 'the token is never shown');
});
