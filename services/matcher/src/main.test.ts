// The process entry point refuses to start on bad settings and names every problem at once.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import test from 'node:test';
import { runEntry } from '@strata/testing';

const main = fileURLToPath(new URL('./main.ts', import.meta.url));

test('strata-matcher exits 2 and lists every missing or bad setting, the advisory folder too', () => {
  const result = runEntry(main, { S3_ENDPOINT: 'http://127.0.0.1:1', STRATA_TOPIC_PARTITIONS: 'zero' });
  assert.equal(result.status, 2, result.stderr);
  assert.match(result.stderr, /KAFKA_BROKERS is required/);
  assert.match(result.stderr, /STRATA_TOPIC_PARTITIONS must be an integer/);
  assert.match(result.stderr, /STRATA_DB is required/);
});

test('strata-matcher reads the advisory limits of the CLI (STRATA_ADVISORY_*) and refuses a bad one', () => {
  const result = runEntry(main, { S3_ENDPOINT: 'http://127.0.0.1:1', STRATA_ADVISORY_MAX_RECORD_BYTES: '16MiB' });
  assert.equal(result.status, 2, result.stderr);
  assert.match(result.stderr, /STRATA_ADVISORY_MAX_RECORD_BYTES must be an integer/);
});
