import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runBusContract, waitFor } from './testing/contract.js';
import { createInProcessBus, partitionForKey } from './memory.js';
import { BusClosedError } from './types.js';

runBusContract('in-process', async () => createInProcessBus());

test('in-process: a key always maps to the same partition, and keys spread', () => {
  const partitions = new Set<number>();
  for (let i = 0; i < 100; i++) {
    const p = partitionForKey(`sha256:${i}`, 6);
    assert.equal(partitionForKey(`sha256:${i}`, 6), p);
    partitions.add(p);
  }
  assert.equal(partitions.size, 6);
});

test('in-process: dropConsumed trims what every group has committed', async () => {
  const bus = createInProcessBus({ dropConsumed: true });
  await bus.ensureTopics(['t'], 1);
  const got: string[] = [];
  const sub = await bus.subscribe({ group: 'g', topics: ['t'], fromBeginning: true, handler: (m) => void got.push(m.offset) });
  await bus.publish(
    't',
    [1, 2, 3].map((i) => ({ key: 'k', value: new Uint8Array([i]) })),
  );
  await waitFor('3 messages', () => got.length === 3);
  await sub.stop();
  const late: string[] = [];
  const sub2 = await bus.subscribe({ group: 'late', topics: ['t'], fromBeginning: true, handler: (m) => void late.push(m.offset) });
  await bus.publish('t', [{ key: 'k', value: new Uint8Array([4]) }]);
  await waitFor('the new message', () => late.length === 1);
  assert.deepEqual(late, ['3'], 'offsets keep counting; consumed messages are gone');
  await sub2.stop();
  await bus.close();
});

test('in-process: a closed bus refuses work', async () => {
  const bus = createInProcessBus();
  await bus.close();
  await assert.rejects(bus.publish('t', []), BusClosedError);
});

test('in-process: partitionConcurrency bounds how many partitions are handled at once', async () => {
  const bus = createInProcessBus();
  await bus.ensureTopics(['busy'], 6);
  let running = 0;
  let most = 0;
  let done = 0;
  const sub = await bus.subscribe({
    group: 'g',
    topics: ['busy'],
    fromBeginning: true,
    partitionConcurrency: 2,
    handler: async () => {
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, 2));
      running--;
      done++;
    },
  });
  await bus.publish(
    'busy',
    Array.from({ length: 60 }, (_, i) => ({ key: `k${i}`, value: new Uint8Array([i]) })),
  );
  await waitFor('60 messages', () => done === 60);
  await sub.stop();
  await bus.close();
  assert.equal(most, 2);
});
