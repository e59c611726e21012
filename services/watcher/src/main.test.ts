// The process entry point refuses to start on bad settings and names every problem at once.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import test from 'node:test';
import { runEntry } from '@strata/testing';

const main = fileURLToPath(new URL('./main.ts', import.meta.url));

test('strata-watcher exits 2 and lists every missing or bad setting', () => {
  const env = { S3_ENDPOINT: 'http://127.0.0.1:1', STRATA_WATCH_INTERVAL_MS: 'soon', STRATA_REGISTRY_CREDENTIALS: '{"x": {"username": "u"}}' };
  const result = runEntry(main, env);
  assert.equal(result.status, 2, result.stderr);
  assert.match(result.stderr, /KAFKA_BROKERS is required/);
  assert.match(result.stderr, /STRATA_WATCH_REGISTRIES is required/);
  assert.match(result.stderr, /STRATA_WATCH_INTERVAL_MS must be an integer/);
  assert.match(result.stderr, /STRATA_REGISTRY_CREDENTIALS is invalid/, 'a secret setting is named, its content never shown');

  const bad = runEntry(main, {
    ...env,
    KAFKA_BROKERS: '127.0.0.1:1',
    STRATA_WATCH_INTERVAL_MS: '1000',
    STRATA_REGISTRY_CREDENTIALS: '',
    STRATA_WATCH_REGISTRIES: '[{"host": "https://r.example/x"}, {"host": "ok.example", "include": "team/*", "colour": 1}]',
  });
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /entry 0: "host" must be host\[:port\]/);
  assert.match(bad.stderr, /unknown field "colour"/);
  assert.match(bad.stderr, /registry ok\.example: "include" must be a list of globs/);
});
