// strata-gateway: serves strata.v1.ScanService (+ grpc.health.v1) over the distributed pipeline.
// Settings come from the environment (see gatewaySettings and @strata/service-runtime's); /metrics
// and /healthz are served by the runtime; SIGTERM stops it gracefully.
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dlqTopic } from '@strata/bus';
import { setting, type ConfigOf, type Setting } from '@strata/config';
import type { Logger } from '@strata/log';
import { advisoryIndexSource } from '@strata/advisories';
import { createRuntime, runServiceMain, type RunningService, type RuntimeConfig } from '@strata/service-runtime';
import { advisoryIndexSettings, advisoryLimitsOf, findingsDbSettings } from '@strata/stage-runtime';
import { openFindingsDb, pgScanRecords, type FindingsDb } from '@strata/findings-db';
import { affectedImagesQuery } from './affected.js';
import { describeError } from '@strata/errors';
import { uniqueGatewayGroup } from './events.js';
import { startGateway, type Gateway } from './gateway.js';
import { renderStoredReport } from './render.js';
import { startConsole, type ConsoleServer } from './console/server.js';

export const gatewaySettings = {
  GATEWAY_HOST: setting.string({ description: 'address the gRPC server listens on', default: '0.0.0.0' }),
  GATEWAY_PORT: setting.integer({ description: 'gRPC port (0: any free port)', default: 50051, min: 0, max: 65_535 }),
  GATEWAY_TOKEN: setting.optionalString({ description: 'bearer token every ScanService call must send (health stays open)', secret: true }),
  GATEWAY_TLS_CERT: setting.optionalString({ description: 'PEM certificate chain file; with GATEWAY_TLS_KEY the server speaks TLS' }),
  GATEWAY_TLS_KEY: setting.optionalString({ description: 'PEM private key file of GATEWAY_TLS_CERT' }),
  GATEWAY_MAX_WAIT_MS: setting.integer({ description: 'longest ScanImage(wait) when the client sets no earlier deadline', default: 15 * 60_000, min: 1_000 }),
  GATEWAY_POLL_INTERVAL_MS: setting.integer({ description: 'how often a waiting ScanImage re-reads its scan record', default: 1_000, min: 50 }),
  GATEWAY_PUBLISH_WAIT_MS: setting.integer({
    description:
      'how long ScanImage retries publishing a scan request while Kafka is unreachable before it fails the scan (the client gets the scan id and the reason)',
    default: 30_000,
    min: 0,
  }),
  GATEWAY_SHUTDOWN_GRACE_MS: setting.integer({ description: 'how long open calls may run on after SIGTERM', default: 10_000, min: 0 }),
  GATEWAY_INDEX_SYNC_MS: setting.integer({
    description: 'ListAffectedImages re-lists the image catalog when its last listing is older than this (without STRATA_PG_URL)',
    default: 1_000,
    min: 0,
  }),
  GATEWAY_CONSOLE_ENABLED: setting.boolean({ description: 'serve the web console (docs/console.md) on its own HTTP port', default: true }),
  GATEWAY_CONSOLE_HOST: setting.optionalString({
    description: 'address the console listens on (default: GATEWAY_HOST with a token, else 127.0.0.1; without a token only loopback is allowed)',
  }),
  GATEWAY_CONSOLE_PORT: setting.integer({ description: 'HTTP port of the web console (0: any free port)', default: 8080, min: 0, max: 65_535 }),
  GATEWAY_CONSOLE_DIR: setting.optionalString({ description: "directory of the console UI bundle (default: the gateway's console-ui/dist)" }),
  STRATA_DB: setting.optionalString({
    description: "OSV advisory folder (the matcher's): ListAffectedImages by advisory needs it; without it only package queries are answered",
  }),
  ...advisoryIndexSettings,
  ...findingsDbSettings("the matcher's; ListAffectedImages queries it by SQL"),
} satisfies Record<string, Setting<unknown>>;

export type GatewayConfig = ConfigOf<typeof gatewaySettings> & RuntimeConfig;

export interface GatewayService extends RunningService {
  readonly gateway: Gateway;
  /** the web console, unless GATEWAY_CONSOLE_ENABLED=false */
  readonly console?: ConsoleServer;
}

/** The console UI bundle next to the gateway (src/ and dist/ are both one level below the package). */
export const defaultConsoleDir = (): string => fileURLToPath(new URL('../console-ui/dist', import.meta.url));

function tlsFiles(config: GatewayConfig): { cert: Buffer; key: Buffer } | undefined {
  const { GATEWAY_TLS_CERT: cert, GATEWAY_TLS_KEY: key } = config;
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined) throw new Error('GATEWAY_TLS_CERT and GATEWAY_TLS_KEY go together: set both or neither');
  const read = (name: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new Error(`${name} ${path}: ${describeError(error)}`, { cause: error });
    }
  };
  return { cert: read('GATEWAY_TLS_CERT', cert), key: read('GATEWAY_TLS_KEY', key) };
}

/** Starts the gateway on its runtime (bus, store, metrics endpoint) from a loaded configuration. */
export async function startGatewayService(config: GatewayConfig, options: { logger?: Logger; processMetrics?: boolean } = {}): Promise<GatewayService> {
  const tls = tlsFiles(config);
  const runtime = await createRuntime('gateway', config, {
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.processMetrics !== undefined ? { processMetrics: options.processMetrics } : {}),
  });
  let gateway: Gateway | undefined;
  let consoleServer: ConsoleServer | undefined;
  let db: FindingsDb | undefined;
  const indexSource = config.STRATA_DB
    ? advisoryIndexSource(config.STRATA_DB, config.STRATA_CACHE_DIR, config.STRATA_DB_RECHECK_MS, advisoryLimitsOf(config))
    : undefined;
  try {
    if (config.STRATA_PG_URL)
      db = await openFindingsDb({ url: config.STRATA_PG_URL, logger: runtime.logger, maxConnections: 8, applicationName: 'strata-gateway' });
    gateway = await startGateway({
      bus: runtime.bus,
      store: runtime.store,
      ...(db ? { records: pgScanRecords(db) } : {}),
      logger: runtime.logger,
      host: config.GATEWAY_HOST,
      port: config.GATEWAY_PORT,
      ...(config.GATEWAY_TOKEN ? { token: config.GATEWAY_TOKEN } : {}),
      ...(tls ? { tls } : {}),
      metricsRegistry: runtime.metrics.registry,
      maxWaitMs: config.GATEWAY_MAX_WAIT_MS,
      pollIntervalMs: config.GATEWAY_POLL_INTERVAL_MS,
      renderReport: renderStoredReport(runtime.store),
      affectedImages: affectedImagesQuery({
        store: runtime.store,
        logger: runtime.logger,
        syncEveryMs: config.GATEWAY_INDEX_SYNC_MS,
        ...(db ? { db } : {}),
        ...(indexSource ? { indexSource } : {}),
      }),
      topic: (logical) => runtime.topic(logical),
      eventGroup: runtime.group(uniqueGatewayGroup()),
      eventDeadLetterTopic: dlqTopic(runtime.group('strata-gateway')),
      publishWaitMs: config.GATEWAY_PUBLISH_WAIT_MS,
    });
    if (config.GATEWAY_CONSOLE_ENABLED)
      consoleServer = await startConsole({
        logger: runtime.logger,
        host: config.GATEWAY_CONSOLE_HOST ?? (config.GATEWAY_TOKEN ? config.GATEWAY_HOST : '127.0.0.1'),
        port: config.GATEWAY_CONSOLE_PORT,
        ...(config.GATEWAY_TOKEN ? { token: config.GATEWAY_TOKEN } : {}),
        ...(tls ? { tls } : {}),
        staticDir: config.GATEWAY_CONSOLE_DIR ?? defaultConsoleDir(),
        ...(db ? { db } : {}),
        store: runtime.store,
        hub: gateway.events,
        scans: gateway.scans,
        ...(indexSource ? { indexSource } : {}),
      });
  } catch (error) {
    await gateway?.close(0);
    await db?.close();
    await runtime.abort();
    throw error;
  }
  const grace = config.GATEWAY_SHUTDOWN_GRACE_MS;
  const started = gateway;
  return {
    name: 'gateway',
    runtime,
    gateway: started,
    ...(consoleServer ? { console: consoleServer } : {}),
    stop: async () => {
      await consoleServer?.close();
      await started.close(grace);
      await runtime.close();
      await db?.close();
    },
    abort: async () => {
      await consoleServer?.close();
      await started.close(0);
      await runtime.abort();
      await db?.close();
    },
  };
}

const isEntryPoint = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isEntryPoint) {
  await runServiceMain({ service: 'gateway', settings: gatewaySettings, start: (config) => startGatewayService(config) });
}
