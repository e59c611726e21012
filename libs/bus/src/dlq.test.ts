// The dead-letter contract: one topic per consumer group, the original record with strata-dlq-*
// headers (what both adapters write is checked by the contract suite on real Kafka and in memory).
import assert from 'node:assert/strict';
import test from 'node:test';
import { deadLetterMessage } from './deliver.js';
import { DLQ_HEADERS, dlqTopic } from './types.js';

test("dlqTopic names the group's dead-letter topic and refuses names Kafka would not take", () => {
  assert.equal(dlqTopic('strata-analyzer'), 'strata.dlq.strata-analyzer.v1');
  assert.equal(dlqTopic('t-run.strata-gateway'), 'strata.dlq.t-run.strata-gateway.v1');
  for (const bad of ['', 'has space', 'a/b', '.lead', 'x'.repeat(240)]) {
    assert.throws(() => dlqTopic(bad), /invalid consumer group name/, JSON.stringify(bad));
  }
});

test('a dead-lettered message is the original record, untouched, with the strata-dlq-* headers added', () => {
  const original = {
    topic: 'strata.layer.fetched.v1',
    partition: 3,
    offset: '41',
    key: 'sha256:d',
    value: new Uint8Array([0, 1, 2, 255]),
    headers: { traceparent: 'abc' },
    timestamp: Date.now(),
  };
  const dead = deadLetterMessage(original, 'strata-analyzer', new Error('analyzer crashed'), 5);
  assert.equal(dead.key, original.key);
  assert.deepEqual(dead.value, original.value);
  assert.equal(dead.headers?.traceparent, 'abc');
  assert.equal(dead.headers?.[DLQ_HEADERS.topic], 'strata.layer.fetched.v1');
  assert.equal(dead.headers?.[DLQ_HEADERS.partition], '3');
  assert.equal(dead.headers?.[DLQ_HEADERS.offset], '41');
  assert.equal(dead.headers?.[DLQ_HEADERS.group], 'strata-analyzer');
  assert.match(String(dead.headers?.[DLQ_HEADERS.error]), /analyzer crashed/);
  assert.equal(dead.headers?.[DLQ_HEADERS.attempts], '5');
  assert.ok(!Number.isNaN(Date.parse(String(dead.headers?.[DLQ_HEADERS.failedAt]))));
});
