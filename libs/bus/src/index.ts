// @strata/bus: the EventBus port and its two adapters (in-process, Kafka).
export {
  dlqTopic,
  DLQ_HEADERS,
  NonRetriableError,
  BusUnavailableError,
  BusClosedError,
  type OutgoingMessage,
  type BusMessage,
  type DeliveredMessage,
  type MessageHandler,
  type RetryBackoff,
  type SubscribeOptions,
  type Subscription,
  type TopicPartition,
  type EventBus,
} from './types.js';
export { createInProcessBus, partitionForKey, type InProcessBusOptions } from './memory.js';
export { connectKafkaBus, kafkaLogCreator, type KafkaBusOptions } from './kafka.js';
export type { BusLogger } from './logger.js';
