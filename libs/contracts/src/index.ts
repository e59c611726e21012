// @strata/contracts: the protobuf messages every Strata service shares (generated from
// proto/ by buf + protoc-gen-es into ./gen, committed), topic names and keys, event codecs,
// and gRPC glue for @grpc/grpc-js.
import { createRegistry } from '@bufbuild/protobuf';
import type { DescFile } from '@bufbuild/protobuf';
import { file_grpc_health_v1_health } from './gen/grpc/health/v1/health_pb.js';
import { file_strata_v1_events } from './gen/strata/v1/events_pb.js';
import { file_strata_v1_scan_service } from './gen/strata/v1/scan_service_pb.js';

export * from './gen/strata/v1/events_pb.js';
export * from './gen/strata/v1/scan_service_pb.js';
export * from './gen/grpc/health/v1/health_pb.js';

/** The contract .proto files, as protobuf-es descriptors. */
export const contractFiles: readonly DescFile[] = [file_strata_v1_events, file_strata_v1_scan_service, file_grpc_health_v1_health];
/** Registry of every contract type (for toJson/fromJson of Any, or lookups by type name). */
export const contractRegistry = createRegistry(...contractFiles);

export {
  Topics,
  topicContract,
  eventTopicContracts,
  eventKey,
  encodeEvent,
  encodeKeyedEvent,
  decodeEvent,
  ContractError,
  ContractDecodeError,
  ContractEncodeError,
  UnknownTopicError,
} from './topics.js';
export type { EventTopic, TopicContract, SchemaOf, EventOf, EventInit } from './topics.js';

export {
  grpcServiceDefinition,
  addService,
  scanServiceDefinition,
  healthServiceDefinition,
  makeClientConstructor,
  ScanServiceClient,
  HealthClient,
  promiseClient,
  connect,
  methodPath,
  isServiceError,
  SCAN_ID_METADATA,
} from './grpc.js';
export type {
  ServiceMethods,
  MethodsOf,
  ServiceHandlers,
  ScanServiceHandlers,
  HealthHandlers,
  PromiseClient,
  CallOptions,
  ConnectOptions,
  Connection,
} from './grpc.js';

export { createHealthService, healthStatusMap } from './health.js';
export type { HealthStatusProvider, HealthStatusMap, HealthService, HealthServiceOptions } from './health.js';

export { bearerAuth, bearerAuthInterceptor, bearerMetadata, bearerCallCredentials, bearerClientInterceptor } from './auth.js';
export type { AuthCheck, AuthCheckResult, AuthInterceptorOptions } from './auth.js';
