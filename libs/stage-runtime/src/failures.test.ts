// What each kind of stage error means for the scan: its failure code, and whether to retry.
import assert from 'node:assert/strict';
import test from 'node:test';
import { BlobStoreUnavailableError, BlobStoreDigestMismatchError } from '@strata/blobstore';
import { LayerError } from '@strata/layers';
import { AuthError, BlobDigestMismatchError, InvalidReferenceError, ManifestError, NotFoundError, PlatformError, RegistryError } from '@strata/oci';
import { classifyError, StageError } from './failures.js';

test('bad input fails at once with its code; an unreachable registry or store is retried', () => {
  const registry = { registry: '127.0.0.1:15000' };
  const cases: Array<[unknown, string, boolean]> = [
    [new InvalidReferenceError('bad ref'), 'INVALID_REFERENCE', false],
    [new NotFoundError('no tag', { ...registry, status: 404 }), 'IMAGE_NOT_FOUND', false],
    [new AuthError('401', { ...registry, status: 401 }), 'UNAUTHORIZED', false],
    [new PlatformError('no arm64'), 'PLATFORM_NOT_FOUND', false],
    [new BlobDigestMismatchError({ kind: 'layer', expected: 'sha256:a', actual: 'sha256:b' }), 'DIGEST_MISMATCH', false],
    [new Error('put failed', { cause: new BlobStoreDigestMismatchError('sha256:a', 'sha256:b') }), 'DIGEST_MISMATCH', false],
    [new ManifestError('unknown media type'), 'UNSUPPORTED_MEDIA_TYPE', false],
    [new LayerError('LIMIT_EXCEEDED', 'too many files'), 'LIMIT_EXCEEDED', false],
    [new LayerError('CORRUPT', 'bad gzip'), 'INTERNAL', false],
    [new StageError('UNAUTHORIZED', 'no such credentials entry'), 'UNAUTHORIZED', false],
    [new RegistryError('503', { ...registry, status: 503 }), 'UNAVAILABLE', true],
    [new RegistryError('connect ECONNREFUSED', { ...registry }), 'UNAVAILABLE', true],
    [new BlobStoreUnavailableError('s3://127.0.0.1:19000/b', 'put', new Error('ECONNREFUSED')), 'UNAVAILABLE', true],
    [new LayerError('TRUNCATED', 'stream ended', { cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) }), 'UNAVAILABLE', true],
  ];
  for (const [error, code, transient] of cases) {
    assert.deepEqual(classifyError(error), { code, transient }, (error as Error).message);
  }
});
