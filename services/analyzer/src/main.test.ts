// The process entry point refuses to start on bad settings and names every problem at once.
import { fileURLToPath } from 'node:url';
import test from 'node:test';
import { assertSettingsRefused } from '@strata/testing';

const main = fileURLToPath(new URL('./main.ts', import.meta.url));
const unreachable = { S3_ENDPOINT: 'http://127.0.0.1:1' };

test('strata-analyzer exits 2 and lists every missing or bad setting', () => {
  assertSettingsRefused(main, { ...unreachable, STRATA_TOPIC_PARTITIONS: 'zero' }, [/KAFKA_BROKERS is required/, /STRATA_TOPIC_PARTITIONS must be an integer/]);
});
