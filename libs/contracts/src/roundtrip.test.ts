import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create, equals, fromBinary, fromJsonString, isFieldSet, toBinary, toJsonString } from '@bufbuild/protobuf';
import { contractFiles, contractRegistry } from './index.js';
import { allMessages, sampleMessage, sampleVariants } from './testing/sample-message.js';

const messages = allMessages(contractFiles);

test('the descriptor walk finds the contract messages', () => {
  const names = new Set(messages.map((m) => m.typeName));
  // A spot check that the walk reaches all three files and nested types; every message found is
  // then round-tripped below, so new messages are covered without editing this test.
  for (const name of ['strata.v1.ScanRequested', 'strata.v1.AdvisoriesUpdated', 'strata.v1.ListAffectedImagesResponse', 'grpc.health.v1.HealthCheckResponse']) {
    assert.ok(names.has(name), `${name} not found by the descriptor walk`);
  }
});

for (const schema of messages) {
  test(`round trip ${schema.typeName}`, () => {
    for (let variant = 0; variant < sampleVariants(schema); variant++) {
      const message = sampleMessage(schema, variant);

      // Every non-oneof field is set to a non-default value, and exactly one member per oneof.
      for (const field of schema.fields) {
        if (field.oneof) continue;
        assert.ok(isFieldSet(message, field), `${schema.typeName}.${field.name} is not set by the sample`);
      }
      for (const oneof of schema.oneofs) {
        assert.equal(oneof.fields.filter((f) => isFieldSet(message, f)).length, 1, `${schema.typeName}.${oneof.name}`);
      }
      if (schema.fields.length > 0) assert.ok(!equals(schema, message, create(schema)), 'sample equals the empty message');

      const bytes = toBinary(schema, message);
      const decoded = fromBinary(schema, bytes);
      assert.ok(equals(schema, decoded, message), `binary round trip of ${schema.typeName} (variant ${variant})`);
      assert.deepEqual(toBinary(schema, decoded), bytes, 'binary re-encoding differs');

      const json = toJsonString(schema, message, { registry: contractRegistry });
      const fromJson = fromJsonString(schema, json, { registry: contractRegistry });
      assert.ok(equals(schema, fromJson, message), `JSON round trip of ${schema.typeName} (variant ${variant}): ${json}`);
    }
  });
}
