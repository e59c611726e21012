import { create, fromBinary, isMessage, toBinary } from '@bufbuild/protobuf';
import type { DescMessage, MessageInitShape, MessageShape } from '@bufbuild/protobuf';
import { describeError } from '@strata/errors';
import {
  AdvisoriesUpdatedSchema,
  FindingsPublishedSchema,
  ImageInventoryReadySchema,
  ImageResolvedSchema,
  LayerAnalyzedSchema,
  LayerFetchedSchema,
  LayerFetchRequestedSchema,
  ScanCompletedSchema,
  ScanFailedSchema,
  ScanRequestedSchema,
} from './gen/strata/v1/events_pb.js';

/** Versioned Kafka topic names. A breaking change to an event gets a new `.v2` topic. */
export const Topics = {
  scanRequested: 'strata.scan.requested.v1',
  imageResolved: 'strata.image.resolved.v1',
  layerFetchRequested: 'strata.layer.fetch.requested.v1',
  layerFetched: 'strata.layer.fetched.v1',
  layerAnalyzed: 'strata.layer.analyzed.v1',
  imageInventory: 'strata.image.inventory.v1',
  findings: 'strata.findings.v1',
  advisoriesUpdated: 'strata.advisories.updated.v1',
  scanFailed: 'strata.scan.failed.v1',
  scanCompleted: 'strata.scan.completed.v1',
} as const;

export type EventTopic = (typeof Topics)[keyof typeof Topics];

/** Schema, key field and key function of one topic. */
export interface TopicContract<S extends DescMessage = DescMessage> {
  readonly topic: string;
  readonly schema: S;
  /** Protobuf name of the field the partition key comes from (documentation, logs). */
  readonly keyField: string;
  readonly key: (event: MessageShape<S>) => string;
}

function contract<S extends DescMessage>(topic: string, schema: S, keyField: string, key: (event: MessageShape<S>) => string): TopicContract<S> {
  return { topic, schema, keyField, key };
}

// Keys decide ordering and which consumer instance sees an event. layer.fetched is keyed by
// diffID so that one layer shared by many images reaches one analyzer, in order, and is analyzed
// once; layer.analyzed is keyed by manifest digest (not diffID as first sketched) so that every
// layer of one image reaches the same merger instance, which can then own that image's state.
const eventContracts = {
  [Topics.scanRequested]: contract(Topics.scanRequested, ScanRequestedSchema, 'image_ref', (e) => e.imageRef),
  [Topics.imageResolved]: contract(Topics.imageResolved, ImageResolvedSchema, 'manifest_digest', (e) => e.manifestDigest),
  [Topics.layerFetchRequested]: contract(Topics.layerFetchRequested, LayerFetchRequestedSchema, 'diff_id', (e) => e.diffId),
  [Topics.layerFetched]: contract(Topics.layerFetched, LayerFetchedSchema, 'diff_id', (e) => e.diffId),
  [Topics.layerAnalyzed]: contract(Topics.layerAnalyzed, LayerAnalyzedSchema, 'manifest_digest', (e) => e.manifestDigest),
  [Topics.imageInventory]: contract(Topics.imageInventory, ImageInventoryReadySchema, 'manifest_digest', (e) => e.manifestDigest),
  [Topics.findings]: contract(Topics.findings, FindingsPublishedSchema, 'manifest_digest', (e) => e.manifestDigest),
  [Topics.advisoriesUpdated]: contract(Topics.advisoriesUpdated, AdvisoriesUpdatedSchema, 'db_version', (e) => e.dbVersion),
  [Topics.scanFailed]: contract(Topics.scanFailed, ScanFailedSchema, 'scan_id', (e) => e.scanId),
  [Topics.scanCompleted]: contract(Topics.scanCompleted, ScanCompletedSchema, 'scan_id', (e) => e.scanId),
} as const;

/** Schema carried by a topic. */
export type SchemaOf<T extends EventTopic> = (typeof eventContracts)[T]['schema'];
/** Message type carried by a topic, e.g. `EventOf<'strata.findings.v1'>` = FindingsPublished. */
export type EventOf<T extends EventTopic> = MessageShape<SchemaOf<T>>;
/** A full message or a plain init object of a topic's message. */
export type EventInit<T extends EventTopic> = MessageInitShape<SchemaOf<T>>;

/** The contract of a topic; throws for a topic that is not part of the contracts. */
export function topicContract<T extends EventTopic>(topic: T): TopicContract<SchemaOf<T>> {
  if (Object.hasOwn(eventContracts, topic)) {
    return eventContracts[topic as EventTopic] as unknown as TopicContract<SchemaOf<T>>;
  }
  throw new UnknownTopicError(topic);
}

/** Every event topic with its contract (dead-letter topics are the bus's: see `dlqTopic` in @strata/bus). */
export function eventTopicContracts(): TopicContract[] {
  return Object.values(eventContracts) as unknown as TopicContract[];
}

export class ContractError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class UnknownTopicError extends ContractError {
  constructor(readonly topic: string) {
    super(`unknown topic ${JSON.stringify(topic)}: not one of the @strata/contracts topics or strata.dlq.<group>.v1`);
  }
}

/**
 * Bytes that are not a valid message of the expected type: garbage, truncated, or an event
 * missing its key field. `source` is the topic name or the gRPC method path.
 */
export class ContractDecodeError extends ContractError {
  constructor(
    readonly source: string,
    readonly typeName: string,
    readonly byteLength: number,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`cannot decode ${typeName} from ${source} (${byteLength} bytes): ${detail}`, options);
  }
}

/** An event that cannot be published: its key field is empty. */
export class ContractEncodeError extends ContractError {
  constructor(
    readonly topic: string,
    readonly typeName: string,
    detail: string,
  ) {
    super(`cannot encode ${typeName} for topic ${topic}: ${detail}`);
  }
}

function toEvent<T extends EventTopic>(c: TopicContract<SchemaOf<T>>, event: EventInit<T>): EventOf<T> {
  return (isMessage(event, c.schema) ? event : create(c.schema, event)) as EventOf<T>;
}

/** Partition key of an event on its topic. */
export function eventKey<T extends EventTopic>(topic: T, event: EventInit<T>): string {
  const c = topicContract(topic);
  return c.key(toEvent(c, event));
}

/** Protobuf binary of an event. Throws ContractEncodeError when the key field is empty. */
export function encodeEvent<T extends EventTopic>(topic: T, event: EventInit<T>): Uint8Array {
  return encodeKeyedEvent(topic, event).value;
}

/** Key and protobuf binary of an event, ready for a bus publish. */
export function encodeKeyedEvent<T extends EventTopic>(topic: T, event: EventInit<T>): { topic: T; key: string; value: Uint8Array } {
  const c = topicContract(topic);
  const message = toEvent(c, event);
  const key = c.key(message);
  if (key === '') throw new ContractEncodeError(topic, c.schema.typeName, `key field ${c.keyField} is empty`);
  return { topic, key, value: toBinary(c.schema, message) };
}

/**
 * Decodes an event of a topic. Unknown fields are kept (newer producers). Throws
 * ContractDecodeError, naming the topic and type, for bytes that are not such an event.
 */
export function decodeEvent<T extends EventTopic>(topic: T, bytes: Uint8Array): EventOf<T> {
  const c = topicContract(topic);
  let message: EventOf<T>;
  try {
    message = fromBinary(c.schema, bytes) as EventOf<T>;
  } catch (error) {
    const detail = describeError(error);
    throw new ContractDecodeError(topic, c.schema.typeName, bytes.byteLength, detail, { cause: error });
  }
  if (c.key(message) === '') {
    throw new ContractDecodeError(topic, c.schema.typeName, bytes.byteLength, `key field ${c.keyField} is empty`);
  }
  return message;
}
