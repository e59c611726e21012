import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, test } from 'node:test';
import { runBlobStoreContract } from './contract.support.js';
import { createFsBlobStore } from './fs.js';
import { DigestMismatchError } from './types.js';

const roots: string[] = [];
async function freshRoot(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'strata-blobstore-'));
  roots.push(root);
  return root;
}
after(async () => {
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

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
  await assert.rejects(store.putBlob(sha256(randomBytes(8)), Readable.from([data])), DigestMismatchError);
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
