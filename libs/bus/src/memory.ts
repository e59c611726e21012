// In-process EventBus: the embedded default. It keeps Kafka's observable semantics: keyed
// partitions, per-group committed offsets, partitions shared among the members of a group,
// at-least-once delivery (work that was not committed is delivered again to the next owner).
import { randomUUID } from 'node:crypto';
import { deliver, resolvePolicy, type DeliveryPolicy } from './deliver.js';
import { defaultBusLogger, type BusLogger } from './logger.js';
import {
  BusClosedError,
  type DeliveredMessage,
  type EventBus,
  type MessageHandler,
  type OutgoingMessage,
  type SubscribeOptions,
  type Subscription,
  type TopicPartition,
} from './types.js';

export interface InProcessBusOptions {
  /** Partitions of a topic that is first used without `ensureTopics` (as Kafka's auto-create does). Default 1. */
  defaultPartitions?: number;
  /**
   * Drop messages that every group reading the topic has committed, so a long-running embedded
   * process does not grow without bound. A group that subscribes later starts from what is left.
   * Default false (keep everything, as a topic with unlimited retention).
   */
  dropConsumed?: boolean;
  logger?: BusLogger;
}

interface StoredRecord {
  key: string;
  value: Uint8Array;
  headers: Record<string, string>;
  timestamp: number;
}

interface Partition {
  /** Offset of log[0]; grows when consumed records are dropped. */
  base: number;
  log: StoredRecord[];
  /** Woken on every append. */
  waiters: Set<() => void>;
}

interface Topic {
  name: string;
  partitions: Partition[];
}

interface Member {
  id: string;
  joinedAt: number;
  topics: readonly string[];
  handler: MessageHandler;
  policy: DeliveryPolicy;
  fromBeginning: boolean;
  stopping: AbortController;
  killed: AbortController;
  assigned: Set<string>;
  workers: Map<string, Promise<void>>;
  /** Woken when this member's assignment changes or it is told to stop. */
  wake: Set<() => void>;
  /** Partitions handled at once (each partition is always one message at a time). */
  slots: Semaphore;
}

/** A counting semaphore: at most `limit` holders at a time, served in arrival order. */
class Semaphore {
  private active = 0;
  private readonly queue: (() => void)[] = [];
  constructor(private readonly limit: number) {}
  async acquire(): Promise<void> {
    if (this.active < this.limit) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.queue.push(resolve));
  }
  release(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.active--;
  }
}

interface Group {
  name: string;
  members: Member[];
  /** next offset to read, per "topic/partition" */
  committed: Map<string, number>;
  /** the member currently working a partition; a new owner waits until the old one lets go */
  holders: Map<string, Member>;
  released: Set<() => void>;
  topicsSeen: Set<string>;
}

const tpKey = (topic: string, partition: number) => `${topic}/${partition}`;

function parseTp(key: string): TopicPartition {
  const at = key.lastIndexOf('/');
  return { topic: key.slice(0, at), partition: Number(key.slice(at + 1)) };
}

/** FNV-1a over the UTF-8 bytes of the key: stable across runs, so a key always maps to one partition. */
export function partitionForKey(key: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(key, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % partitions;
}

function wakeAll(set: Set<() => void>): void {
  const fns = [...set];
  set.clear();
  for (const fn of fns) fn();
}

function waitOn(...sets: Set<() => void>[]): Promise<void> {
  return new Promise((resolve) => {
    const fn = () => {
      for (const s of sets) s.delete(fn);
      resolve();
    };
    for (const s of sets) s.add(fn);
  });
}

export function createInProcessBus(options: InProcessBusOptions = {}): EventBus {
  const defaultPartitions = options.defaultPartitions ?? 1;
  const dropConsumed = options.dropConsumed ?? false;
  const logger = options.logger ?? defaultBusLogger();
  const topics = new Map<string, Topic>();
  const groups = new Map<string, Group>();
  const subscriptions = new Set<Subscription>();
  let closed = false;

  function topicOf(name: string, partitions = defaultPartitions): Topic {
    let topic = topics.get(name);
    if (!topic) {
      if (!Number.isInteger(partitions) || partitions < 1) throw new RangeError(`partitions must be an integer >= 1, got ${partitions}`);
      topic = { name, partitions: Array.from({ length: partitions }, () => ({ base: 0, log: [], waiters: new Set() })) };
      topics.set(name, topic);
    }
    return topic;
  }

  function append(topicName: string, messages: readonly OutgoingMessage[]): void {
    const topic = topicOf(topicName);
    const touched = new Set<Partition>();
    for (const m of messages) {
      const partition = topic.partitions[partitionForKey(m.key, topic.partitions.length)]!;
      // Copy: a publisher reusing its buffer must not change what consumers see (Kafka serializes too).
      partition.log.push({ key: m.key, value: new Uint8Array(m.value), headers: { ...m.headers }, timestamp: Date.now() });
      touched.add(partition);
    }
    for (const p of touched) wakeAll(p.waiters);
  }

  /** Range-style assignment per topic, members in join order. */
  function rebalance(group: Group): void {
    const target = new Map<Member, Set<string>>(group.members.map((m) => [m, new Set<string>()]));
    for (const name of group.topicsSeen) {
      const subscribers = group.members.filter((m) => m.topics.includes(name));
      if (subscribers.length === 0) continue;
      const topic = topicOf(name);
      topic.partitions.forEach((_, p) => target.get(subscribers[p % subscribers.length]!)!.add(tpKey(name, p)));
    }
    for (const [member, keys] of target) {
      const changed = keys.size !== member.assigned.size || [...keys].some((k) => !member.assigned.has(k));
      member.assigned = keys;
      for (const key of keys) if (!member.workers.has(key)) startWorker(group, member, key);
      if (changed) wakeAll(member.wake);
    }
  }

  function startWorker(group: Group, member: Member, key: string): void {
    const done = runWorker(group, member, key)
      .catch((error: unknown) => logger.error({ group: group.name, partition: key, err: error }, 'in-process consumer worker failed'))
      .finally(() => {
        member.workers.delete(key);
        // Reassigned while finishing up: start again.
        if (member.assigned.has(key) && !member.stopping.signal.aborted) startWorker(group, member, key);
      });
    member.workers.set(key, done);
  }

  const owns = (member: Member, key: string) => member.assigned.has(key) && !member.stopping.signal.aborted;

  async function runWorker(group: Group, member: Member, key: string): Promise<void> {
    const { topic: topicName, partition: p } = parseTp(key);
    const partition = topicOf(topicName).partitions[p]!;

    // Wait until the previous owner has finished its in-flight message (as a Kafka rebalance does).
    while (group.holders.has(key) && group.holders.get(key) !== member) {
      if (!owns(member, key)) return;
      await waitOn(group.released, member.wake);
    }
    if (!owns(member, key)) return;
    group.holders.set(key, member);

    try {
      // The position comes from the committed offset, or from the reset policy when there is none.
      let position = group.committed.get(key) ?? (member.fromBeginning ? partition.base : partition.base + partition.log.length);
      while (owns(member, key)) {
        position = Math.max(position, partition.base);
        const record = partition.log[position - partition.base];
        if (!record) {
          await waitOn(partition.waiters, member.wake);
          continue;
        }
        const message: Omit<DeliveredMessage, 'attempt'> = {
          topic: topicName,
          partition: p,
          offset: String(position),
          key: record.key,
          value: record.value,
          headers: { ...record.headers },
          timestamp: record.timestamp,
        };
        await member.slots.acquire();
        let outcome;
        try {
          outcome = await deliver(
            message,
            member.handler,
            member.policy,
            { stopping: member.stopping.signal, killed: member.killed.signal },
            async (t, ms) => append(t, ms),
            logger,
          );
        } finally {
          member.slots.release();
        }
        if (outcome === 'released' || member.killed.signal.aborted) return;
        position += 1;
        group.committed.set(key, position);
        if (dropConsumed) trim(topicName, p);
      }
    } finally {
      if (group.holders.get(key) === member) group.holders.delete(key);
      wakeAll(group.released);
    }
  }

  function trim(topicName: string, p: number): void {
    const partition = topicOf(topicName).partitions[p]!;
    let low = Infinity;
    for (const group of groups.values()) {
      if (!group.topicsSeen.has(topicName)) continue;
      low = Math.min(low, group.committed.get(tpKey(topicName, p)) ?? partition.base);
    }
    const drop = Math.min(low, partition.base + partition.log.length) - partition.base;
    if (drop > 0 && Number.isFinite(drop)) {
      partition.log.splice(0, drop);
      partition.base += drop;
    }
  }

  async function leave(group: Group, member: Member): Promise<void> {
    wakeAll(member.wake);
    wakeAll(group.released);
    await Promise.all([...member.workers.values()]);
    group.members = group.members.filter((m) => m !== member);
    rebalance(group);
  }

  return {
    async ensureTopics(names, partitions) {
      if (closed) throw new BusClosedError('ensure topics');
      for (const name of names) topicOf(name, partitions);
    },

    async publish(topic, messages) {
      if (closed) throw new BusClosedError(`publish to ${topic}`);
      append(topic, messages);
    },

    async subscribe(opts: SubscribeOptions) {
      if (closed) throw new BusClosedError(`subscribe group ${opts.group}`);
      if (opts.topics.length === 0) throw new RangeError('subscribe needs at least one topic');
      const policy = resolvePolicy(opts.group, opts.maxAttempts, opts.retryBackoff, opts.deadLetterTopic);
      topicOf(policy.deadLetterTopic);
      let group = groups.get(opts.group);
      if (!group) {
        group = { name: opts.group, members: [], committed: new Map(), holders: new Map(), released: new Set(), topicsSeen: new Set() };
        groups.set(opts.group, group);
      }
      for (const t of opts.topics) {
        topicOf(t);
        group.topicsSeen.add(t);
      }
      const member: Member = {
        id: randomUUID(),
        joinedAt: Date.now(),
        topics: [...opts.topics],
        handler: opts.handler,
        policy,
        fromBeginning: opts.fromBeginning ?? false,
        stopping: new AbortController(),
        killed: new AbortController(),
        assigned: new Set(),
        workers: new Map(),
        wake: new Set(),
        slots: new Semaphore(Math.max(1, opts.partitionConcurrency ?? 4)),
      };
      group.members.push(member);
      rebalance(group);

      const g = group;
      let left: Promise<void> | undefined;
      const subscription: Subscription = {
        group: opts.group,
        assignment: () => [...member.assigned].map(parseTp),
        stop() {
          if (!left) {
            member.stopping.abort();
            left = leave(g, member).finally(() => subscriptions.delete(subscription));
          }
          return left;
        },
        abort() {
          member.killed.abort();
          return subscription.stop();
        },
      };
      subscriptions.add(subscription);
      return subscription;
    },

    async close() {
      closed = true;
      await Promise.all([...subscriptions].map((s) => s.stop()));
    },
  };
}
