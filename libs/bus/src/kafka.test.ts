import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { closedLoopbackPort, deleteTopicsOfRun, infra, skipUnless, uniqueName } from '@strata/testing';
import { runBusContract, waitFor } from './testing/contract.js';
import { connectKafkaBus, type KafkaBusOptions } from './kafka.js';
import { BusUnavailableError } from './types.js';

const kafka = infra.kafka();
const skipKafka = skipUnless('kafka');

// Short group timeouts keep the suite quick; the semantics are the production ones.
const testTuning: Omit<KafkaBusOptions, 'brokers'> = {
  clientId: 'strata-bus-test',
  sessionTimeoutMs: 6000,
  heartbeatIntervalMs: 500,
  rebalanceTimeoutMs: 10000,
  retries: 3,
};

const runId = `r${randomBytes(4).toString('hex')}`;
runBusContract('kafka', () => connectKafkaBus({ brokers: kafka!.brokers, ...testTuning }), { skip: skipKafka, runId });

// Every topic this run created has the run id in its name (dead-letter topics through the group name).
after(() => deleteTopicsOfRun(runId));

test('kafka: a broker that is down gives an error naming its address after bounded retries', { timeout: 60_000 }, async () => {
  const port = await closedLoopbackPort();
  const address = `127.0.0.1:${port}`;
  await assert.rejects(connectKafkaBus({ brokers: [address], retries: 2, initialRetryTimeMs: 100 }), (error: unknown) => {
    assert.ok(error instanceof BusUnavailableError, `got ${String(error)}`);
    assert.match(error.message, new RegExp(`Kafka broker\\(s\\) ${address} unreachable while trying to connect`));
    assert.match(error.message, /ECONNREFUSED/);
    return true;
  });
});

test('kafka: a broker that accepts connections but never answers gives an error instead of hanging', { timeout: 60_000 }, async () => {
  const sockets: Socket[] = [];
  const server: Server = createServer((s) => void sockets.push(s));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = `127.0.0.1:${(server.address() as { port: number }).port}`;
  try {
    await assert.rejects(
      connectKafkaBus({ brokers: [address], retries: 1, initialRetryTimeMs: 100, requestTimeoutMs: 1000, connectionTimeoutMs: 1000 }),
      (error: unknown) => {
        assert.ok(error instanceof BusUnavailableError, `got ${String(error)}`);
        assert.match(error.message, new RegExp(address));
        return true;
      },
    );
  } finally {
    for (const s of sockets) s.destroy();
    server.close();
  }
});

test('kafka: a member killed with SIGKILL before committing: the next member gets the message', { skip: skipKafka, timeout: 120_000 }, async () => {
  const topic = uniqueName(`strata.test.sigkill.${runId}`);
  const group = uniqueName(`strata.test.sigkill-group.${runId}`);
  const bus = await connectKafkaBus({ brokers: kafka!.brokers, ...testTuning });
  try {
    await bus.ensureTopics([topic], 1);
    const script = fileURLToPath(new URL('./testdata/kafka-member.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, kafka!.brokers.join(','), topic, group], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    const exited = once(child, 'exit');
    try {
      await waitFor('the child member to join', () => output.includes('joined'));
      await bus.publish(
        topic,
        ['m0', 'm1', 'm2'].map((id) => ({ key: 'k', value: Buffer.from(id) })),
      );
      await waitFor('the child to handle m0 and get stuck on m1', () => output.includes('stuck m1'));
    } finally {
      child.kill('SIGKILL');
    }
    await exited;
    assert.match(output, /handled m0\nstuck m1\n/);

    const got: string[] = [];
    const survivor = await bus.subscribe({ group, topics: [topic], fromBeginning: true, handler: (m) => void got.push(Buffer.from(m.value).toString()) });
    await waitFor('m1 and m2 at the next member', () => got.length >= 2);
    await survivor.stop();
    assert.deepEqual(got, ['m1', 'm2'], 'uncommitted m1 is delivered again; committed m0 is not');
  } finally {
    await bus.close();
  }
});

test('kafka: the idempotent producer option delivers concurrent publishes once each, in per-key order', { skip: skipKafka, timeout: 120_000 }, async () => {
  const bus = await connectKafkaBus({ brokers: kafka!.brokers, ...testTuning, idempotent: true });
  try {
    const topic = uniqueName(`strata.test.idempotent.${runId}`);
    await bus.ensureTopics([topic], 3);
    const publishers = 8;
    const rounds = 25;
    await Promise.all(
      Array.from({ length: publishers }, async (_, p) => {
        for (let seq = 0; seq < rounds; seq++) await bus.publish(topic, [{ key: `publisher-${p}`, value: Buffer.from(`${p}:${seq}`) }]);
      }),
    );
    const seen = new Map<string, number[]>();
    let total = 0;
    const sub = await bus.subscribe({
      group: uniqueName(`strata.test.idempotent-group.${runId}`),
      topics: [topic],
      fromBeginning: true,
      handler: (m) => {
        const [p, seq] = Buffer.from(m.value).toString().split(':') as [string, string];
        seen.set(p, [...(seen.get(p) ?? []), Number(seq)]);
        total++;
      },
    });
    await waitFor('every message', () => total >= publishers * rounds);
    await sub.stop();
    assert.equal(total, publishers * rounds);
    for (let p = 0; p < publishers; p++)
      assert.deepEqual(
        seen.get(String(p)),
        Array.from({ length: rounds }, (_, i) => i),
      );
  } finally {
    await bus.close();
  }
});
