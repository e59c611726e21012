// What a service runs on: the Kafka bus, the blob store, a logger, metrics and the /metrics +
// /healthz endpoint, built from the environment settings. Consumers decode events by their
// contract (undecodable bytes go to the group's dead-letter topic), count what they handle, and
// stop gracefully: in-flight messages finish and are committed before the member leaves.
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { createFsBlobStore, createS3BlobStore, type BlobStore } from '@strata/blobstore';
import { connectKafkaBus, dlqTopic, NonRetriableError, type DeliveredMessage, type EventBus, type Subscription } from '@strata/bus';
import { decodeEvent, encodeKeyedEvent, Topics, type EventInit, type EventOf, type EventTopic } from '@strata/contracts';
import { createLogger, type Logger } from '@strata/log';
import { describeError } from '@strata/errors';
import type { RuntimeConfig } from './config.js';
import { startOpsServer, type HealthReport, type OpsServer } from './http.js';
import { createServiceMetrics, type LagSample, type ServiceMetrics } from './metrics.js';

/** What a handler reports for the metrics; `undefined` counts as 'ok'. */
export type HandlerOutcome = 'ok' | 'skipped' | 'failed_scan';

export interface ConsumeOptions<T extends EventTopic> {
  /** logical group name, e.g. "strata-analyzer" (the topic prefix is added) */
  group: string;
  topic: T;
  handler(event: EventOf<T>, message: DeliveredMessage): Promise<HandlerOutcome | void>;
  /** partitions handled at once by this member (default STRATA_CONCURRENCY) */
  concurrency?: number;
  /**
   * Where a partition without a committed offset starts (default true: the oldest message). A
   * work queue must not skip what was published before its group first committed on a partition,
   * e.g. the message a crashed member was handling; consumers are idempotent, so re-reading is safe.
   */
  fromBeginning?: boolean;
}

export interface Runtime {
  readonly service: string;
  readonly config: RuntimeConfig;
  readonly logger: Logger;
  readonly bus: EventBus;
  readonly store: BlobStore;
  /** bucket name for BlobRefs in events (the S3 bucket, or "fs" for a filesystem store) */
  readonly bucket: string;
  readonly metrics: ServiceMetrics;
  /** tries per message before a transient failure becomes final */
  readonly maxAttempts: number;
  /** the Kafka topic a contract topic is published on (with STRATA_TOPIC_PREFIX) */
  topic(logical: EventTopic): string;
  /** the consumer group name (with STRATA_TOPIC_PREFIX) */
  group(name: string): string;
  publish<T extends EventTopic>(topic: T, event: EventInit<T>, headers?: Record<string, string>): Promise<void>;
  /** Publishes many events in one produce request (each keyed by its contract). */
  publishAll<T extends EventTopic>(topic: T, events: readonly EventInit<T>[]): Promise<void>;
  consume<T extends EventTopic>(options: ConsumeOptions<T>): Promise<Subscription>;
  /** the ops endpoint (/metrics, /healthz) once listening */
  readonly opsUrl: string;
  health(): HealthReport;
  /** topic partitions currently assigned to this instance, per group */
  assignments(): Array<{ group: string; topic: string; partition: number }>;
  /** Graceful: stop consuming (in-flight messages finish and commit), then release every connection. */
  close(): Promise<void>;
  /** Like a crash: in-flight messages are abandoned uncommitted (for tests of redelivery). */
  abort(): Promise<void>;
}

export interface RuntimeOptions {
  /** default: a pino logger named strata-<service> at STRATA_LOG_LEVEL */
  logger?: Logger;
  /** process-wide CPU/memory metrics (default true; tests running several services in one process may turn it off) */
  processMetrics?: boolean;
}

/** Topic and group names under a prefix; '' leaves them as the contracts name them. */
export function topicNamer(prefix: string | undefined): { topic(logical: string): string; group(name: string): string } {
  const p = prefix ?? '';
  return { topic: (logical) => `${p}${logical}`, group: (name) => `${p}${name}` };
}

// Right after topics are created, kafkajs' next createTopics refreshes metadata for every topic it
// has touched and may hear "does not host this topic-partition" until the broker's metadata has
// caught up (seconds). That is transient: try again.
const METADATA_LAG = /does not host this topic-partition|UNKNOWN_TOPIC_OR_PARTITION|LEADER_NOT_AVAILABLE|no leader/i;

async function ensureTopicsPatiently(bus: EventBus, topics: readonly string[], partitions: number, logger: Logger): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await bus.ensureTopics(topics, partitions);
      return;
    } catch (error) {
      if (attempt >= 20 || !METADATA_LAG.test(describeError(error))) throw error;
      logger.debug({ attempt, err: describeError(error) }, 'topic metadata not propagated yet; retrying');
      await new Promise((r) => setTimeout(r, Math.min(2_000, 200 * attempt)));
    }
  }
}

async function openStore(config: RuntimeConfig, logger: Logger): Promise<{ store: BlobStore; bucket: string }> {
  if (config.S3_ENDPOINT !== undefined) {
    const url = new URL(config.S3_ENDPOINT);
    const useSSL = url.protocol === 'https:';
    const store = await createS3BlobStore({
      endPoint: url.hostname,
      port: url.port ? Number(url.port) : useSSL ? 443 : 80,
      useSSL,
      accessKey: config.S3_ACCESS_KEY ?? '',
      secretKey: config.S3_SECRET_KEY ?? '',
      bucket: config.S3_BUCKET,
      ...(config.S3_REGION ? { region: config.S3_REGION } : {}),
      logger: logger.child({ component: 'blobstore' }),
    });
    return { store, bucket: config.S3_BUCKET };
  }
  return { store: await createFsBlobStore({ root: config.STRATA_STORE_DIR! }), bucket: 'fs' };
}

export async function createRuntime(service: string, config: RuntimeConfig, options: RuntimeOptions = {}): Promise<Runtime> {
  const logger = options.logger ?? createLogger({ service: `strata-${service}`, level: config.STRATA_LOG_LEVEL });
  const names = topicNamer(config.STRATA_TOPIC_PREFIX);
  const clientId = config.KAFKA_CLIENT_ID ?? `strata-${service}`;
  const partitions = config.STRATA_TOPIC_PARTITIONS;

  const { store, bucket } = await openStore(config, logger);
  let bus: EventBus;
  try {
    bus = await connectKafkaBus({
      brokers: config.KAFKA_BROKERS,
      clientId,
      logger: logger.child({ component: 'bus' }, config.STRATA_BUS_LOG_LEVEL ? { level: config.STRATA_BUS_LOG_LEVEL } : {}),
      sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
      heartbeatIntervalMs: config.KAFKA_HEARTBEAT_INTERVAL_MS,
      rebalanceTimeoutMs: config.KAFKA_REBALANCE_TIMEOUT_MS,
      defaultPartitions: partitions,
      // Findings are a product: deleted by age only, never compacted (one event per image and DB
      // version must all stay readable).
      topicConfig: (topic) =>
        topic === names.topic(Topics.findings) ? { 'cleanup.policy': 'delete', 'retention.ms': String(config.STRATA_FINDINGS_RETENTION_MS) } : undefined,
    });
    // Every pipeline topic exists with the configured partitions before anything is published:
    // a topic created by a first publish would get the bus default instead.
    await ensureTopicsPatiently(bus, Object.values(Topics).map(names.topic), partitions, logger);
  } catch (error) {
    await store.close();
    throw error;
  }

  // Consumer lag is read with an admin client of its own, at scrape time.
  const consumed = new Map<string, Set<string>>();
  let admin: Promise<Admin> | undefined;
  const lag = async (): Promise<LagSample[]> => {
    admin ??= (async () => {
      const a = new Kafka({ clientId: `${clientId}-lag`, brokers: config.KAFKA_BROKERS, logLevel: logLevel.NOTHING, retry: { retries: 1 } }).admin();
      await a.connect();
      return a;
    })();
    const client = await admin.catch((error: unknown) => {
      admin = undefined;
      throw error;
    });
    const samples: LagSample[] = [];
    for (const [group, topics] of consumed) {
      for (const topic of topics) {
        const [ends, committed] = await Promise.all([client.fetchTopicOffsets(topic), client.fetchOffsets({ groupId: group, topics: [topic] })]);
        const done = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
        for (const end of ends) {
          const high = BigInt(end.high);
          const at = done.get(end.partition) ?? -1n;
          const from = at < 0n ? BigInt(end.low) : at;
          samples.push({ group, topic, partition: end.partition, lag: Number(high > from ? high - from : 0n) });
        }
      }
    }
    return samples;
  };

  const metrics = createServiceMetrics({ service, lag, processMetrics: options.processMetrics ?? true });
  const subscriptions = new Set<Subscription>();
  let state: 'running' | 'stopping' | 'stopped' = 'running';

  const health = (): HealthReport => ({
    ok: state === 'running',
    detail: {
      service,
      state,
      subscriptions: [...subscriptions].map((s) => ({ group: s.group, partitions: s.assignment().map((a) => `${a.topic}:${a.partition}`) })),
    },
  });

  let ops: OpsServer;
  try {
    ops = await startOpsServer({ host: config.METRICS_HOST, port: config.METRICS_PORT, metrics, health });
  } catch (error) {
    await Promise.allSettled([bus.close(), store.close()]);
    throw new Error(`${service}: cannot serve /metrics on ${config.METRICS_HOST}:${config.METRICS_PORT}: ${describeError(error)}`, { cause: error });
  }
  const maxAttempts = config.STRATA_MAX_ATTEMPTS;

  async function consume<T extends EventTopic>(opts: ConsumeOptions<T>): Promise<Subscription> {
    const topic = names.topic(opts.topic);
    const group = names.group(opts.group);
    // The bus creates the group's dead-letter topic on subscribe; create it first, patiently.
    await ensureTopicsPatiently(bus, [dlqTopic(group)], partitions, logger);
    const subscription = await bus.subscribe({
      group,
      topics: [topic],
      maxAttempts,
      retryBackoff: { initialMs: config.STRATA_RETRY_INITIAL_MS, maxMs: config.STRATA_RETRY_MAX_MS },
      partitionConcurrency: opts.concurrency ?? config.STRATA_CONCURRENCY,
      fromBeginning: opts.fromBeginning ?? true,
      handler: async (message) => {
        let event: EventOf<T>;
        try {
          event = decodeEvent(opts.topic, message.value);
        } catch (error) {
          metrics.eventsHandled.inc({ topic, outcome: 'dead_letter' });
          logger.error({ topic, partition: message.partition, offset: message.offset, err: describeError(error) }, 'undecodable message: dead-lettered');
          throw new NonRetriableError(describeError(error), { cause: error });
        }
        try {
          const outcome = (await opts.handler(event, message)) ?? 'ok';
          metrics.eventsHandled.inc({ topic, outcome });
        } catch (error) {
          metrics.eventsHandled.inc({ topic, outcome: message.attempt >= maxAttempts || error instanceof NonRetriableError ? 'dead_letter' : 'retry' });
          throw error;
        }
      },
    });
    subscriptions.add(subscription);
    let topics = consumed.get(group);
    if (!topics) consumed.set(group, (topics = new Set()));
    topics.add(topic);
    return subscription;
  }

  let closing: Promise<void> | undefined;
  function shutdown(how: 'stop' | 'abort'): Promise<void> {
    closing ??= (async () => {
      state = 'stopping';
      await Promise.allSettled([...subscriptions].map((s) => (how === 'stop' ? s.stop() : s.abort())));
      await Promise.allSettled([bus.close(), store.close(), admin?.then((a) => a.disconnect()), ops.close()]);
      state = 'stopped';
    })();
    return closing;
  }

  return {
    service,
    config,
    logger,
    bus,
    store,
    bucket,
    metrics,
    maxAttempts,
    topic: (logical) => names.topic(logical),
    group: (name) => names.group(name),
    async publish(topic, event, headers) {
      const { key, value } = encodeKeyedEvent(topic, event);
      await bus.publish(names.topic(topic), [{ key, value, ...(headers ? { headers } : {}) }]);
    },
    async publishAll(topic, events) {
      if (events.length === 0) return;
      await bus.publish(
        names.topic(topic),
        events.map((event) => encodeKeyedEvent(topic, event)),
      );
    },
    consume,
    get opsUrl() {
      return ops.url;
    },
    health,
    assignments: () => [...subscriptions].flatMap((s) => s.assignment().map((a) => ({ group: s.group, ...a }))),
    close: () => shutdown('stop'),
    abort: () => shutdown('abort'),
  };
}
