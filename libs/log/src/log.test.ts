import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import test from 'node:test';
import { createLogger, forScan, redactUrl } from './index.js';

function capture() {
  const out = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  out.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
  });
  return { out, lines };
}

test('logs are JSON with the service name and the scan id of a child logger', async () => {
  const { out, lines } = capture();
  const logger = forScan(createLogger({ service: 'fetcher', destination: out }), 'scan-1', 'trace-9');
  logger.info({ layer: 'sha256:ab' }, 'fetched');
  await new Promise((r) => setImmediate(r));
  assert.equal(lines[0]?.service, 'fetcher');
  assert.equal(lines[0]?.scanId, 'scan-1');
  assert.equal(lines[0]?.traceId, 'trace-9');
  assert.equal(lines[0]?.msg, 'fetched');
});

test('secrets are redacted at any of the known depths', async () => {
  const { out, lines } = capture();
  const logger = createLogger({ service: 't', destination: out });
  logger.info({ password: 'hunter2', registry: { token: 'tok-123', host: 'r' }, req: { headers: { authorization: 'Bearer x' } } }, 'x');
  await new Promise((r) => setImmediate(r));
  const text = JSON.stringify(lines[0]);
  assert.doesNotMatch(text, /hunter2|tok-123|Bearer x/);
  assert.match(text, /\[redacted\]/);
});

test('redactUrl strips userinfo', () => {
  assert.equal(redactUrl('https://user:pw@example.test/x'), 'https://[redacted]@example.test/x');
});
