import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create, equals, toBinary } from '@bufbuild/protobuf';
import {
  ContractDecodeError,
  ContractEncodeError,
  FindingsKind,
  FindingsPublishedSchema,
  ScanRequestedSchema,
  Severity,
  Topics,
  UnknownTopicError,
  decodeEvent,
  encodeEvent,
  encodeKeyedEvent,
  eventKey,
  eventTopicContracts,
} from './index.js';
import type { EventInit, EventTopic } from './index.js';
import { sampleMessage } from './testing/sample-message.js';

test('topic names are versioned and unique', () => {
  const names = Object.values(Topics);
  assert.equal(new Set(names).size, names.length);
  for (const name of names) assert.match(name, /^strata\.[a-z.]+\.v1$/);
  assert.deepEqual(
    eventTopicContracts()
      .map((c) => c.topic)
      .sort(),
    [...names].sort(),
  );
});

test('every event topic encodes, keys and decodes its message type', () => {
  for (const c of eventTopicContracts()) {
    const topic = c.topic as EventTopic;
    const event = sampleMessage(c.schema);
    const { key, value } = encodeKeyedEvent(topic, event as EventInit<EventTopic>);
    assert.equal(key, c.key(event));
    assert.notEqual(key, '');
    // The key is the value of the named field.
    const keyField = c.schema.fields.find((f) => f.name === c.keyField);
    assert.ok(keyField, `${topic}: key field ${c.keyField} is not a field of ${c.schema.typeName}`);
    assert.equal(key, (event as unknown as Record<string, unknown>)[keyField.localName]);
    const decoded = decodeEvent(topic, value);
    assert.ok(equals(c.schema, decoded, event), `${topic} round trip`);
  }
});

test('keys follow the partitioning rules', () => {
  const fetched = { scanId: 's1', imageRef: 'r/a:1', manifestDigest: 'sha256:m', diffId: 'sha256:d' };
  assert.equal(eventKey(Topics.layerFetched, fetched), 'sha256:d');
  assert.equal(eventKey(Topics.layerAnalyzed, fetched), 'sha256:m');
  assert.equal(eventKey(Topics.scanRequested, { scanId: 's1', imageRef: 'r/a:1' }), 'r/a:1');
  assert.equal(eventKey(Topics.findings, { manifestDigest: 'sha256:m' }), 'sha256:m');
  assert.equal(eventKey(Topics.imageInventory, { manifestDigest: 'sha256:m' }), 'sha256:m');
  assert.equal(eventKey(Topics.imageResolved, { manifestDigest: 'sha256:m' }), 'sha256:m');
  assert.equal(eventKey(Topics.advisoriesUpdated, { dbVersion: '2025-01-01' }), '2025-01-01');
  assert.equal(eventKey(Topics.scanFailed, { scanId: 's1' }), 's1');
  assert.equal(eventKey(Topics.scanCompleted, { scanId: 's1' }), 's1');
  assert.equal(eventKey(Topics.layerFetchRequested, fetched), 'sha256:d');
});

test('encodeEvent accepts plain init objects and typed messages alike', () => {
  const init = {
    scanId: 'scan-1',
    imageRef: 'registry.local/app:1',
    manifestDigest: 'sha256:abc',
    advisoryDbVersion: 'osv-2025-06-01',
    kind: FindingsKind.DELTA,
    counts: { critical: 1, high: 2 },
    added: [{ vulnerabilityId: 'CVE-2024-0001', packageName: 'openssl', severity: Severity.CRITICAL }],
  };
  const fromInit = encodeEvent(Topics.findings, init);
  const fromMessage = encodeEvent(Topics.findings, create(FindingsPublishedSchema, init));
  assert.deepEqual(fromInit, fromMessage);
  const decoded = decodeEvent(Topics.findings, fromInit);
  assert.equal(decoded.kind, FindingsKind.DELTA);
  assert.equal(decoded.added[0]?.vulnerabilityId, 'CVE-2024-0001');
  assert.equal(decoded.counts?.high, 2);
});

test('encodeEvent refuses an event without its key', () => {
  assert.throws(
    () => encodeEvent(Topics.layerFetched, { scanId: 's1' }),
    (error: unknown) => {
      assert.ok(error instanceof ContractEncodeError);
      assert.match(error.message, /strata\.v1\.LayerFetched.*strata\.layer\.fetched\.v1.*diff_id/);
      return true;
    },
  );
});

test('garbage bytes give a ContractDecodeError naming the topic and type', () => {
  const valid = toBinary(ScanRequestedSchema, sampleMessage(ScanRequestedSchema));
  const garbage: [string, Uint8Array][] = [
    ['wire type 7', new Uint8Array([0x0f, 0x01, 0x02])],
    ['an overlong varint', new Uint8Array(Array.from({ length: 12 }, () => 0xff))],
    ['a truncated message', valid.subarray(0, valid.length - 3)],
    ['JSON text instead of protobuf', new TextEncoder().encode('{"scanId":"x","imageRef":"y"}')],
    ['an empty payload (no key field)', new Uint8Array()],
  ];
  for (const [label, bytes] of garbage) {
    assert.throws(
      () => decodeEvent(Topics.scanRequested, bytes),
      (error: unknown) => {
        assert.ok(error instanceof ContractDecodeError, `${label}: ${String(error)}`);
        assert.equal(error.source, Topics.scanRequested);
        assert.equal(error.typeName, 'strata.v1.ScanRequested');
        assert.equal(error.byteLength, bytes.byteLength);
        assert.match(error.message, /strata\.v1\.ScanRequested.*strata\.scan\.requested\.v1/);
        return true;
      },
      label,
    );
  }
});

test('unknown topics are rejected by name', () => {
  assert.throws(
    () => decodeEvent('strata.nope.v1' as EventTopic, new Uint8Array()),
    (error: unknown) => {
      assert.ok(error instanceof UnknownTopicError);
      assert.match(error.message, /strata\.nope\.v1/);
      return true;
    },
  );
});
