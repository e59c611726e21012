// @strata/gateway: the gRPC front door of the distributed pipeline (strata.v1.ScanService).
export { startGateway } from './gateway.js';
export type { Gateway, GatewayOptions, GatewayTls } from './gateway.js';
export { startGatewayService, gatewaySettings } from './main.js';
export type { GatewayConfig, GatewayService } from './main.js';
export { createEventHub, uniqueGatewayGroup } from './events.js';
export type { EventHub, EventHubOptions, ScanEvent } from './events.js';
export { findingsFilter } from './filters.js';
export { affectedImagesQuery, AFFECTED_PAGE_SIZE, AFFECTED_PAGE_MAX } from './affected.js';
export type { AffectedImagesQuery, AffectedImagesOptions } from './affected.js';
export { renderStoredReport, scanFilter } from './render.js';
export type { ReportRenderer, RenderRequest } from './reports.js';
export { startConsole, ConsoleConfigError } from './console/server.js';
export type { ConsoleOptions, ConsoleServer } from './console/server.js';
