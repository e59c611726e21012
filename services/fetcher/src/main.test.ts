// The process entry point refuses to start on bad settings and names every problem at once.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import test from 'node:test';
import { assertSettingsRefused } from '@strata/testing';

const main = fileURLToPath(new URL('./main.ts', import.meta.url));

test('strata-fetcher exits 2 and lists every missing or bad setting', () => {
  const stderr = assertSettingsRefused(
    main,
    {
      S3_ENDPOINT: 'http://127.0.0.1:1',
      STRATA_TOPIC_PARTITIONS: 'zero',
      STRATA_REGISTRY_CREDENTIALS: '{"ci": {"username": "u", "pass": "s3cr3t"}}',
    },
    [/KAFKA_BROKERS is required/, /STRATA_TOPIC_PARTITIONS must be an integer/, /STRATA_REGISTRY_CREDENTIALS is invalid/],
  );
  assert.ok(!stderr.includes('s3cr3t'), 'secret values never appear');
});
