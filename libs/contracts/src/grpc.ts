import * as grpc from '@grpc/grpc-js';
import { create, fromBinary, isMessage, toBinary } from '@bufbuild/protobuf';
import type { DescMessage, DescMethod, MessageInitShape, MessageShape } from '@bufbuild/protobuf';
import type { GenService } from '@bufbuild/protobuf/codegenv2';
import { describeError } from '@strata/errors';
import { Health } from './gen/grpc/health/v1/health_pb.js';
import { ScanService } from './gen/strata/v1/scan_service_pb.js';
import { bearerClientInterceptor } from './auth.js';
import { ContractDecodeError } from './topics.js';

/** Method map of a generated service (`typeof ScanService` → its methods). */
export type ServiceMethods = Record<string, Pick<DescMethod, 'input' | 'output' | 'methodKind'>>;
export type MethodsOf<T> = T extends GenService<infer S> ? S : never;

type In<M extends ServiceMethods[string]> = MessageShape<M['input']>;
type OutInit<M extends ServiceMethods[string]> = MessageInitShape<M['output']>;

/**
 * grpc-js handlers for a generated service. Requests arrive as protobuf-es messages; responses
 * may be full messages or plain init objects (`callback(null, { scanId })`).
 */
export type ServiceHandlers<S extends ServiceMethods> = {
  [K in keyof S]: S[K]['methodKind'] extends 'unary'
    ? grpc.handleUnaryCall<In<S[K]>, OutInit<S[K]>>
    : S[K]['methodKind'] extends 'server_streaming'
      ? grpc.handleServerStreamingCall<In<S[K]>, OutInit<S[K]>>
      : S[K]['methodKind'] extends 'client_streaming'
        ? grpc.handleClientStreamingCall<In<S[K]>, OutInit<S[K]>>
        : grpc.handleBidiStreamingCall<In<S[K]>, OutInit<S[K]>>;
};

export type ScanServiceHandlers = ServiceHandlers<MethodsOf<typeof ScanService>>;
export type HealthHandlers = ServiceHandlers<MethodsOf<typeof Health>>;

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function serializer(schema: DescMessage): (value: unknown) => Buffer {
  return (value) => toBuffer(toBinary(schema, isMessage(value, schema) ? value : create(schema, value as MessageInitShape<DescMessage>)));
}

function deserializer(schema: DescMessage, path: string): (bytes: Buffer) => unknown {
  return (bytes) => {
    try {
      return fromBinary(schema, bytes);
    } catch (error) {
      const detail = describeError(error);
      throw new ContractDecodeError(path, schema.typeName, bytes.byteLength, detail, { cause: error });
    }
  };
}

/**
 * Response header of ScanService.ScanImage naming the scan id, sent as soon as the gateway has
 * accepted the scan: a client whose connection drops before the answer still knows which scan to
 * ask GetReport for. Also in the trailers of an error that concerns an accepted scan.
 */
export const SCAN_ID_METADATA = 'strata-scan-id';

export function methodPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

function methodDefinition(method: DescMethod): grpc.MethodDefinition<unknown, unknown> {
  const path = methodPath(method);
  return {
    path,
    requestStream: method.methodKind === 'client_streaming' || method.methodKind === 'bidi_streaming',
    responseStream: method.methodKind === 'server_streaming' || method.methodKind === 'bidi_streaming',
    requestSerialize: serializer(method.input),
    requestDeserialize: deserializer(method.input, path),
    responseSerialize: serializer(method.output),
    responseDeserialize: deserializer(method.output, path),
  };
}

const definitions = new WeakMap<object, grpc.ServiceDefinition>();

/**
 * grpc-js ServiceDefinition of a generated protobuf-es service; (de)serialization goes through
 * protobuf-es toBinary/fromBinary. Methods are keyed by their camelCase local name (`scanImage`).
 */
export function grpcServiceDefinition<S extends ServiceMethods>(service: GenService<S>): grpc.ServiceDefinition<ServiceHandlers<S>> {
  let definition = definitions.get(service);
  if (!definition) {
    const methods: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
    for (const method of service.methods) methods[method.localName] = methodDefinition(method);
    definition = methods;
    definitions.set(service, definition);
  }
  return definition as grpc.ServiceDefinition<ServiceHandlers<S>>;
}

/** Registers typed handlers of a generated service on a grpc-js server. */
export function addService<S extends ServiceMethods>(server: grpc.Server, service: GenService<S>, handlers: ServiceHandlers<S>): void {
  server.addService(grpcServiceDefinition(service) as grpc.ServiceDefinition, handlers as grpc.UntypedServiceImplementation);
}

export const scanServiceDefinition = grpcServiceDefinition(ScanService);
export const healthServiceDefinition = grpcServiceDefinition(Health);

/** grpc-js client class of a generated service (`new Ctor(address, credentials)`). */
export function makeClientConstructor<S extends ServiceMethods>(service: GenService<S>): grpc.ServiceClientConstructor {
  return grpc.makeGenericClientConstructor(grpcServiceDefinition(service) as grpc.ServiceDefinition, service.typeName);
}

export const ScanServiceClient = makeClientConstructor(ScanService);
export const HealthClient = makeClientConstructor(Health);

export interface CallOptions {
  metadata?: grpc.Metadata;
  /** Absolute deadline; see also timeoutMs. */
  deadline?: grpc.Deadline;
  /** Deadline relative to now. */
  timeoutMs?: number;
  /** Aborting cancels the call (the promise rejects / the iteration throws with CANCELLED). */
  signal?: AbortSignal;
  credentials?: grpc.CallCredentials;
  /** Called with the server's response headers as soon as they arrive (before the response). */
  onMetadata?: (metadata: grpc.Metadata) => void;
}

type UnaryMethod<M extends ServiceMethods[string]> = (request: MessageInitShape<M['input']>, options?: CallOptions) => Promise<MessageShape<M['output']>>;
type ServerStreamMethod<M extends ServiceMethods[string]> = (
  request: MessageInitShape<M['input']>,
  options?: CallOptions,
) => AsyncIterable<MessageShape<M['output']>>;

/**
 * Promise-based client: unary methods return promises, server-streaming methods async
 * iterables. Errors are grpc-js ServiceErrors (see isServiceError). Client- and bidi-streaming
 * methods are not offered (no Strata service has them).
 */
export type PromiseClient<S extends ServiceMethods> = {
  [K in keyof S]: S[K]['methodKind'] extends 'unary' ? UnaryMethod<S[K]> : S[K]['methodKind'] extends 'server_streaming' ? ServerStreamMethod<S[K]> : never;
};

function grpcCallOptions(options: CallOptions): grpc.CallOptions {
  const out: grpc.CallOptions = {};
  if (options.deadline !== undefined) out.deadline = options.deadline;
  else if (options.timeoutMs !== undefined) out.deadline = Date.now() + options.timeoutMs;
  if (options.credentials) out.credentials = options.credentials;
  return out;
}

function cancelOnAbort(signal: AbortSignal | undefined, call: { cancel(): void }): () => void {
  if (!signal) return () => {};
  if (signal.aborted) {
    call.cancel();
    return () => {};
  }
  const onAbort = () => call.cancel();
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

function unaryMethod(client: grpc.Client, method: DescMethod): UnaryMethod<ServiceMethods[string]> {
  const path = methodPath(method);
  const serialize = serializer(method.input);
  const deserialize = deserializer(method.output, path);
  return (request, options = {}) =>
    new Promise((resolve, reject) => {
      let release = () => {};
      const call = client.makeUnaryRequest(
        path,
        serialize,
        deserialize,
        request,
        options.metadata ?? new grpc.Metadata(),
        grpcCallOptions(options),
        (error, response) => {
          release();
          if (error) reject(error);
          else resolve(response as MessageShape<DescMessage>);
        },
      );
      if (options.onMetadata) call.on('metadata', options.onMetadata);
      release = cancelOnAbort(options.signal, call);
    });
}

function serverStreamMethod(client: grpc.Client, method: DescMethod): ServerStreamMethod<ServiceMethods[string]> {
  const path = methodPath(method);
  const serialize = serializer(method.input);
  const deserialize = deserializer(method.output, path);
  return (request, options = {}) => ({
    async *[Symbol.asyncIterator]() {
      const call = client.makeServerStreamRequest(path, serialize, deserialize, request, options.metadata ?? new grpc.Metadata(), grpcCallOptions(options));
      const release = cancelOnAbort(options.signal, call);
      try {
        for await (const message of call) yield message as MessageShape<DescMessage>;
      } finally {
        release();
        // Leaving the loop early must end the server stream too; a no-op after normal completion.
        call.cancel();
      }
    },
  });
}

/** Wraps a grpc-js client (of any constructor, or a plain grpc.Client) as a PromiseClient. */
export function promiseClient<S extends ServiceMethods>(service: GenService<S>, client: grpc.Client): PromiseClient<S> {
  const methods: Record<string, unknown> = {};
  for (const method of service.methods) {
    if (method.methodKind === 'unary') methods[method.localName] = unaryMethod(client, method);
    else if (method.methodKind === 'server_streaming') methods[method.localName] = serverStreamMethod(client, method);
  }
  return methods as PromiseClient<S>;
}

export interface ConnectOptions {
  /** Default: insecure (plaintext), for loopback and in-cluster use. */
  credentials?: grpc.ChannelCredentials;
  /** Bearer token sent with every call. */
  token?: string;
  clientOptions?: grpc.ClientOptions;
}

export interface Connection<S extends ServiceMethods> {
  readonly client: PromiseClient<S>;
  readonly grpcClient: grpc.Client;
  close(): void;
}

/** Opens a channel to `address` ("host:port") and returns a promise client for `service`. */
export function connect<S extends ServiceMethods>(service: GenService<S>, address: string, options: ConnectOptions = {}): Connection<S> {
  const clientOptions: grpc.ClientOptions = { ...options.clientOptions };
  if (options.token !== undefined) {
    clientOptions.interceptors = [...(clientOptions.interceptors ?? []), bearerClientInterceptor(options.token)];
  }
  const grpcClient = new grpc.Client(address, options.credentials ?? grpc.credentials.createInsecure(), clientOptions);
  return { client: promiseClient(service, grpcClient), grpcClient, close: () => grpcClient.close() };
}

export function isServiceError(error: unknown): error is grpc.ServiceError {
  return error instanceof Error && typeof (error as Partial<grpc.ServiceError>).code === 'number' && 'metadata' in error;
}
