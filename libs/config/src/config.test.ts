import assert from 'node:assert/strict';
import test from 'node:test';
import { SettingsError, describeConfig, loadConfig, setting } from './index.js';

const spec = {
  KAFKA_BROKERS: setting.list({ description: 'Kafka bootstrap brokers, comma separated' }),
  S3_PORT: setting.integer({ description: 'S3 port', default: 9000, min: 1, max: 65535 }),
  S3_SECRET_KEY: setting.string({ description: 'S3 secret key', secret: true }),
  MODE: setting.oneOf(['embedded', 'distributed'] as const, { description: 'mode', default: 'embedded' }),
  DEBUG: setting.boolean({ description: 'debug', default: false }),
};

test('valid values are parsed and defaults applied', () => {
  const config = loadConfig(spec, { KAFKA_BROKERS: 'a:1, b:2', S3_SECRET_KEY: 's3cr3t' });
  assert.deepEqual(config, { KAFKA_BROKERS: ['a:1', 'b:2'], S3_PORT: 9000, S3_SECRET_KEY: 's3cr3t', MODE: 'embedded', DEBUG: false });
  assert.equal(describeConfig(spec, config).S3_SECRET_KEY, '[redacted]');
});

test('every problem is reported at once, naming the variable, never the secret', () => {
  try {
    loadConfig(spec, { S3_PORT: '70000', MODE: 'cloud', DEBUG: 'maybe', S3_SECRET_KEY: '' });
    assert.fail('expected a SettingsError');
  } catch (error) {
    assert.ok(error instanceof SettingsError);
    assert.equal(error.problems.length, 5);
    assert.match(error.message, /KAFKA_BROKERS is required/);
    assert.match(error.message, /S3_PORT must be <= 65535/);
    assert.match(error.message, /MODE must be one of embedded, distributed/);
    assert.match(error.message, /DEBUG must be true or false/);
    assert.match(error.message, /S3_SECRET_KEY is/);
  }
});
