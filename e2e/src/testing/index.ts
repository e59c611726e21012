// @strata/e2e: the distributed deployment harness, for the suites here and the benchmarks.
// Test-only: nothing in a service, lib or app imports it.
export { createDeployment, waitUntil, advisoryDb, serviceMain, servicePackages } from './harness.js';
export type { Deployment, OutsideSubscriber, ServiceProcess, ServiceName, StageServiceName } from './harness.js';
export { demoBaseLayer } from './demo-base-layer.js';
export { startPrivateInfra, privateInfraMissing, freePort } from './private-infra.js';
export type { PrivateInfra } from './private-infra.js';
export { captureLog } from './log-capture.js';
export type { CapturedLog } from './log-capture.js';
