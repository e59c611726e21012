import assert from 'node:assert/strict';
import { connect } from 'node:net';
import test from 'node:test';
import { describeError, toError } from './index.js';

test('a plain Error is its message; anything else is String(value)', () => {
  assert.equal(describeError(new Error('disk full')), 'disk full');
  assert.equal(describeError('boom'), 'boom');
  assert.equal(describeError(42), '42');
  assert.equal(describeError(undefined), 'undefined');
  assert.equal(describeError(null), 'null');
});

test('a cause is appended once, and not when the message already quotes it', () => {
  const root = new Error('connection reset');
  assert.equal(describeError(new Error('fetch layer failed', { cause: root })), 'fetch layer failed (connection reset)');
  assert.equal(describeError(new Error('fetch layer failed: connection reset', { cause: root })), 'fetch layer failed: connection reset');
  const chain = new Error('scan failed', { cause: new Error('fetch failed', { cause: root }) });
  assert.equal(describeError(chain), 'scan failed (fetch failed) (connection reset)');
});

test('a cause chain that loops or runs deep is cut off', () => {
  const a = new Error('a');
  const b = new Error('b', { cause: a });
  (a as { cause?: unknown }).cause = b;
  assert.equal(describeError(b), 'b (a)');
  let deep = new Error('c0');
  for (let i = 1; i < 10; i++) deep = new Error(`c${i}`, { cause: deep });
  assert.equal(describeError(deep), 'c9 (c8) (c7) (c6)');
});

test('a real refused connection names its system error code', async () => {
  // Port 1 on loopback is closed on any machine that runs these tests; the socket error is Node's own.
  const error = await new Promise<unknown>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: 1 });
    socket.on('error', resolve);
    socket.on('connect', () => resolve(new Error('port 1 unexpectedly open')));
  });
  assert.match(describeError(error), /ECONNREFUSED/);
});

test('an error with only a code, or only a class name, still says something', () => {
  const coded = Object.assign(new Error(''), { code: 'ETIMEDOUT' });
  assert.equal(describeError(coded), 'ETIMEDOUT');
  const withText = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
  assert.equal(describeError(withText), 'socket hang up (ECONNRESET)');
  class QuietError extends Error {
    override name = 'QuietError';
  }
  assert.equal(describeError(new QuietError()), 'QuietError');
  assert.equal(describeError(new AggregateError([Object.assign(new Error(''), { code: 'ECONNREFUSED' })], '')), 'ECONNREFUSED');
});

test('toError keeps an Error and wraps anything else', () => {
  const e = new TypeError('bad');
  assert.equal(toError(e), e);
  const wrapped = toError('plain text');
  assert.ok(wrapped instanceof Error);
  assert.equal(wrapped.message, 'plain text');
  assert.equal(toError({ toString: () => 'object text' }).message, 'object text');
});
