// The process entry point, started through its package: with STRATA_WATCH_ONCE it makes one pass
// over the registries and exits (its settings refusal is tested in services/watcher).
import assert from 'node:assert/strict';
import test from 'node:test';
import { createDeployment } from './testing/harness.js';
import { infra, skipUnless } from '@strata/testing';

test('strata-watcher with STRATA_WATCH_ONCE makes one pass and exits 0', { skip: skipUnless('kafka', 'minio', 'registry'), timeout: 180_000 }, async (t) => {
  const d = await createDeployment('watcher-once');
  t.after(() => d.teardown());
  const registry = infra.registry('anonymous')!.host;
  const child = d.spawn('watcher', {
    STRATA_WATCH_ONCE: 'true',
    STRATA_WATCH_REGISTRIES: JSON.stringify([{ host: registry, include: ['strata/debian-*'] }]),
  });
  const done = await child.waitForLog((l) => l.msg === 'registry pass done');
  assert.equal(done.registry, registry);
  assert.ok((done.repositories as number) >= 1, 'the fixture repositories strata/debian-* are in the registry');
  assert.equal(await child.exited, 0);
});
