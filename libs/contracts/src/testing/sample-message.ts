// Test support (not exported): builds a message of any schema with every field set to a
// non-default value, driven only by the descriptor, so a newly added field or message is covered
// by the round-trip tests without editing them.
import { create, ScalarType } from '@bufbuild/protobuf';
import type { DescEnum, DescField, DescMessage, MessageInitShape, MessageShape } from '@bufbuild/protobuf';

const maxDepth = 4;

function scalarSample(type: ScalarType, salt: number): unknown {
  switch (type) {
    case ScalarType.STRING:
      return `s${salt}-é✓`;
    case ScalarType.BYTES:
      return new Uint8Array([salt & 0xff, 0, 255, 128]);
    case ScalarType.BOOL:
      return true;
    case ScalarType.DOUBLE:
      return 2.25 + salt;
    case ScalarType.FLOAT:
      return 1.5; // exactly representable in float32
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return -(salt + 7);
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return 3_000_000_000 + salt; // above 2^31: proves unsigned handling
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return -(9_007_199_254_740_993n + BigInt(salt)); // beyond 2^53: proves no number rounding
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return 18_000_000_000_000_000_000n + BigInt(salt);
  }
}

function enumSample(desc: DescEnum, salt: number): number {
  const nonZero = desc.values.filter((v) => v.number !== 0);
  const value = nonZero[salt % Math.max(nonZero.length, 1)];
  if (!value) throw new Error(`enum ${desc.typeName} has no non-zero value`);
  return value.number;
}

function wellKnownSample(desc: DescMessage, salt: number): Record<string, unknown> | undefined {
  switch (desc.typeName) {
    case 'google.protobuf.Timestamp':
      return { seconds: 1_700_000_000n + BigInt(salt), nanos: 123_000_000 };
    case 'google.protobuf.Duration':
      return { seconds: 90n + BigInt(salt), nanos: 500_000_000 };
    default:
      return undefined;
  }
}

function singleValue(field: DescField, salt: number, depth: number): unknown {
  switch (field.fieldKind) {
    case 'scalar':
      return scalarSample(field.scalar, salt);
    case 'enum':
      return enumSample(field.enum, salt);
    case 'message':
      return sampleInit(field.message, 0, depth + 1);
    case 'list':
      return [0, 1].map((i) => {
        if (field.listKind === 'scalar') return scalarSample(field.scalar, salt + i);
        if (field.listKind === 'enum') return enumSample(field.enum, salt + i);
        return sampleInit(field.message, 0, depth + 1);
      });
    case 'map': {
      const entries: Record<string, unknown> = {};
      for (const i of [0, 1]) {
        const key = field.mapKey === ScalarType.BOOL ? String(i === 0) : String(scalarSample(field.mapKey, salt + i));
        if (field.mapKind === 'scalar') entries[key] = scalarSample(field.scalar, salt + i);
        else if (field.mapKind === 'enum') entries[key] = enumSample(field.enum, salt + i);
        else entries[key] = sampleInit(field.message, 0, depth + 1);
      }
      return entries;
    }
  }
}

function sampleInit(desc: DescMessage, variant: number, depth: number): Record<string, unknown> {
  const wkt = wellKnownSample(desc, variant);
  if (wkt) return wkt;
  const init: Record<string, unknown> = {};
  if (depth > maxDepth) return init;
  desc.fields.forEach((field, index) => {
    if (field.oneof) return;
    init[field.localName] = singleValue(field, index, depth);
  });
  for (const oneof of desc.oneofs) {
    const member = oneof.fields[variant % oneof.fields.length];
    if (member) init[oneof.localName] = { case: member.localName, value: singleValue(member, variant, depth) };
  }
  return init;
}

/** Number of variants needed so that every oneof member is set in at least one of them. */
export function sampleVariants(desc: DescMessage): number {
  return Math.max(1, ...desc.oneofs.map((o) => o.fields.length));
}

/** A message with every field set (for oneofs: member `variant % members`). */
export function sampleMessage<S extends DescMessage>(schema: S, variant = 0): MessageShape<S> {
  return create(schema, sampleInit(schema, variant, 0) as MessageInitShape<S>);
}

/** Every message type declared in the given files, nested ones included. */
export function allMessages(files: readonly { messages: DescMessage[] }[]): DescMessage[] {
  const out: DescMessage[] = [];
  const walk = (messages: DescMessage[]) => {
    for (const message of messages) {
      out.push(message);
      walk(message.nestedMessages);
    }
  };
  for (const file of files) walk(file.messages);
  return out;
}
