// Gateway metrics (prom-client), registered on the registry the service exposes at /metrics.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface GatewayMetrics {
  requests: Counter<'method' | 'code'>;
  duration: Histogram<'method'>;
  scansSubmitted: Counter;
  waiting: Gauge;
  watchStreams: Gauge;
  eventsReceived: Counter<'topic'>;
}

export function gatewayMetrics(registry: Registry): GatewayMetrics {
  const existing = registry.getSingleMetric('strata_gateway_requests_total');
  if (existing) throw new Error('gateway metrics are already registered on this registry (one gateway per registry)');
  return {
    requests: new Counter({
      name: 'strata_gateway_requests_total',
      help: 'ScanService calls handled, by method and gRPC status code',
      labelNames: ['method', 'code'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'strata_gateway_request_duration_seconds',
      help: 'ScanService call duration by method (ScanImage with wait includes the whole scan; WatchFindings is the life of the stream)',
      labelNames: ['method'],
      buckets: [0.005, 0.02, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
      registers: [registry],
    }),
    scansSubmitted: new Counter({ name: 'strata_gateway_scans_submitted_total', help: 'scan.requested events published', registers: [registry] }),
    waiting: new Gauge({ name: 'strata_gateway_waiting_scans', help: 'ScanImage calls waiting for their result', registers: [registry] }),
    watchStreams: new Gauge({ name: 'strata_gateway_watch_streams', help: 'open WatchFindings streams', registers: [registry] }),
    eventsReceived: new Counter({
      name: 'strata_gateway_events_received_total',
      help: 'events read from the findings and scan.failed topics',
      labelNames: ['topic'],
      registers: [registry],
    }),
  };
}
