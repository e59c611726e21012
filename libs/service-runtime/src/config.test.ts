import assert from 'node:assert/strict';
import test from 'node:test';
import { SettingsError, setting } from '@strata/config';
import { loadServiceConfig } from './index.js';

test('every missing or bad setting is reported at once, secrets never shown', () => {
  const extra = { STRATA_DB: setting.string({ description: 'advisory folder' }) };
  let error: unknown;
  try {
    loadServiceConfig(extra, { S3_ENDPOINT: 'http://127.0.0.1:19000', S3_SECRET_KEY: 'hunter2', STRATA_TOPIC_PARTITIONS: 'many' });
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof SettingsError);
  const text = error.message;
  assert.match(text, /KAFKA_BROKERS is required/);
  assert.match(text, /STRATA_DB is required/);
  assert.match(text, /STRATA_TOPIC_PARTITIONS must be an integer/);
  assert.ok(!text.includes('hunter2'));
});

test('settings that only make sense together are checked together', () => {
  const base = { KAFKA_BROKERS: '127.0.0.1:19092' };
  assert.throws(() => loadServiceConfig({}, base), /S3_ENDPOINT \(or STRATA_STORE_DIR/);
  assert.throws(
    () => loadServiceConfig({}, { ...base, S3_ENDPOINT: 'http://127.0.0.1:19000' }),
    /S3_ACCESS_KEY is required with S3_ENDPOINT[\s\S]*S3_SECRET_KEY is required/,
  );
  assert.throws(() => loadServiceConfig({}, { ...base, STRATA_STORE_DIR: '/tmp/x', STRATA_TOPIC_PREFIX: 'bad prefix/' }), /STRATA_TOPIC_PREFIX may only hold/);
  assert.throws(
    () => loadServiceConfig({}, { ...base, STRATA_STORE_DIR: '/tmp/x', KAFKA_SESSION_TIMEOUT_MS: '6000', KAFKA_HEARTBEAT_INTERVAL_MS: '3000' }),
    /KAFKA_HEARTBEAT_INTERVAL_MS must be at most a third/,
  );
  const ok = loadServiceConfig({}, { ...base, STRATA_STORE_DIR: '/tmp/x' });
  assert.deepEqual(ok.KAFKA_BROKERS, ['127.0.0.1:19092']);
  assert.equal(ok.STRATA_TOPIC_PARTITIONS, 6);
  assert.equal(ok.S3_BUCKET, 'strata');
});
