// The process entry point refuses to start on bad settings and names every problem at once.
import { fileURLToPath } from 'node:url';
import test from 'node:test';
import { assertSettingsRefused } from '@strata/testing';

const main = fileURLToPath(new URL('./main.ts', import.meta.url));
const unreachable = { S3_ENDPOINT: 'http://127.0.0.1:1' };

test('strata-matcher exits 2 and lists every missing or bad setting, the advisory folder too', () => {
  assertSettingsRefused(main, { ...unreachable, STRATA_TOPIC_PARTITIONS: 'zero' }, [
    /KAFKA_BROKERS is required/,
    /STRATA_TOPIC_PARTITIONS must be an integer/,
    /STRATA_DB is required/,
  ]);
});

test('strata-matcher reads the advisory limits of the CLI (STRATA_ADVISORY_*) and refuses a bad one', () => {
  assertSettingsRefused(main, { ...unreachable, STRATA_ADVISORY_MAX_RECORD_BYTES: '16MiB' }, [/STRATA_ADVISORY_MAX_RECORD_BYTES must be an integer/]);
});
