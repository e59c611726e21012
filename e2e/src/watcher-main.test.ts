// The process entry point: refuses to start on bad settings (every problem at once), and with
// STRATA_WATCH_ONCE makes one pass over the registries and exits.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import test from 'node:test';
import { createDeployment, serviceMain } from './testing/harness.js';
import { infra, skipUnless } from '@strata/testing';

const main = serviceMain('watcher');

test('strata-watcher exits 2 and lists every missing or bad setting', () => {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };
  env.S3_ENDPOINT = 'http://127.0.0.1:1';
  env.STRATA_WATCH_INTERVAL_MS = 'soon';
  env.STRATA_REGISTRY_CREDENTIALS = '{"x": {"username": "u"}}';
  const result = spawnSync(process.execPath, ['--import', 'tsx', main], { env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(result.status, 2, result.stderr);
  assert.match(result.stderr, /KAFKA_BROKERS is required/);
  assert.match(result.stderr, /STRATA_WATCH_REGISTRIES is required/);
  assert.match(result.stderr, /STRATA_WATCH_INTERVAL_MS must be an integer/);
  assert.match(result.stderr, /STRATA_REGISTRY_CREDENTIALS is invalid/, "a secret setting is named, its content never shown");

  const bad = spawnSync(process.execPath, ['--import', 'tsx', main], {
    env: { ...env, KAFKA_BROKERS: '127.0.0.1:1', STRATA_WATCH_INTERVAL_MS: '1000', STRATA_REGISTRY_CREDENTIALS: '', STRATA_WATCH_REGISTRIES: '[{"host": "https://r.example/x"}, {"host": "ok.example", "include": "team/*", "colour": 1}]' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /entry 0: "host" must be host\[:port\]/);
  assert.match(bad.stderr, /unknown field "colour"/);
  assert.match(bad.stderr, /registry ok\.example: "include" must be a list of globs/);
});

test('strata-watcher with STRATA_WATCH_ONCE makes one pass and exits 0', { skip: skipUnless('kafka', 'minio', 'registry'), timeout: 180_000 }, async (t) => {
  const d = await createDeployment('watcher-once');
  t.after(() => d.teardown());
  const registry = infra.registry('anonymous')!.host;
  const child = d.spawn('watcher' as never, {
    STRATA_WATCH_ONCE: 'true',
    STRATA_WATCH_REGISTRIES: JSON.stringify([{ host: registry, include: ['strata/debian-*'] }]),
  });
  const done = await child.waitForLog((l) => l.msg === 'registry pass done');
  assert.equal(done.registry, registry);
  assert.ok((done.repositories as number) >= 1, 'the fixture repositories strata/debian-* are in the registry');
  assert.equal(await child.exited, 0);
});
