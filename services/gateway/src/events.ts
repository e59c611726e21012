// One subscription per gateway process to the findings, scan.completed and scan.failed topics,
// fanned out to the calls that wait for a scan (by scan id) and to the WatchFindings streams.
//
// Every gateway replica must see every event, so the consumer group is unique to the process.
// kafkajs fixes a new group's "latest" position only at its first fetch, after the join, so an
// event published right after start-up could be missed; the group therefore reads from the
// beginning and drops what was published before the gateway started (minus a clock-skew margin).
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { dlqTopic, type EventBus, type Subscription, type DeliveredMessage } from '@strata/bus';
import { Topics, decodeEvent, type EventTopic, type FindingsPublished, type ScanCompleted, type ScanFailed } from '@strata/contracts';
import type { Logger } from '@strata/log';

export type FindingsListener = (event: FindingsPublished) => void;
export type ScanEvent = { kind: 'findings'; event: FindingsPublished } | { kind: 'completed'; event: ScanCompleted } | { kind: 'failed'; event: ScanFailed };
export type ScanEventListener = (event: ScanEvent) => void;

export interface EventHubOptions {
  bus: EventBus;
  logger: Logger;
  /** Default: `strata-gateway-<host>-<pid>-<random>`. */
  group?: string;
  /**
   * Dead-letter topic of the subscription (nothing is dead-lettered: the handler never throws, but
   * the bus wants one). Stable, unlike the group, so restarts do not pile up topics. Default
   * `strata.dlq.strata-gateway.v1`.
   */
  deadLetterTopic?: string;
  /** Physical topic of a contract topic (STRATA_TOPIC_PREFIX). Default: the contract name. */
  topic?: (logical: EventTopic) => string;
  /** Events older than start-up minus this margin are skipped. Default 5000 ms. */
  clockSkewMs?: number;
  /** Tries to join the group before start() fails. Default 4. */
  startAttempts?: number;
  /** Called for every event received (metrics). */
  onEvent?: (topic: string) => void;
}

export interface EventHub {
  readonly group: string;
  /** Joins the consumer group; resolves once partitions are assigned. */
  start(): Promise<void>;
  /** Listener for events of one scan (findings carrying its id, its scan.completed or scan.failed). */
  onScan(scanId: string, listener: ScanEventListener): () => void;
  /** Listener for every findings event. */
  onFindings(listener: FindingsListener): () => void;
  /** Listener for the events of every scan (findings carrying a scan id, scan.completed, scan.failed). */
  onAnyScan(listener: ScanEventListener): () => void;
  stop(): Promise<void>;
}

function sanitize(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 60) || 'host';
}

/** A consumer group name no other gateway process uses: `strata-gateway-<host>-<pid>-<random>`. */
export function uniqueGatewayGroup(): string {
  return `strata-gateway-${sanitize(hostname())}-${process.pid}-${randomUUID().slice(0, 8)}`;
}

export function createEventHub(options: EventHubOptions): EventHub {
  const group = options.group ?? uniqueGatewayGroup();
  const logger = options.logger.child({ component: 'event-hub', group });
  const scanListeners = new Map<string, Set<ScanEventListener>>();
  const findingsListeners = new Set<FindingsListener>();
  const anyScanListeners = new Set<ScanEventListener>();
  let subscription: Subscription | undefined;
  let cutoff = 0;
  const physical = options.topic ?? ((logical: EventTopic) => logical);
  const findingsTopic = physical(Topics.findings);
  const failedTopic = physical(Topics.scanFailed);
  const completedTopic = physical(Topics.scanCompleted);
  const topics = [findingsTopic, completedTopic, failedTopic];

  const dispatchScan = (scanId: string, payload: Parameters<ScanEventListener>[0]) => {
    for (const listener of [...(scanListeners.get(scanId) ?? []), ...anyScanListeners]) {
      try {
        listener(payload);
      } catch (error) {
        logger.error({ err: error, scanId }, 'scan listener failed');
      }
    }
  };

  // Never throws: a bad event must not be retried or dead-lettered by a group nobody else reads.
  const handle = (message: DeliveredMessage) => {
    options.onEvent?.(message.topic);
    if (message.timestamp < cutoff) return;
    try {
      if (message.topic === findingsTopic) {
        const event = decodeEvent(Topics.findings, message.value);
        if (event.scanId) dispatchScan(event.scanId, { kind: 'findings', event });
        for (const listener of [...findingsListeners]) {
          try {
            listener(event);
          } catch (error) {
            logger.error({ err: error }, 'findings listener failed');
          }
        }
      } else if (message.topic === completedTopic) {
        const event = decodeEvent(Topics.scanCompleted, message.value);
        dispatchScan(event.scanId, { kind: 'completed', event });
      } else if (message.topic === failedTopic) {
        const event = decodeEvent(Topics.scanFailed, message.value);
        dispatchScan(event.scanId, { kind: 'failed', event });
      }
    } catch (error) {
      logger.warn({ err: error, topic: message.topic, partition: message.partition, offset: message.offset }, 'skipped an undecodable event');
    }
  };

  return {
    group,
    async start() {
      if (subscription) return;
      cutoff = Date.now() - (options.clockSkewMs ?? 5_000);
      // A brand-new group's topics (its dead-letter topic) can meet a metadata race in the broker
      // right after creation; that passes on a second try.
      for (let attempt = 1; ; attempt++) {
        try {
          subscription = await options.bus.subscribe({
            group,
            topics,
            handler: handle,
            fromBeginning: true,
            maxAttempts: 1,
            deadLetterTopic: options.deadLetterTopic ?? dlqTopic('strata-gateway'),
          });
          break;
        } catch (error) {
          if (attempt >= (options.startAttempts ?? 4)) throw error;
          logger.warn({ err: error, attempt }, 'could not join the event group yet; retrying');
          await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** (attempt - 1)));
        }
      }
      logger.info({ topics }, 'listening for findings and finished scans');
    },
    onScan(scanId, listener) {
      let set = scanListeners.get(scanId);
      if (!set) scanListeners.set(scanId, (set = new Set()));
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0 && scanListeners.get(scanId) === set) scanListeners.delete(scanId);
      };
    },
    onFindings(listener) {
      findingsListeners.add(listener);
      return () => findingsListeners.delete(listener);
    },
    onAnyScan(listener) {
      anyScanListeners.add(listener);
      return () => anyScanListeners.delete(listener);
    },
    async stop() {
      const current = subscription;
      subscription = undefined;
      await current?.stop();
    },
  };
}
