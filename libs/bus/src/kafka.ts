// Kafka EventBus on kafkajs: manual commits after the handler, bounded retries then the group's
// dead-letter topic, key-hashed partitioning (Java-compatible murmur2), bounded client retries so
// an unreachable broker fails with an error naming it instead of hanging.
import kafkajs from 'kafkajs';
import type { Admin, Consumer, EachMessagePayload, IHeaders, Producer, logCreator } from 'kafkajs';
import { describeError } from '@strata/errors';
import { deliver, resolvePolicy } from './deliver.js';
import { defaultBusLogger, type BusLogger } from './logger.js';
import {
  BusClosedError,
  BusUnavailableError,
  type DeliveredMessage,
  type EventBus,
  type OutgoingMessage,
  type SubscribeOptions,
  type Subscription,
  type TopicPartition,
} from './types.js';

// kafkajs is CommonJS: Node's ESM loader does not see all of its named exports.
const { ConfigResourceTypes, Kafka, Partitioners, logLevel } = kafkajs;

export interface KafkaBusOptions {
  brokers: readonly string[];
  clientId?: string;
  logger?: BusLogger;
  /** TCP connect timeout per attempt. Default 3000 ms. */
  connectionTimeoutMs?: number;
  /** Timeout of one request to a broker. Default 30000 ms. */
  requestTimeoutMs?: number;
  /** Client-level retries of connections and requests before giving up. Default 5. */
  retries?: number;
  /** Initial delay between client retries (it grows). Default 300 ms. */
  initialRetryTimeMs?: number;
  /**
   * Consumer group session: a member silent this long is considered dead and its partitions go to
   * the others. Default 6000 ms, the lowest a broker allows by default (group.min.session.timeout.ms).
   */
  sessionTimeoutMs?: number;
  /** Default 1000 ms: members learn of a rebalance within a second; must be well below the session timeout. */
  heartbeatIntervalMs?: number;
  /**
   * How long the group waits for members to rejoin during a rebalance; a member busy with a longer
   * message is dropped from the round (its uncommitted message goes to another member). Default 15000 ms.
   */
  rebalanceTimeoutMs?: number;
  /** Partitions for topics first used without ensureTopics (e.g. dead-letter topics). Default 1. */
  defaultPartitions?: number;
  /** Replication factor of topics we create. Default: the broker's default. */
  replicationFactor?: number;
  /**
   * Idempotent producer (no duplicates from producer retries). Default false: kafkajs then insists on
   * effectively unbounded retries (a down broker would block publish), and our consumers are
   * idempotent anyway. Per-key order holds either way because publish waits for the acks.
   */
  idempotent?: boolean;
  /** Longest wait for a subscription to join its group. Default rebalanceTimeout + sessionTimeout. */
  joinTimeoutMs?: number;
  /**
   * Topic-level settings (e.g. retention.ms) of topics this bus ensures: applied when it creates
   * one, and altered when an existing topic has other values.
   */
  topicConfig?: (topic: string) => Record<string, string> | undefined;
}

// kafkajs logs some routine events as warnings or errors: a group rebalancing when a member joins
// or leaves, and the warning it prints for any bounded retry setting of an idempotent producer.
const KAFKA_LOG_DOWNGRADE = [/Limiting retries for the idempotent producer/, /group is rebalancing/i];

/** Routes kafkajs logs into pino (kafkajs only emits what its own level lets through: warn and error). */
export function kafkaLogCreator(logger: BusLogger, onError?: (message: string) => void): logCreator {
  return () => {
    return ({ namespace, level, log }) => {
      const { message, timestamp: _ts, logger: _name, ...extra } = log as { message: string; timestamp: string; logger?: string; error?: unknown };
      const fields = { kafkajs: namespace, ...extra };
      const errorText = typeof extra.error === 'string' ? extra.error : '';
      if (KAFKA_LOG_DOWNGRADE.some((re) => re.test(message) || re.test(errorText))) return logger.debug(fields, message);
      if (level === logLevel.ERROR) {
        onError?.(message);
        logger.error(fields, message);
      } else if (level === logLevel.WARN) logger.warn(fields, message);
      else if (level === logLevel.INFO) logger.info(fields, message);
      else logger.debug(fields, message);
    };
  };
}

const toBuffer = (value: Uint8Array) => Buffer.from(value.buffer, value.byteOffset, value.byteLength);

function headersToStrings(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) out[name] = first.toString();
  }
  return out;
}

function isConnectivityError(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause ?? (e as { originalError?: unknown }).originalError) {
    if (
      /Connection|NumberOfRetriesExceeded|RequestTimeout|BrokerNotFound|not connected|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH/i.test(
        `${e.name} ${e.message}`,
      )
    )
      return true;
    if (e.cause === e) break;
  }
  return false;
}

export async function connectKafkaBus(options: KafkaBusOptions): Promise<EventBus> {
  const brokers = [...options.brokers];
  if (brokers.length === 0) throw new RangeError('connectKafkaBus needs at least one broker address');
  const logger = options.logger ?? defaultBusLogger();
  const sessionTimeout = options.sessionTimeoutMs ?? 6_000;
  const heartbeatInterval = options.heartbeatIntervalMs ?? 1_000;
  const rebalanceTimeout = options.rebalanceTimeoutMs ?? 15_000;
  const joinTimeout = options.joinTimeoutMs ?? rebalanceTimeout + sessionTimeout;
  const defaultPartitions = options.defaultPartitions ?? 1;
  const retry = { retries: options.retries ?? 5, initialRetryTime: options.initialRetryTimeMs ?? 300, maxRetryTime: 10_000 };

  // kafkajs often reports the root cause (e.g. "Request ApiVersions timed out") only in its log.
  let lastClientError: string | undefined;
  const kafka = new Kafka({
    clientId: options.clientId ?? 'strata',
    brokers,
    connectionTimeout: options.connectionTimeoutMs ?? 3_000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    enforceRequestTimeout: true,
    retry,
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator(logger, (message) => (lastClientError = message)),
  });

  const failure = (action: string, error: unknown): Error =>
    isConnectivityError(error)
      ? new BusUnavailableError(brokers, action, error)
      : new Error(`Kafka ${brokers.join(',')}: could not ${action}: ${describeError(error)}`, { cause: error });

  const admin: Admin = kafka.admin({ retry });
  const producer: Producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
    idempotent: options.idempotent ?? false,
    ...(options.idempotent ? { maxInFlightRequests: 1 } : {}),
    retry,
  });
  try {
    await admin.connect();
    // kafkajs can resolve connect() after a broker that never answered; a metadata request proves the link.
    await admin.describeCluster();
    await producer.connect();
  } catch (error) {
    await Promise.allSettled([admin.disconnect(), producer.disconnect()]);
    const detail = lastClientError && !describeError(error).includes(lastClientError) ? `; last client error: ${lastClientError}` : '';
    throw new BusUnavailableError(brokers, 'connect', new Error(`${describeError(error)}${detail}`, { cause: error }));
  }

  const knownTopics = new Set<string>();
  const subscriptions = new Set<Subscription>();
  let closed = false;

  /** Alters the topics whose settings differ from `configOf` (a setting changed since they were created). */
  async function alignTopicConfigs(topics: string[], configOf: (topic: string) => { name: string; value: string }[]): Promise<void> {
    if (topics.length === 0) return;
    const described = await admin.describeConfigs({ includeSynonyms: false, resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })) });
    const stale = described.resources.filter((r) =>
      configOf(r.resourceName).some(({ name, value }) => r.configEntries.find((e) => e.configName === name)?.configValue !== value),
    );
    if (stale.length === 0) return;
    // alterConfigs replaces the topic's dynamic settings: send the ones it has plus ours.
    await admin.alterConfigs({
      validateOnly: false,
      resources: stale.map((r) => {
        const wantedEntries = configOf(r.resourceName);
        const kept = r.configEntries
          .filter((e) => !e.isDefault && !e.readOnly && !wantedEntries.some((w) => w.name === e.configName))
          .map((e) => ({ name: e.configName, value: e.configValue }));
        return { type: ConfigResourceTypes.TOPIC, name: r.resourceName, configEntries: [...kept, ...wantedEntries] };
      }),
    });
    logger.info({ topics: stale.map((r) => r.resourceName) }, 'topic settings updated');
  }

  async function ensureTopics(topics: readonly string[], partitions: number): Promise<void> {
    if (!Number.isInteger(partitions) || partitions < 1) throw new RangeError(`partitions must be an integer >= 1, got ${partitions}`);
    const wanted = [...new Set(topics)].filter((t) => !knownTopics.has(t));
    if (wanted.length === 0) return;
    const configOf = (topic: string) => Object.entries(options.topicConfig?.(topic) ?? {}).map(([name, value]) => ({ name, value }));
    try {
      const existing = new Set(await admin.listTopics());
      const missing = wanted.filter((t) => !existing.has(t));
      if (missing.length > 0) {
        // Returns false when a concurrent creator won the race: that is fine.
        await admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((topic) => ({
            topic,
            numPartitions: partitions,
            ...(options.replicationFactor ? { replicationFactor: options.replicationFactor } : {}),
            ...(configOf(topic).length > 0 ? { configEntries: configOf(topic) } : {}),
          })),
        });
      }
      await alignTopicConfigs(
        wanted.filter((t) => existing.has(t) && configOf(t).length > 0),
        configOf,
      );
    } catch (error) {
      if (!/already exists/i.test(describeError(error))) throw failure(`create topics ${wanted.join(', ')}`, error);
    }
    for (const t of wanted) knownTopics.add(t);
  }

  async function publish(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    if (closed) throw new BusClosedError(`publish to ${topic}`);
    await send(topic, messages);
  }

  // Also used for dead letters, which must still go out while close() stops the subscriptions.
  async function send(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await ensureTopics([topic], defaultPartitions);
    try {
      await producer.send({
        topic,
        acks: -1,
        messages: messages.map((m) => ({ key: m.key, value: toBuffer(m.value), ...(m.headers ? { headers: { ...m.headers } } : {}) })),
      });
    } catch (error) {
      throw failure(`publish ${messages.length} message(s) to ${topic}`, error);
    }
  }

  async function subscribe(opts: SubscribeOptions): Promise<Subscription> {
    if (closed) throw new BusClosedError(`subscribe group ${opts.group}`);
    if (opts.topics.length === 0) throw new RangeError('subscribe needs at least one topic');
    const policy = resolvePolicy(opts.group, opts.maxAttempts, opts.retryBackoff, opts.deadLetterTopic);
    await ensureTopics([...opts.topics, policy.deadLetterTopic], defaultPartitions);

    const consumer: Consumer = kafka.consumer({
      groupId: opts.group,
      sessionTimeout,
      heartbeatInterval,
      rebalanceTimeout,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 1_000,
      retry,
    });
    const stopping = new AbortController();
    const killed = new AbortController();
    const inFlight = new Set<Promise<void>>();
    let assignment: TopicPartition[] = [];
    let joined!: () => void;
    let joinFailed!: (error: Error) => void;
    const joinedOnce = new Promise<void>((resolve, reject) => {
      joined = resolve;
      joinFailed = reject;
    });
    joinedOnce.catch(() => undefined);

    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      assignment = Object.entries(payload.memberAssignment).flatMap(([topic, partitions]) => partitions.map((partition) => ({ topic, partition })));
      joined();
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      logger.error({ group: opts.group, restart: payload.restart, err: describeError(payload.error) }, 'Kafka consumer crashed');
      if (!payload.restart) joinFailed(failure(`run consumer group ${opts.group}`, payload.error));
    });

    // Handle one message, then commit it (kafkajs drops commits once the consumer is stopping, so
    // stop() waits for this to finish before it disconnects).
    async function handle({ topic, partition, message, heartbeat }: EachMessagePayload): Promise<void> {
      const delivered: Omit<DeliveredMessage, 'attempt'> = {
        topic,
        partition,
        offset: message.offset,
        key: message.key?.toString() ?? '',
        value: message.value ?? new Uint8Array(0),
        headers: headersToStrings(message.headers),
        timestamp: Number(message.timestamp),
      };
      // kafkajs heartbeats only between messages: keep the session alive during a long handler.
      const beat = setInterval(() => void heartbeat().catch(() => undefined), heartbeatInterval);
      let outcome;
      try {
        outcome = await deliver(delivered, opts.handler, policy, { stopping: stopping.signal, killed: killed.signal }, send, logger);
      } finally {
        clearInterval(beat);
      }
      if (outcome === 'released' || killed.signal.aborted) return;
      try {
        await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
      } catch (error) {
        // Typically a rebalance took the partition away: the new owner sees the message again.
        logger.warn(
          { group: opts.group, topic, partition, offset: message.offset, err: describeError(error) },
          'offset commit failed; the message may be delivered again',
        );
      }
    }

    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [...opts.topics], fromBeginning: opts.fromBeginning ?? false });
      await consumer.run({
        autoCommit: false,
        partitionsConsumedConcurrently: Math.max(1, opts.partitionConcurrency ?? 4),
        eachMessage: async (payload) => {
          if (stopping.signal.aborted) return;
          const work = handle(payload);
          inFlight.add(work);
          try {
            await work;
          } finally {
            inFlight.delete(work);
          }
        },
      });

      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        joinedOnce,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new BusUnavailableError(brokers, `join consumer group ${opts.group}`, new Error(`no assignment within ${joinTimeout} ms`))),
            joinTimeout,
          );
        }),
      ]).finally(() => clearTimeout(timer));
    } catch (error) {
      stopping.abort();
      await consumer.disconnect().catch(() => undefined);
      throw error instanceof BusUnavailableError ? error : failure(`subscribe group ${opts.group} to ${opts.topics.join(', ')}`, error);
    }

    let left: Promise<void> | undefined;
    const subscription: Subscription = {
      group: opts.group,
      assignment: () => [...assignment],
      stop() {
        if (!left) {
          stopping.abort();
          // Let in-flight messages finish and commit while the consumer still runs, then leave the group.
          left = Promise.allSettled([...inFlight])
            .then(() => consumer.disconnect())
            .catch((error: unknown) => logger.warn({ group: opts.group, err: describeError(error) }, 'Kafka consumer disconnect failed'))
            .finally(() => {
              assignment = [];
              subscriptions.delete(subscription);
            });
        }
        return left;
      },
      abort() {
        killed.abort();
        return subscription.stop();
      },
    };
    subscriptions.add(subscription);
    return subscription;
  }

  return {
    async ensureTopics(topics, partitions) {
      if (closed) throw new BusClosedError('ensure topics');
      await ensureTopics(topics, partitions);
    },
    publish,
    subscribe,
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...subscriptions].map((s) => s.stop()));
      await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
    },
  };
}
