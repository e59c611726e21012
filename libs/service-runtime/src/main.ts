// The process around a service: load the settings (every problem reported at once), start it,
// and on SIGTERM/SIGINT stop it gracefully (consumers finish and commit their in-flight messages,
// connections close) and exit 0. A second signal exits at once.
import { describeConfig, SettingsError, type ConfigOf, type Setting } from '@strata/config';
import { createLogger } from '@strata/log';
import { describeError } from '@strata/errors';
import { loadServiceConfig, runtimeSettings, type RuntimeConfig } from './config.js';
import type { Runtime } from './runtime.js';

export interface RunningService {
  readonly name: string;
  readonly runtime: Runtime;
  /** graceful stop: in-flight work finishes and is committed, then connections close */
  stop(): Promise<void>;
  /** crash-like stop: in-flight work is abandoned uncommitted, for another member to redo */
  abort(): Promise<void>;
}

export interface MainOptions<S extends Record<string, Setting<unknown>>> {
  service: string;
  settings: S;
  start(config: ConfigOf<S> & RuntimeConfig): Promise<RunningService>;
  /** longest graceful stop before the process exits anyway (default 60 s) */
  stopTimeoutMs?: number;
}

export async function runServiceMain<S extends Record<string, Setting<unknown>>>(options: MainOptions<S>): Promise<void> {
  const boot = createLogger({ service: `strata-${options.service}`, level: process.env.STRATA_LOG_LEVEL ?? 'info' });
  let config: ConfigOf<S> & RuntimeConfig;
  try {
    config = loadServiceConfig(options.settings, process.env);
  } catch (error) {
    if (error instanceof SettingsError) {
      process.stderr.write(`strata-${options.service}: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  let service: RunningService;
  try {
    service = await options.start(config);
  } catch (error) {
    // problems between settings found by the service itself: the same exit as a bad setting
    if (error instanceof SettingsError) {
      process.stderr.write(`strata-${options.service}: ${error.message}\n`);
      process.exit(2);
    }
    boot.fatal({ err: describeError(error) }, 'service failed to start');
    process.exit(1);
  }
  const logger = service.runtime.logger;
  logger.info({ metrics: `${service.runtime.opsUrl}/metrics`, config: describeConfig({ ...runtimeSettings, ...options.settings }, config) }, 'service started');

  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(130);
    }
    stopping = true;
    logger.info({ signal }, 'stopping: finishing in-flight messages');
    const deadline = setTimeout(() => {
      logger.error('graceful stop timed out: exiting');
      process.exit(1);
    }, options.stopTimeoutMs ?? 60_000);
    deadline.unref();
    service.stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: describeError(error) }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
