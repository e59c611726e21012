import { createLogger, type Logger } from '@strata/log';

export type BusLogger = Logger;

export function defaultBusLogger(): BusLogger {
  return createLogger({ service: 'strata-bus', level: process.env.STRATA_LOG_LEVEL ?? 'warn' });
}
