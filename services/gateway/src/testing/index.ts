// Test support of the gateway's suites (never exported by the gateway's index.ts).
import { Client } from 'minio';
import type { BlobStore } from '@strata/blobstore';
import { infra } from '@strata/testing';

/** Empties and removes the bucket of a test store. */
export async function dropStore(store: BlobStore): Promise<void> {
  for await (const key of store.list('')) await store.delete(key);
  await store.close();
  const s3 = infra.s3()!;
  const bucket = store.location.slice(store.location.lastIndexOf('/') + 1);
  await new Client({ endPoint: s3.endPoint, port: s3.port, useSSL: s3.useSSL, accessKey: s3.accessKey, secretKey: s3.secretKey }).removeBucket(bucket);
}
