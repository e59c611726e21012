// @strata/service-runtime: what every Strata service runs on — settings from the environment,
// the Kafka bus and blob store, pino logs, Prometheus /metrics + /healthz, graceful SIGTERM.
export { runtimeSettings, loadServiceConfig, runtimeConfigProblems } from './config.js';
export type { RuntimeSettings, RuntimeConfig } from './config.js';
export { createRuntime, topicNamer } from './runtime.js';
export type { Runtime, RuntimeOptions, ConsumeOptions, HandlerOutcome } from './runtime.js';
export { createServiceMetrics } from './metrics.js';
export type { ServiceMetrics, MetricsOptions, LagSample } from './metrics.js';
export { listen, startOpsServer } from './http.js';
export type { OpsServer, HealthReport } from './http.js';
export { runServiceMain } from './main.js';
export type { RunningService, MainOptions } from './main.js';
