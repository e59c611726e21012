import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { tempDirs } from '@strata/testing';
import { runBlobStoreContract } from './testing/contract.js';
import { createFsBlobStore } from './fs.js';
import { BlobStoreDigestMismatchError } from './types.js';

const freshRoot = tempDirs('strata-blobstore');

runBlobStoreContract('filesystem', async () => createFsBlobStore({ root: await freshRoot() }));

const sha256 = (data: Uint8Array) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

test('filesystem: blobs are sharded by the first two hex digits; temp files never stay', async () => {
  const root = await freshRoot();
  const store = await createFsBlobStore({ root });
  const data = randomBytes(2048);
  const digest = sha256(data);
  await store.putBlob(digest, Readable.from([data]));
  const hex = digest.slice('sha256:'.length);
  assert.ok(existsSync(join(root, 'blobs', 'sha256', hex.slice(0, 2), hex)));
  await assert.rejects(store.putBlob(sha256(randomBytes(8)), Readable.from([data])), BlobStoreDigestMismatchError);
  assert.deepEqual(await readdir(join(root, '.tmp')), []);
});

test('filesystem: temp files left by a crashed writer are removed when the store opens', async () => {
  const root = await freshRoot();
  await createFsBlobStore({ root });
  const stale = join(root, '.tmp', 'crashed-writer');
  const fresh = join(root, '.tmp', 'writer-in-progress');
  await writeFile(stale, 'partial');
  await writeFile(fresh, 'partial');
  const old = new Date(Date.now() - 48 * 3600_000);
  await utimes(stale, old, old);
  await createFsBlobStore({ root });
  assert.deepEqual(await readdir(join(root, '.tmp')), ['writer-in-progress']);
});

test('filesystem: conditional writes from several processes lose no update', { timeout: 120_000 }, async () => {
  const root = await freshRoot();
  const key = 'counters/shared.json';
  // Each process runs read / compare-and-swap / retry loops on the same document.
  const script = `
    import { createFsBlobStore } from ${JSON.stringify(new URL('./fs.ts', import.meta.url).href)};
    const store = await createFsBlobStore({ root: ${JSON.stringify(root)} });
    for (let i = 0; i < 15; i++) {
      for (;;) {
        const current = await store.getObjectVersioned(${JSON.stringify(key)});
        const n = current ? JSON.parse(Buffer.from(current.body).toString()).n : 0;
        if (await store.putObjectIfMatch(${JSON.stringify(key)}, JSON.stringify({ n: n + 1 }), current?.version ?? null)) break;
      }
    }`;
  const runs = Array.from({ length: 3 }, () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    return once(child, 'exit').then(([code]) => assert.equal(code, 0, stderr));
  });
  await Promise.all(runs);
  const store = await createFsBlobStore({ root });
  assert.deepEqual(JSON.parse(Buffer.from((await store.getObject(key))!).toString()), { n: 45 });
  assert.deepEqual(await readdir(join(root, '.locks')), [], 'every lock was released');
});

test('filesystem: a document lock left by a process that died is broken; a live one is waited for', async () => {
  const root = await freshRoot();
  const store = await createFsBlobStore({ root, lockWaitMs: 300 });
  const key = 'scans/locked.json';
  const lockFile = join(root, '.locks', createHash('sha256').update(key).digest('hex'));
  const dead = spawn(process.execPath, ['-e', '']);
  await once(dead, 'exit');
  await writeFile(lockFile, `${dead.pid} crashed-writer`);
  assert.ok(await store.putObjectIfMatch(key, '{"v":1}', null), "the dead writer's lock does not block");

  await writeFile(lockFile, `${process.ppid} live-writer`);
  await assert.rejects(store.putObject(key, '{"v":2}'), /document lock .* still held by \d+ live-writer after 300 ms/);
  await rm(lockFile);
  await store.putObject(key, '{"v":2}');
  assert.equal(Buffer.from((await store.getObject(key))!).toString(), '{"v":2}');
});
