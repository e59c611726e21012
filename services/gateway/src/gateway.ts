// The gateway: a grpc-js server with strata.v1.ScanService and grpc.health.v1, optional bearer
// auth (health stays open for probes) and TLS, fed by one event-hub subscription.
import * as grpc from '@grpc/grpc-js';
import type { BlobStore } from '@strata/blobstore';
import type { EventBus } from '@strata/bus';
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
  ScanService,
  addService,
  bearerAuthInterceptor,
  createHealthService,
  healthStatusMap,
  type EventTopic,
  type HealthStatusMap,
} from '@strata/contracts';
import type { Logger } from '@strata/log';
import type { ScanRecordStore } from '@strata/scan-records';
import type { Registry } from 'prom-client';
import { createEventHub, type EventHub } from './events.js';
import { gatewayMetrics } from './metrics.js';
import type { ReportRenderer } from './reports.js';
import { createScanService, type ScanServiceImpl, type ScanServiceOptions } from './service.js';

export interface GatewayTls {
  /** PEM certificate chain. */
  cert: Buffer;
  /** PEM private key. */
  key: Buffer;
}

export interface GatewayOptions {
  bus: EventBus;
  store: BlobStore;
  /** where scan records are read and written (the findings DB with STRATA_PG_URL); default the blob store's `scans/` */
  records?: ScanRecordStore;
  logger: Logger;
  /** Default 0.0.0.0. */
  host?: string;
  /** Default 50051; 0 picks a free port. */
  port?: number;
  /** With a token, every ScanService call needs `authorization: Bearer <token>`. */
  token?: string;
  tls?: GatewayTls;
  /** prom-client registry for the gateway metrics. */
  metricsRegistry?: Registry;
  maxWaitMs?: number;
  pollIntervalMs?: number;
  renderReport?: ReportRenderer;
  /** Consumer group of the event hub (default: unique per process). */
  eventGroup?: string;
  /** Dead-letter topic of the event hub's subscription (stable across restarts). */
  eventDeadLetterTopic?: string;
  /** See ScanServiceOptions.publishWaitMs. */
  publishWaitMs?: number;
  /** Physical topic of a contract topic (STRATA_TOPIC_PREFIX). Default: the contract name. */
  topic?: (logical: EventTopic) => string;
  /** Answers ListAffectedImages; without it the call is UNIMPLEMENTED. */
  affectedImages?: ScanServiceOptions['affectedImages'];
}

export interface Gateway {
  /** host:port the server listens on. */
  readonly address: string;
  readonly port: number;
  readonly health: HealthStatusMap;
  readonly events: EventHub;
  /** ScanImage / GetReport for in-process callers (the web console). */
  readonly scans: ScanServiceImpl['direct'];
  /**
   * Graceful stop: health goes NOT_SERVING, new calls are refused, watch streams end, waiting
   * ScanImage calls return UNAVAILABLE (their scans keep running), then the event subscription
   * stops. Calls still open after `graceMs` are cancelled. The bus and store are the caller's.
   */
  close(graceMs?: number): Promise<void>;
}

const SCAN_SERVICE = ScanService.typeName;

function bind(server: grpc.Server, address: string, credentials: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentials, (error, port) => {
      if (error) reject(new Error(`gateway could not listen on ${address}: ${error.message}`, { cause: error }));
      else resolve(port);
    });
  });
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const logger = options.logger;
  const host = options.host ?? '0.0.0.0';
  const metrics = options.metricsRegistry ? gatewayMetrics(options.metricsRegistry) : undefined;
  const events = createEventHub({
    bus: options.bus,
    logger,
    ...(options.eventGroup ? { group: options.eventGroup } : {}),
    ...(options.eventDeadLetterTopic ? { deadLetterTopic: options.eventDeadLetterTopic } : {}),
    ...(options.topic ? { topic: options.topic } : {}),
    ...(metrics ? { onEvent: (topic: string) => metrics.eventsReceived.inc({ topic }) } : {}),
  });
  await events.start();

  const health = healthStatusMap({ '': ServingStatus.NOT_SERVING, [SCAN_SERVICE]: ServingStatus.NOT_SERVING });
  const healthService = createHealthService(health);
  const scanService = createScanService({
    bus: options.bus,
    store: options.store,
    ...(options.records ? { records: options.records } : {}),
    hub: events,
    logger,
    ...(metrics ? { metrics } : {}),
    ...(options.maxWaitMs !== undefined ? { maxWaitMs: options.maxWaitMs } : {}),
    ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
    ...(options.renderReport ? { renderReport: options.renderReport } : {}),
    ...(options.topic ? { topic: options.topic } : {}),
    ...(options.affectedImages ? { affectedImages: options.affectedImages } : {}),
    ...(options.publishWaitMs !== undefined ? { publishWaitMs: options.publishWaitMs } : {}),
  });

  const server = new grpc.Server({
    ...(options.token ? { interceptors: [bearerAuthInterceptor(options.token)] } : {}),
    // Reports of large images (CycloneDX, SPDX) exceed gRPC's default 4 MiB; clients raise their receive limit too.
    'grpc.max_send_message_length': 256 * 1024 * 1024,
  });
  addService(server, ScanService, scanService.handlers);
  addService(server, Health, healthService.handlers);

  const credentials = options.tls
    ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: options.tls.cert, private_key: options.tls.key }], false)
    : grpc.ServerCredentials.createInsecure();
  const bindHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  let port: number;
  try {
    port = await bind(server, `${bindHost}:${options.port ?? 50051}`, credentials);
  } catch (error) {
    await events.stop();
    throw error;
  }
  health.setAll(ServingStatus.SERVING);
  const address = `${bindHost}:${port}`;
  logger.info({ address, tls: Boolean(options.tls), auth: Boolean(options.token) }, 'gateway listening');

  let closed: Promise<void> | undefined;
  return {
    address,
    port,
    health,
    events,
    scans: scanService.direct,
    close(graceMs = 10_000) {
      closed ??= (async () => {
        health.setAll(ServingStatus.NOT_SERVING);
        scanService.close();
        healthService.close();
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => {
            logger.warn({ graceMs }, 'calls still open after the grace period; cancelling them');
            server.forceShutdown();
            resolve();
          }, graceMs);
          server.tryShutdown(() => {
            clearTimeout(force);
            resolve();
          });
        });
        await events.stop();
        logger.info({ address }, 'gateway stopped');
      })();
      return closed;
    },
  };
}
