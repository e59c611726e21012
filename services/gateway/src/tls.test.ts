// TLS with a certificate made by openssl, on the in-process bus and a filesystem store (the
// gateway needs nothing of Kafka or MinIO to serve TLS; those paths are covered in gateway.test.ts).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { createFsBlobStore } from '@strata/blobstore';
import { createInProcessBus } from '@strata/bus';
import { Health, HealthCheckResponse_ServingStatus as ServingStatus, ScanService, ScanStatus, connect, isServiceError } from '@strata/contracts';
import { createLogger } from '@strata/log';
import { skipUnless } from '@strata/testing';
import { startGateway } from './gateway.js';

test('TLS: a client trusting the certificate is served; a plaintext client is not', { skip: skipUnless('tool:openssl') }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-gateway-tls-'));
  const bus = createInProcessBus();
  const store = await createFsBlobStore({ root: join(dir, 'store') });
  const logger = createLogger({ service: 'gateway-tls-test', level: 'warn' });
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=strata-gateway-test',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout',
        join(dir, 'tls.key'),
        '-out',
        join(dir, 'tls.crt'),
      ],
      { stdio: 'ignore' },
    );
    const cert = readFileSync(join(dir, 'tls.crt'));
    const gateway = await startGateway({ bus, store, logger, host: '127.0.0.1', port: 0, tls: { cert, key: readFileSync(join(dir, 'tls.key')) } });
    const secure = connect(ScanService, `localhost:${gateway.port}`, { credentials: grpc.credentials.createSsl(cert) });
    const secureHealth = connect(Health, `localhost:${gateway.port}`, { credentials: grpc.credentials.createSsl(cert) });
    const plain = connect(Health, gateway.address);
    try {
      assert.equal((await secureHealth.client.check({ service: '' })).status, ServingStatus.SERVING);
      const submitted = await secure.client.scanImage({ imageRef: '127.0.0.1:15000/strata/small:latest' });
      assert.equal(submitted.status, ScanStatus.QUEUED);
      const report = await secure.client.getReport({ selector: { case: 'scanId', value: submitted.scanId } });
      assert.equal(report.status, ScanStatus.QUEUED);
      await assert.rejects(plain.client.check({ service: '' }, { timeoutMs: 3000 }), (error: unknown) => {
        assert.ok(isServiceError(error));
        assert.ok([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED].includes(error.code), grpc.status[error.code]);
        return true;
      });
    } finally {
      secure.close();
      secureHealth.close();
      plain.close();
      await gateway.close(1000);
    }
  } finally {
    await bus.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
