// The advisory limits are set from the environment: `strata db update` against a mirror that
// stalls gives up after STRATA_DB_DOWNLOAD_IDLE_TIMEOUT_MS with one clear line, and a malformed
// limit is refused by name.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { repoRoot } from '@strata/testing';

const work = mkdtempSync(join(tmpdir(), 'strata-cli-limits-'));
const stalled = new Set<ServerResponse>();
after(() => rmSync(work, { recursive: true, force: true }));

/** The CLI in a child process, asynchronously, so this process's test server keeps answering. */
function strata(args: string[], env: Record<string, string>): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), join(repoRoot, 'apps/cli/src/main.ts'), ...args], {
      cwd: work,
      env: { ...process.env, STRATA_DB: '', STRATA_SERVER: '', STRATA_DEBUG: '', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

test('db update: a stalled mirror is abandoned after STRATA_DB_DOWNLOAD_IDLE_TIMEOUT_MS; a malformed limit is named', async () => {
  // Sends the headers and one byte, then nothing.
  const server = createServer((_req, res) => {
    stalled.add(res);
    res.writeHead(200, { 'content-length': '1000' });
    res.write('P');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const db = join(work, 'db');
    const run = await strata(['db', 'update', '--db', db, '--cache-dir', join(work, 'cache'), '--ecosystem', 'npm', '--base-url', baseUrl], {
      STRATA_DB_DOWNLOAD_IDLE_TIMEOUT_MS: '500',
    });
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr, /npm: FAILED: updating npm from .*: no data from the server for 500 ms \(downloadIdleTimeoutMs\)/);
    assert.ok(!/\n\s+at /.test(run.stderr), 'no stack trace');

    const bad = await strata(['db', 'update', '--db', db, '--cache-dir', join(work, 'cache'), '--ecosystem', 'npm', '--base-url', baseUrl], {
      STRATA_DB_MAX_REDIRECTS: 'many',
    });
    assert.equal(bad.status, 1);
    assert.equal(bad.stderr.trim(), 'strata: STRATA_DB_MAX_REDIRECTS must be a non-negative integer, got "many"');
  } finally {
    for (const res of stalled) res.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
