// Clean-up of the topics a test run made on the shared Kafka: every one carries the run's id.
import kafkajs from 'kafkajs';
import { infra } from './index.js';

/** Deletes every topic whose name contains `runId` (the suite's topics and its groups' dead-letter topics). */
export async function deleteTopicsOfRun(runId: string): Promise<void> {
  const kafka = infra.kafka();
  if (!kafka) return;
  const admin = new kafkajs.Kafka({ brokers: kafka.brokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const mine = (await admin.listTopics()).filter((t) => t.includes(runId));
    if (mine.length) await admin.deleteTopics({ topics: mine });
  } finally {
    await admin.disconnect();
  }
}
