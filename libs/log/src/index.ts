// pino JSON logs with a service name, a scan/trace id on child loggers, and secrets redacted.
import { createRequire } from 'node:module';
import type * as Pino from 'pino';
import type { Logger, LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** Field names whose values are never written to a log, at any depth we know of. */
const SECRET_KEYS = ['password', 'secret', 'secretKey', 'token', 'authorization', 'identitytoken', 'auth', 'accessKey'];
const REDACT_PATHS = SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`, `headers.${key}`]);

// pino is required on first use: importing @strata/log (as the embedded CLI does) costs nothing
// until a process actually creates a logger.
const requireCjs = createRequire(import.meta.url);
let pinoModule: typeof Pino | undefined;
const loadPino = (): typeof Pino => (pinoModule ??= requireCjs('pino') as typeof Pino);

export interface LoggerSettings {
  service: string;
  level?: string;
  /** where to write; defaults to stderr so stdout stays free for reports */
  destination?: NodeJS.WritableStream;
}

export function createLogger(settings: LoggerSettings): Logger {
  const { pino } = loadPino();
  const options: LoggerOptions = {
    name: settings.service,
    level: settings.level ?? process.env.STRATA_LOG_LEVEL ?? 'info',
    base: { service: settings.service, pid: process.pid },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return pino(options, (settings.destination ?? process.stderr) as Pino.DestinationStream);
}

/** A child logger that stamps every line with the scan id (and trace id when there is one). */
export function forScan(logger: Logger, scanId: string, traceId?: string): Logger {
  return logger.child(traceId ? { scanId, traceId } : { scanId });
}

/** Removes user:password@ from URLs before they are logged or put in error messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^/@\s]+@/g, '//[redacted]@');
}
