import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { Client } from 'minio';
import { closedLoopbackPort, infra, skipUnless, uniqueName } from '@strata/testing';
import { deterministicStream, digestOf, runBlobStoreContract } from './testing/contract.js';
import { createS3BlobStore, type S3BlobStoreOptions } from './s3.js';
import { BlobStoreUnavailableError, BlobStoreDigestMismatchError } from './types.js';

const s3 = infra.s3();
const skipMinio = skipUnless('minio');
const bucket = uniqueName('strata-test').toLowerCase();
const options = (): S3BlobStoreOptions => ({ ...s3!, bucket });

runBlobStoreContract('s3 (MinIO)', () => createS3BlobStore(options()), { skip: skipMinio });

after(async () => {
  if (!s3) return;
  // The bucket is this run's own: empty it and remove it.
  const client = new Client(s3);
  if (!(await client.bucketExists(bucket))) return;
  const names: string[] = [];
  for await (const item of client.listObjectsV2(bucket, '', true) as AsyncIterable<{ name?: string }>) if (item.name) names.push(item.name);
  if (names.length) await client.removeObjects(bucket, names);
  await client.removeBucket(bucket);
});

const sha256 = (data: Uint8Array) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

test('s3: the bucket is created when missing', { skip: skipMinio }, async () => {
  const own = uniqueName('strata-test-mk').toLowerCase();
  const client = new Client(s3!);
  assert.equal(await client.bucketExists(own), false);
  const store = await createS3BlobStore({ ...s3!, bucket: own });
  try {
    assert.equal(await client.bucketExists(own), true);
    await createS3BlobStore({ ...s3!, bucket: own }); // and an existing bucket is fine
  } finally {
    await store.close();
    await client.removeBucket(own);
  }
});

test('s3: a rejected multi-part put leaves no incomplete upload behind', { skip: skipMinio }, async () => {
  const store = await createS3BlobStore({ ...options(), partSizeBytes: 5 * 1024 * 1024 });
  try {
    const claimed = sha256(randomBytes(8));
    await assert.rejects(store.putBlob(claimed, deterministicStream(23 * 1024 * 1024, 42)), BlobStoreDigestMismatchError);
    const client = new Client(s3!);
    const incomplete: unknown[] = [];
    for await (const upload of client.listIncompleteUploads(bucket, 'blobs/', true) as AsyncIterable<unknown>) incomplete.push(upload);
    assert.deepEqual(incomplete, []);
    const data = await digestOf(deterministicStream(23 * 1024 * 1024, 42));
    assert.equal(await store.exists(data.digest), false);
  } finally {
    await store.close();
  }
});

test('s3: an endpoint that is down gives an error naming endpoint and bucket after bounded retries', { timeout: 60_000 }, async () => {
  const port = await closedLoopbackPort();
  await assert.rejects(
    createS3BlobStore({ endPoint: '127.0.0.1', port, accessKey: 'strata', secretKey: 'strata-secret-key', bucket: 'layers', retries: 2, retryDelayMs: 50 }),
    (error: unknown) => {
      assert.ok(error instanceof BlobStoreUnavailableError, `got ${String(error)}`);
      assert.match(
        error.message,
        new RegExp(`http://127\\.0\\.0\\.1:${port} \\(bucket layers\\) unreachable while trying to check the bucket after 3 attempts`),
      );
      assert.match(error.message, /ECONNREFUSED/);
      return true;
    },
  );
});

test('s3: an endpoint that accepts connections but never answers times out instead of hanging', { timeout: 60_000 }, async () => {
  const sockets: Socket[] = [];
  const server = createServer((s) => void sockets.push(s));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  try {
    await assert.rejects(
      createS3BlobStore({ endPoint: '127.0.0.1', port, accessKey: 'a', secretKey: 'b', bucket: 'layers', retries: 1, retryDelayMs: 50, requestTimeoutMs: 500 }),
      (error: unknown) => {
        assert.ok(error instanceof BlobStoreUnavailableError, `got ${String(error)}`);
        assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port} \\(bucket layers\\)`));
        assert.match(error.message, /no progress for 500 ms/);
        return true;
      },
    );
  } finally {
    for (const s of sockets) s.destroy();
    server.close();
  }
});
