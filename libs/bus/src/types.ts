// The EventBus port. Payload-agnostic: values are opaque bytes (protobuf elsewhere).
import { describeError } from '@strata/errors';

/** A message as published: the topic comes from `publish(topic, ...)`. */
export interface OutgoingMessage {
  /** Messages with the same key go to the same partition, so their order is kept. */
  key: string;
  value: Uint8Array;
  headers?: Record<string, string>;
}

export interface BusMessage extends OutgoingMessage {
  topic: string;
}

/** A message as delivered to a handler. */
export interface DeliveredMessage {
  topic: string;
  partition: number;
  /** Kafka offsets are int64, so they travel as decimal strings. */
  offset: string;
  key: string;
  value: Uint8Array;
  headers: Record<string, string>;
  /** Milliseconds since the epoch, as recorded by the bus. */
  timestamp: number;
  /** 1 for the first try of this delivery, 2 for the first retry, ... */
  attempt: number;
}

export type MessageHandler = (message: DeliveredMessage) => Promise<void> | void;

export interface RetryBackoff {
  /** Delay before the first retry, in ms. */
  initialMs: number;
  /** Upper bound of the delay, in ms (the delay doubles per retry, with jitter). */
  maxMs: number;
}

export interface SubscribeOptions {
  /** Consumer group: members of one group share the partitions; each message is handled by one member. */
  group: string;
  topics: readonly string[];
  handler: MessageHandler;
  /** Where a group with no committed offset starts: the oldest message (true) or new messages only (default). */
  fromBeginning?: boolean;
  /** Tries per message before it goes to the dead-letter topic. Default 5. */
  maxAttempts?: number;
  /** Default { initialMs: 200, maxMs: 10_000 }. */
  retryBackoff?: RetryBackoff;
  /** How many partitions this member handles at once (each partition is always one message at a time). Default 4. */
  partitionConcurrency?: number;
  /**
   * Dead-letter topic of this subscription. Default `dlqTopic(group)`. A member whose group is
   * unique to its process (e.g. a gateway's event fan-out) names a stable one here, so restarts
   * do not leave one topic behind each.
   */
  deadLetterTopic?: string;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface Subscription {
  readonly group: string;
  /** Partitions currently assigned to this member. */
  assignment(): TopicPartition[];
  /**
   * Graceful stop: no new message starts, the in-flight ones finish and are committed (a message
   * whose handler fails during shutdown is left uncommitted, for another member), then the member
   * leaves the group.
   */
  stop(): Promise<void>;
  /**
   * Releases in-flight work without committing it and leaves the group at once: to the rest of the
   * group this looks like a crash, so the uncommitted messages are delivered again to another member.
   */
  abort(): Promise<void>;
}

export interface EventBus {
  /** Creates the topics that do not exist yet, with `partitions` partitions each. Existing topics are left alone. */
  ensureTopics(topics: readonly string[], partitions: number): Promise<void>;
  publish(topic: string, messages: readonly OutgoingMessage[]): Promise<void>;
  /** Resolves once this member has joined its group and received its first assignment. */
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /** Stops every subscription (gracefully) and releases connections. */
  close(): Promise<void>;
}

const groupPattern = /^[A-Za-z0-9][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*$/;

/**
 * The dead-letter topic of a consumer group, `strata.dlq.<group>.v1` (the one place that name is
 * made). A dead-lettered message is the original record, key and value untouched, with the
 * `DLQ_HEADERS` added — no envelope.
 */
export function dlqTopic(group: string): string {
  // Kafka topic names allow [a-zA-Z0-9._-], at most 249 characters.
  if (!groupPattern.test(group) || group.length > 249 - 'strata.dlq..v1'.length) {
    throw new Error(`invalid consumer group name for a dead-letter topic: ${JSON.stringify(group)}`);
  }
  return `strata.dlq.${group}.v1`;
}

/** Headers added to a dead-lettered message (its own headers are kept too). */
export const DLQ_HEADERS = {
  topic: 'strata-dlq-original-topic',
  partition: 'strata-dlq-original-partition',
  offset: 'strata-dlq-original-offset',
  group: 'strata-dlq-group',
  error: 'strata-dlq-error',
  attempts: 'strata-dlq-attempts',
  failedAt: 'strata-dlq-failed-at',
} as const;

/** Thrown by a handler for a message that can never succeed (e.g. it fails to decode): dead-lettered without retries. */
export class NonRetriableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NonRetriableError';
  }
}

/** The broker cannot be reached (after bounded retries). */
export class BusUnavailableError extends Error {
  readonly brokers: readonly string[];
  constructor(brokers: readonly string[], action: string, cause: unknown) {
    super(`Kafka broker(s) ${brokers.join(',')} unreachable while trying to ${action}: ${describeError(cause)}`, { cause });
    this.name = 'BusUnavailableError';
    this.brokers = brokers;
  }
}

export class BusClosedError extends Error {
  constructor(action: string) {
    super(`event bus is closed: cannot ${action}`);
    this.name = 'BusClosedError';
  }
}
