// Client mode without a gateway behind it, and the mapping of the CLI filters to scan options.
// The full path (gateway + pipeline, same output as embedded mode) is in services/gateway's e2e test.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Severity } from '@strata/contracts';
import { closedLoopbackPort } from '@strata/testing';
import { parseIgnoreFile } from '@strata/matcher';
import { scanOptionsOf, scanThroughServer, ServerScanError } from './server-client.js';

test('--server pointing at nothing fails with an error naming the address', async () => {
  const server = `127.0.0.1:${await closedLoopbackPort()}`;
  await assert.rejects(scanThroughServer({ server, reference: 'alpine:3.20', format: 'table', filter: {}, timeoutMs: 10_000 }), (error: unknown) => {
    assert.ok(error instanceof ServerScanError, String(error));
    assert.equal(error.message, `cannot reach the Strata gateway at ${server}: connection refused (is the gateway running there?)`);
    return true;
  });
});

test('the CLI filters travel as scan options; expired ignore rules stay home', () => {
  const ignore = parseIgnoreFile('CVE-2024-0001\nCVE-2020-0002 exp:2021-01-01\nGHSA-aaaa-bbbb-cccc exp:2999-12-31\n').rules;
  const options = scanOptionsOf({ severities: ['HIGH', 'CRITICAL'], ignoreUnfixed: true, ignore }, new Date('2026-01-01T00:00:00Z'));
  assert.deepEqual(options, {
    ignoreUnfixed: true,
    severities: [Severity.HIGH, Severity.CRITICAL],
    ignoredVulnerabilityIds: ['CVE-2024-0001', 'GHSA-aaaa-bbbb-cccc'],
  });
  assert.deepEqual(scanOptionsOf({}), { ignoreUnfixed: false, severities: [], ignoredVulnerabilityIds: [] });
});
