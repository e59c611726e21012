// Starting a stage service: its runtime (bus, store, metrics endpoint), then its consumers.
import type { Logger } from '@strata/log';
import { createRuntime, type RunningService, type RuntimeConfig } from '@strata/service-runtime';
import type { StageContext, StageObserver, TestPointHook } from './stage.js';

export interface StartOptions {
  /** called for what each handler did (tests, benchmarks) */
  observe?: StageObserver;
  logger?: Logger;
  /** process-wide CPU/memory metrics (default true) */
  processMetrics?: boolean;
  /** tests only: pause or crash at named points of the stages (see TestPoint) */
  testPoint?: TestPointHook;
}

export async function startStageService(
  service: string,
  config: RuntimeConfig,
  options: StartOptions,
  wire: (ctx: StageContext) => Promise<(() => Promise<void>) | void>,
): Promise<RunningService> {
  const runtime = await createRuntime(service, config, {
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.processMetrics !== undefined ? { processMetrics: options.processMetrics } : {}),
  });
  const ctx: StageContext = { runtime, service, observe: options.observe ?? (() => undefined), ...(options.testPoint ? { testPoint: options.testPoint } : {}) };
  let release: (() => Promise<void>) | void;
  try {
    release = await wire(ctx);
  } catch (error) {
    await runtime.abort();
    throw error;
  }
  const after = async () => {
    if (release) await release();
  };
  return {
    name: service,
    runtime,
    stop: () => runtime.close().then(after),
    abort: () => runtime.abort().then(after),
  };
}
