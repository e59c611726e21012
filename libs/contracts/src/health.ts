import * as grpc from '@grpc/grpc-js';
import { HealthCheckResponse_ServingStatus as ServingStatus } from './gen/grpc/health/v1/health_pb.js';
import type { HealthHandlers } from './grpc.js';

/**
 * Where the health service reads statuses. `status("")` is the server as a whole; undefined
 * means the service is unknown. With `subscribe`, Watch streams push changes as they happen;
 * without it, Watch polls.
 */
export interface HealthStatusProvider {
  status(service: string): ServingStatus | undefined;
  subscribe?(listener: () => void): () => void;
}

/** A mutable status table, the usual provider. */
export interface HealthStatusMap extends HealthStatusProvider {
  set(service: string, status: ServingStatus): void;
  /** Sets every known service (and "") to `status`, e.g. NOT_SERVING when shutting down. */
  setAll(status: ServingStatus): void;
  subscribe(listener: () => void): () => void;
}

export function healthStatusMap(initial: Record<string, ServingStatus> = {}): HealthStatusMap {
  const statuses = new Map<string, ServingStatus>(Object.entries(initial));
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const listener of [...listeners]) listener();
  };
  return {
    status: (service) => statuses.get(service),
    set(service, status) {
      if (statuses.get(service) === status) return;
      statuses.set(service, status);
      notify();
    },
    setAll(status) {
      for (const service of new Set(['', ...statuses.keys()])) statuses.set(service, status);
      notify();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export interface HealthServiceOptions {
  /** Poll interval for Watch when the provider has no subscribe(). Default 1000 ms. */
  pollIntervalMs?: number;
}

export interface HealthService {
  /** Register with `server.addService(healthServiceDefinition, health.handlers)`. */
  readonly handlers: HealthHandlers;
  /** Ends every open Watch stream (OK status), so that `server.tryShutdown` is not held open. */
  close(): void;
}

/** grpc.health.v1.Health: Check (NOT_FOUND for an unknown service) and Watch, per the spec. */
export function createHealthService(
  provider: HealthStatusProvider | ((service: string) => ServingStatus | undefined),
  options: HealthServiceOptions = {},
): HealthService {
  const source: HealthStatusProvider = typeof provider === 'function' ? { status: provider } : provider;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const openWatches = new Set<() => void>();

  const handlers: HealthHandlers = {
    check(call, callback) {
      const status = source.status(call.request.service);
      if (status === undefined) {
        callback({ code: grpc.status.NOT_FOUND, details: `unknown service ${JSON.stringify(call.request.service)}` });
      } else {
        callback(null, { status });
      }
    },
    watch(call) {
      const service = call.request.service;
      let last: ServingStatus | undefined;
      const push = () => {
        const status = source.status(service) ?? ServingStatus.SERVICE_UNKNOWN;
        if (status === last) return;
        last = status;
        call.write({ status });
      };
      const stopUpdates = source.subscribe
        ? source.subscribe(push)
        : (() => {
            const timer = setInterval(push, pollIntervalMs);
            return () => clearInterval(timer);
          })();
      const finish = (endStream: boolean) => {
        if (!openWatches.delete(end)) return;
        stopUpdates();
        if (endStream) call.end();
      };
      const end = () => finish(true);
      openWatches.add(end);
      call.on('cancelled', () => finish(false));
      call.on('error', () => finish(false));
      push();
    },
  };

  return {
    handlers,
    close() {
      for (const end of [...openWatches]) end();
    },
  };
}
