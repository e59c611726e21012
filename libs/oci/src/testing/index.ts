// @strata/oci/testing: test support for registry suites (never part of the production entry).
// The token server of the token-auth test registry, a fault-injecting proxy in front of a registry
// and a blob storage stand-in, and small stream helpers.
export { startTokenServer, parseScope } from './token-server.js';
export type { TokenServer, TokenServerOptions, TokenRequestRecord } from './token-server.js';
export { startFaultProxy, startBlobStorage } from './fault-proxy.js';
export type { FaultProxy, FaultAction, FaultRule, RecordedRequest, BlobStorage } from './fault-proxy.js';
export { drain, compressionOf, skopeoInspect } from './streams.js';
