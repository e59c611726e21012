// EventBus benchmark: publish and consume rates for 1 KB events, in-process and on Kafka, with the
// peak RSS of each run. Each adapter runs in its own process so the RSS figures do not mix.
//
//   bash tools/node.sh --import tsx bench/bus/run.ts [--events 100000] [--adapters in-process,kafka] [--partitions 6]
//
// Kafka comes from $STRATA_TEST_KAFKA (see infra/local/env.sh); it is skipped when unset.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { connectKafkaBus, createInProcessBus, type EventBus, type OutgoingMessage } from '@strata/bus';
import { createLogger } from '@strata/log';
import { infra, runBenchChildren } from '@strata/testing';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '100000' },
    adapters: { type: 'string', default: 'in-process,kafka' },
    partitions: { type: 'string', default: '6' },
    batch: { type: 'string', default: '500' },
    publishers: { type: 'string', default: '4' },
    child: { type: 'string' },
  },
});

const EVENT_BYTES = 1024;

interface Result {
  adapter: string;
  events: number;
  publishSeconds: number;
  consumeSeconds: number;
  joinSeconds: number;
  peakRssMB: number;
}

async function runOne(adapter: string): Promise<Result> {
  const events = Number(args.events);
  const partitions = Number(args.partitions);
  const batch = Number(args.batch);
  const logger = createLogger({ service: 'bench-bus', level: 'warn' });
  let bus: EventBus;
  if (adapter === 'kafka') {
    const kafka = infra.kafka();
    if (!kafka) throw new Error('STRATA_TEST_KAFKA is not set (source <(bash infra/local/env.sh))');
    bus = await connectKafkaBus({ brokers: kafka.brokers, clientId: 'strata-bench', logger });
  } else {
    bus = createInProcessBus({ logger });
  }
  const run = randomBytes(4).toString('hex');
  const topic = `strata.bench.${run}`;
  await bus.ensureTopics([topic], partitions);

  // 1 KB protobuf-sized payloads; a few distinct ones, keyed over many images.
  const payloads = Array.from({ length: 64 }, () => randomBytes(EVENT_BYTES));
  let next = 0;
  const publisher = async () => {
    while (next < events) {
      const start = next;
      next = Math.min(events, next + batch);
      const messages: OutgoingMessage[] = [];
      for (let i = start; i < next; i++) messages.push({ key: `sha256:image-${i % 1000}`, value: payloads[i % payloads.length]! });
      await bus.publish(topic, messages);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Number(args.publishers) }, publisher));
  const publishSeconds = (performance.now() - t0) / 1000;

  let count = 0;
  let first = 0;
  let finished!: () => void;
  const all = new Promise<void>((r) => (finished = r));
  const t1 = performance.now();
  const sub = await bus.subscribe({
    group: `strata.bench.${run}`,
    topics: [topic],
    fromBeginning: true,
    partitionConcurrency: partitions,
    handler: () => {
      if (count === 0) first = performance.now();
      if (++count === events) finished();
    },
  });
  await all;
  const consumeSeconds = (performance.now() - first) / 1000;
  const joinSeconds = (first - t1) / 1000;
  await sub.stop();
  await bus.close();
  if (adapter === 'kafka') {
    const admin = new Kafka({ brokers: infra.kafka()!.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic, `strata.dlq.strata.bench.${run}.v1`] }).finally(() => admin.disconnect());
  }
  return { adapter, events, publishSeconds, consumeSeconds, joinSeconds, peakRssMB: (process.resourceUsage().maxRSS * 1024) / 2 ** 20 };
}

if (args.child) {
  const result = await runOne(args.child);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
} else {
  const rows = runBenchChildren<Result>(
    fileURLToPath(import.meta.url),
    args.adapters.split(','),
    ['--events', args.events, '--partitions', args.partitions, '--batch', args.batch, '--publishers', args.publishers],
    (adapter) => (adapter === 'kafka' && !infra.kafka() ? 'STRATA_TEST_KAFKA unset' : undefined),
  );
  console.log(
    `\nEventBus: ${args.events} events of ${EVENT_BYTES} bytes, ${args.partitions} partitions, batches of ${args.batch}, ${args.publishers} concurrent publishers; consume commits after every message`,
  );
  console.log('adapter      publish ev/s   consume ev/s   (group join s)   peak RSS MB');
  for (const r of rows) {
    console.log(
      `${r.adapter.padEnd(12)} ${Math.round(r.events / r.publishSeconds)
        .toString()
        .padStart(12)}   ${Math.round(r.events / r.consumeSeconds)
        .toString()
        .padStart(12)}   ${r.joinSeconds.toFixed(2).padStart(14)}   ${r.peakRssMB.toFixed(0).padStart(11)}`,
    );
  }
}
