// The EventBus contract: one suite, run against every adapter (in-process and Kafka).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { DLQ_HEADERS, NonRetriableError, dlqTopic, type DeliveredMessage, type EventBus, type SubscribeOptions, type Subscription } from '../types.js';

export interface BusContractOptions {
  /** A skip reason (e.g. from skipUnless('kafka')), or false to run. */
  skip?: string | false;
  /** Hang guard per test (not a performance threshold). Default 120 s. */
  timeoutMs?: number;
  /** Part of every topic and group name this run creates (for cleanup); random by default. */
  runId?: string;
}

const text = new TextEncoder();
const str = (v: Uint8Array) => Buffer.from(v).toString('utf8');

/** Polls until `check` holds; fails with `what` when the hang guard expires. */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

export function runBusContract(name: string, makeBus: () => Promise<EventBus>, options: BusContractOptions = {}): void {
  const run = options.runId ?? randomBytes(4).toString('hex');
  let counter = 0;
  const unique = (what: string) => `strata.test.${what}.${run}.${++counter}`;
  const timeout = options.timeoutMs ?? 120_000;

  describe(`EventBus contract: ${name}`, { skip: options.skip ?? false }, () => {
    let bus: EventBus;
    const open: Subscription[] = [];
    const subscribe = async (opts: SubscribeOptions) => {
      const s = await bus.subscribe(opts);
      open.push(s);
      return s;
    };

    before(async () => {
      bus = await makeBus();
    });
    after(async () => {
      await Promise.all(open.map((s) => s.stop()));
      await bus?.close();
    });

    test('delivers published messages with key, value and headers, offsets in order', { timeout }, async () => {
      const topic = unique('roundtrip');
      await bus.ensureTopics([topic], 1);
      const got: DeliveredMessage[] = [];
      await subscribe({ group: unique('g'), topics: [topic], fromBeginning: true, handler: (m) => void got.push(m) });
      await bus.publish(topic, [
        { key: 'a', value: text.encode('first'), headers: { 'content-type': 'application/x-protobuf' } },
        { key: 'a', value: new Uint8Array([0, 255, 1]) },
      ]);
      await waitFor('2 messages', () => got.length >= 2);
      assert.equal(got.length, 2);
      const [first, second] = got as [DeliveredMessage, DeliveredMessage];
      assert.equal(first.topic, topic);
      assert.equal(first.key, 'a');
      assert.equal(str(first.value), 'first');
      assert.equal(first.headers['content-type'], 'application/x-protobuf');
      assert.equal(first.attempt, 1);
      assert.deepEqual([...second.value], [0, 255, 1]);
      assert.equal(BigInt(second.offset), BigInt(first.offset) + 1n);
      assert.equal(first.partition, second.partition);
    });

    test('keeps the order of messages with the same key', { timeout }, async () => {
      const topic = unique('order');
      await bus.ensureTopics([topic], 4);
      const keys = Array.from({ length: 8 }, (_, i) => `key-${i}`);
      const perKey = 40;
      const seen = new Map<string, number[]>();
      const partitions = new Map<string, Set<number>>();
      await subscribe({
        group: unique('g'),
        topics: [topic],
        fromBeginning: true,
        handler: async (m) => {
          const [key, seq] = str(m.value).split(':') as [string, string];
          assert.equal(key, m.key);
          seen.set(key, [...(seen.get(key) ?? []), Number(seq)]);
          partitions.set(key, (partitions.get(key) ?? new Set()).add(m.partition));
          if (Number(seq) % 7 === 0) await new Promise((r) => setImmediate(r)); // let partitions interleave
        },
      });
      for (let seq = 0; seq < perKey; seq++) {
        await bus.publish(
          topic,
          keys.map((key) => ({ key, value: text.encode(`${key}:${seq}`) })),
        );
      }
      await waitFor('every message', () => [...seen.values()].reduce((n, l) => n + l.length, 0) >= keys.length * perKey);
      const expected = Array.from({ length: perKey }, (_, i) => i);
      for (const key of keys) {
        assert.deepEqual(seen.get(key), expected, `order of ${key}`);
        assert.equal(partitions.get(key)?.size, 1, `${key} stays on one partition`);
      }
      assert.ok(new Set([...partitions.values()].map((s) => [...s][0])).size > 1, 'keys spread over several partitions');
    });

    test('two members of one group share the partitions and handle each message once', { timeout }, async () => {
      const topic = unique('shared');
      const group = unique('g');
      await bus.ensureTopics([topic], 4);
      const handledBy = new Map<string, string[]>();
      const member = (who: string) => (m: DeliveredMessage) => {
        const id = str(m.value);
        handledBy.set(id, [...(handledBy.get(id) ?? []), who]);
      };
      const a = await subscribe({ group, topics: [topic], fromBeginning: true, handler: member('a') });
      const b = await subscribe({ group, topics: [topic], fromBeginning: true, handler: member('b') });
      await waitFor('both members assigned, partitions split between them', () => {
        const pa = a.assignment().map((tp) => tp.partition);
        const pb = b.assignment().map((tp) => tp.partition);
        return pa.length > 0 && pb.length > 0 && pa.length + pb.length === 4 && new Set([...pa, ...pb]).size === 4;
      });

      const total = 200;
      for (let batch = 0; batch < total; batch += 50) {
        await bus.publish(
          topic,
          Array.from({ length: 50 }, (_, i) => ({ key: `k-${(batch + i) % 40}`, value: text.encode(`msg-${batch + i}`) })),
        );
      }
      await waitFor(`${total} distinct messages`, () => handledBy.size >= total);
      // Stopping waits for anything in flight, so a duplicate could not slip in after the count.
      await Promise.all([a.stop(), b.stop()]);
      const byA = [...handledBy.values()].filter((w) => w[0] === 'a').length;
      const byB = [...handledBy.values()].filter((w) => w[0] === 'b').length;
      assert.equal(handledBy.size, total);
      for (const [id, who] of handledBy) assert.equal(who.length, 1, `${id} handled ${who.length} times (${who.join(',')})`);
      assert.ok(byA > 0 && byB > 0, `both members did work (a=${byA}, b=${byB})`);
    });

    test('a member that crashes before committing: another member gets the message again', { timeout }, async () => {
      const topic = unique('crash');
      const group = unique('g');
      await bus.ensureTopics([topic], 1);
      const handled: { who: string; id: string }[] = [];
      const started: { who: string; id: string }[] = [];
      const crashing = deferred();
      let crasher: string | undefined;
      const member = (who: string) => async (m: DeliveredMessage) => {
        const id = str(m.value);
        started.push({ who, id });
        if (id === 'm2' && crasher === undefined) {
          crasher = who;
          crashing.resolve();
          await new Promise(() => undefined); // stuck until the process "dies"
        }
        handled.push({ who, id });
      };
      const subs = {
        a: await subscribe({ group, topics: [topic], fromBeginning: true, handler: member('a') }),
        b: await subscribe({ group, topics: [topic], fromBeginning: true, handler: member('b') }),
      };
      await waitFor('one member owns the partition', () => subs.a.assignment().length + subs.b.assignment().length === 1);
      await bus.publish(
        topic,
        ['m1', 'm2', 'm3'].map((id) => ({ key: 'same', value: text.encode(id) })),
      );

      await crashing.promise;
      const dead = crasher as 'a' | 'b';
      const survivor = dead === 'a' ? 'b' : 'a';
      await subs[dead].abort();
      await waitFor('m2 and m3 handled by the surviving member', () => handled.some((h) => h.id === 'm3'));

      assert.deepEqual(
        handled.map((h) => h.id),
        ['m1', 'm2', 'm3'],
      );
      assert.equal(handled[0]!.who, dead, 'm1 was handled and committed before the crash');
      assert.deepEqual(
        handled.slice(1).map((h) => h.who),
        [survivor, survivor],
      );
      assert.deepEqual(
        started.filter((s) => s.id === 'm2').map((s) => s.who),
        [dead, survivor],
        'm2 was delivered again after the crash',
      );
      assert.equal(started.filter((s) => s.id === 'm1').length, 1, 'committed m1 is not delivered again');
    });

    test('retries a failing message, dead-letters a poison message with its reason, and the partition keeps flowing', { timeout }, async () => {
      const topic = unique('poison');
      const group = unique('g');
      await bus.ensureTopics([topic], 1);
      const attempts = new Map<string, number[]>();
      const handled: string[] = [];
      await subscribe({
        group,
        topics: [topic],
        fromBeginning: true,
        maxAttempts: 3,
        retryBackoff: { initialMs: 5, maxMs: 20 },
        handler: (m) => {
          const id = str(m.value);
          attempts.set(id, [...(attempts.get(id) ?? []), m.attempt]);
          if (id === 'poison') throw new Error('cannot decode ScanRequested: truncated payload');
          if (id === 'undecodable') throw new NonRetriableError('not a protobuf message');
          if (id === 'flaky' && m.attempt < 3) throw new Error('store briefly unavailable');
          handled.push(id);
        },
      });
      const dead: DeliveredMessage[] = [];
      await subscribe({ group: `${group}.dlq-reader`, topics: [dlqTopic(group)], fromBeginning: true, handler: (m) => void dead.push(m) });
      await bus.publish(
        topic,
        ['ok1', 'flaky', 'poison', 'undecodable', 'ok2'].map((id) => ({ key: 'k', value: text.encode(id), headers: { origin: 'contract-test' } })),
      );
      await waitFor('ok2 handled and two dead letters', () => handled.includes('ok2') && dead.length >= 2);

      assert.deepEqual(handled, ['ok1', 'flaky', 'ok2']);
      assert.deepEqual(attempts.get('flaky'), [1, 2, 3]);
      assert.deepEqual(attempts.get('poison'), [1, 2, 3]);
      assert.deepEqual(attempts.get('undecodable'), [1], 'a non-retriable failure is not retried');
      assert.equal(dead.length, 2);
      const [poison, undecodable] = dead as [DeliveredMessage, DeliveredMessage];
      assert.equal(str(poison.value), 'poison');
      assert.equal(poison.key, 'k');
      assert.equal(poison.topic, dlqTopic(group));
      assert.equal(poison.headers[DLQ_HEADERS.topic], topic);
      assert.equal(poison.headers[DLQ_HEADERS.partition], '0');
      assert.equal(poison.headers[DLQ_HEADERS.offset], '2');
      assert.equal(poison.headers[DLQ_HEADERS.group], group);
      assert.equal(poison.headers[DLQ_HEADERS.attempts], '3');
      assert.match(poison.headers[DLQ_HEADERS.error] ?? '', /cannot decode ScanRequested: truncated payload/);
      assert.equal(poison.headers.origin, 'contract-test', 'the original headers are kept');
      assert.equal(str(undecodable.value), 'undecodable');
      assert.equal(undecodable.headers[DLQ_HEADERS.attempts], '1');
      assert.match(undecodable.headers[DLQ_HEADERS.error] ?? '', /not a protobuf message/);
    });

    test("a subscription that names its dead-letter topic sends its poison messages there, not to its group's", { timeout }, async () => {
      const topic = unique('named-dlq');
      const group = unique('g');
      const named = unique('dlq');
      await bus.ensureTopics([topic], 1);
      await subscribe({
        group,
        topics: [topic],
        fromBeginning: true,
        maxAttempts: 1,
        deadLetterTopic: named,
        handler: () => {
          throw new Error('always fails');
        },
      });
      const dead: DeliveredMessage[] = [];
      await subscribe({ group: `${group}.dlq-reader`, topics: [named], fromBeginning: true, handler: (m) => void dead.push(m) });
      await bus.publish(topic, [{ key: 'k', value: text.encode('poison') }]);
      await waitFor('the dead letter on the named topic', () => dead.length >= 1);
      assert.equal(dead[0]!.topic, named);
      assert.equal(str(dead[0]!.value), 'poison');
      assert.equal(dead[0]!.headers[DLQ_HEADERS.group], group);
    });

    test('stop() lets the in-flight message finish and commits it', { timeout }, async () => {
      const topic = unique('graceful');
      const group = unique('g');
      await bus.ensureTopics([topic], 1);
      const started = deferred();
      const release = deferred();
      const handled: string[] = [];
      const first = await subscribe({
        group,
        topics: [topic],
        fromBeginning: true,
        handler: async (m) => {
          started.resolve();
          await release.promise;
          handled.push(`first:${str(m.value)}`);
        },
      });
      await bus.publish(topic, [{ key: 'k', value: text.encode('m1') }]);
      await started.promise;
      let handledWhenStopped: string[] | undefined;
      const stopping = first.stop().then(() => (handledWhenStopped = [...handled]));
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(handledWhenStopped, undefined, 'stop waits for the in-flight handler');
      release.resolve();
      await stopping;
      assert.deepEqual(handledWhenStopped, ['first:m1'], 'the in-flight message finished before stop() resolved');

      await subscribe({ group, topics: [topic], fromBeginning: true, handler: (m) => void handled.push(`second:${str(m.value)}`) });
      await bus.publish(topic, [{ key: 'k', value: text.encode('m2') }]);
      await waitFor('m2 handled by the next member', () => handled.length >= 2);
      assert.deepEqual(handled, ['first:m1', 'second:m2'], 'the committed m1 is not delivered again');
    });
  });
}
