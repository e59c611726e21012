// A consumer-group member in its own process, for the SIGKILL test: it handles "m0" normally and
// then gets stuck on the next message until the test kills it.
// Usage: node --import tsx kafka-member.ts <brokers> <topic> <group>
import { connectKafkaBus } from '../kafka.js';

const [brokers = '', topic = '', group = ''] = process.argv.slice(2);
const bus = await connectKafkaBus({
  brokers: brokers.split(','),
  clientId: 'strata-crash-member',
  sessionTimeoutMs: 6000,
  heartbeatIntervalMs: 500,
  rebalanceTimeoutMs: 10000,
});
await bus.subscribe({
  group,
  topics: [topic],
  fromBeginning: true,
  handler: async (m) => {
    const value = Buffer.from(m.value).toString();
    if (value === 'm0') {
      process.stdout.write(`handled ${value}\n`);
      return;
    }
    process.stdout.write(`stuck ${value}\n`);
    await new Promise(() => undefined);
  },
});
process.stdout.write('joined\n');
