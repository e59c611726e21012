// Starting a stage service: its runtime (bus, store, metrics endpoint), then its consumers.
import { openFindingsDb, pgScanRecords, type FindingsDb } from '@strata/findings-db';
import type { Logger } from '@strata/log';
import { blobScanRecords } from '@strata/scan-records';
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
  config: RuntimeConfig & { STRATA_PG_URL?: string | undefined },
  options: StartOptions,
  wire: (ctx: StageContext) => Promise<(() => Promise<void>) | void>,
): Promise<RunningService> {
  const runtime = await createRuntime(service, config, {
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.processMetrics !== undefined ? { processMetrics: options.processMetrics } : {}),
  });
  // With STRATA_PG_URL the scan records (and what else the service keeps there) are in the findings DB.
  let findingsDb: FindingsDb | undefined;
  if (config.STRATA_PG_URL) {
    try {
      findingsDb = await openFindingsDb({ url: config.STRATA_PG_URL, logger: runtime.logger, maxConnections: 4, applicationName: `strata-${service}` });
    } catch (error) {
      await runtime.abort();
      throw error;
    }
  }
  const ctx: StageContext = {
    runtime,
    service,
    records: findingsDb ? pgScanRecords(findingsDb) : blobScanRecords(runtime.store),
    ...(findingsDb ? { findingsDb } : {}),
    observe: options.observe ?? (() => undefined),
    ...(options.testPoint ? { testPoint: options.testPoint } : {}),
  };
  let release: (() => Promise<void>) | void;
  try {
    release = await wire(ctx);
  } catch (error) {
    await runtime.abort();
    await findingsDb?.close();
    throw error;
  }
  const after = async () => {
    if (release) await release();
    await findingsDb?.close();
  };
  return {
    name: service,
    runtime,
    stop: () => runtime.close().then(after),
    abort: () => runtime.abort().then(after),
  };
}
