// MinIO restarted in the middle of a scan: the stages retry with backoff and the scan completes.
// (Runs last among the suites: it takes the shared MinIO away for a few seconds and restores it.)
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import test from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '@strata/testing';
import { createDeployment, fixtureImages, waitUntil } from './testing/harness.js';
import { skipUnlessPipelineInfra } from './testing/gate.js';

const run = promisify(execFile);
const skip = skipUnlessPipelineInfra();
const infraScript = (name: string) => join(repoRoot, 'infra/local', name);

test('a scan survives a MinIO restart and completes after retries', { skip, timeout: 300_000 }, async (t) => {
  const multi = fixtureImages().refs.find((r) => r.registry === 'anonymous' && r.repository === 'strata/debian-multi' && r.tag === 'gzip-oci')!;
  const d = await createDeployment('minio', { STRATA_MAX_ATTEMPTS: '40', STRATA_RETRY_MAX_MS: '2000' });
  let down = false;
  t.after(async () => {
    if (down) await run('bash', [infraScript('start.sh'), 'minio']);
    await d.teardown();
  });
  await d.startAll();
  const outside = await d.subscriber();

  const scanId = await d.submit(multi.ref);
  await waitUntil(
    () => d.events.find((e) => e.service === 'fetcher' && e.stage === 'resolve' && e.scanId === scanId && e.outcome === 'ok'),
    120_000,
    'the image to resolve',
  );
  assert.equal((await d.scanRecord(scanId))?.status, 'RUNNING', 'the scan is under way when MinIO goes');
  down = true;
  await run('bash', [infraScript('stop.sh'), 'minio']);
  await assert.rejects(run('bash', [infraScript('status.sh'), '-q', 'minio']), 'MinIO is down');
  await new Promise((r) => setTimeout(r, 3_000));
  await run('bash', [infraScript('start.sh'), 'minio']);
  down = false;

  const completed = await outside.waitFor(() => outside.completed.find((c) => c.scanId === scanId), 240_000, `completion of scan ${scanId}`);
  assert.deepEqual(outside.failed, []);
  assert.equal(completed.manifestDigest, multi.manifestDigest);
  assert.equal((await d.scanRecord(scanId))?.status, 'COMPLETED');
});
