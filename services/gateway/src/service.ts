// strata.v1.ScanService handlers: submit scans (and wait for them), serve stored reports, stream
// findings events. State lives in the blob store (scan records, reports) and on the bus.
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import type { BlobStore } from '@strata/blobstore';
import { BusClosedError, type EventBus } from '@strata/bus';
import {
  ListAffectedImagesResponseSchema,
  ReportFormat,
  SCAN_ID_METADATA,
  ScanErrorSchema,
  ScanStatus,
  ScanTrigger,
  Topics,
  encodeKeyedEvent,
  type EventTopic,
  type GetReportRequest,
  type ReportSchema,
  type ScanImageRequest,
  type ScanError,
  type ScanImageResponseSchema,
  type ScanServiceHandlers,
  type SeverityCounts,
} from '@strata/contracts';
import { forScan, type Logger } from '@strata/log';
import { InvalidReferenceError, isDigest, parseReference } from '@strata/oci';
import type { EventHub, ScanEvent } from './events.js';
import { findingsFilter } from './filters.js';
import type { GatewayMetrics } from './metrics.js';
import {
  ScanResultMissingError,
  artifactName,
  countFindings,
  hasFilters,
  isJsonFormat,
  loadReport,
  newestReport,
  type ReportRenderer,
  type StoredReport,
} from './reports.js';
import {
  blobScanRecords,
  isValidScanId,
  optionsRecord,
  reportKey,
  resultKey,
  type ScanOptionsRecord,
  type ScanRecord,
  type ScanRecordStore,
} from '@strata/scan-records';
import {
  AFFECTED_PAGE_MAX,
  AFFECTED_PAGE_SIZE,
  InvalidPageTokenError,
  NoAdvisoryDbError,
  type AffectedImagesPage,
  type AffectedImagesQuery,
  type AffectedImagesResponse,
} from './affected.js';
import { describeError } from '@strata/errors';
import { toScanError, toScanStatus, toSeverityCounts } from './scan-record.js';

export interface ScanServiceOptions {
  bus: EventBus;
  store: BlobStore;
  /** where scan records are read and written; default the blob store's `scans/` */
  records?: ScanRecordStore;
  hub: EventHub;
  logger: Logger;
  metrics?: GatewayMetrics;
  /** Longest ScanImage wait when the client set no (or a later) deadline. Default 15 min. */
  maxWaitMs?: number;
  /** How often a waiting ScanImage re-reads the scan record (the fallback to events). Default 1000 ms. */
  pollIntervalMs?: number;
  /** Renders report formats other than the stored JSON, and applies scan options; without it those are UNIMPLEMENTED. */
  renderReport?: ReportRenderer;
  /** Physical topic of a contract topic (STRATA_TOPIC_PREFIX). Default: the contract name. */
  topic?: (logical: EventTopic) => string;
  /** Largest number of bytes queued for one slow WatchFindings client before it is dropped. Default 8 MiB. */
  watchBufferBytes?: number;
  /** Answers ListAffectedImages (reverse index + advisory DB); without it the call is UNIMPLEMENTED. */
  affectedImages?: (query: AffectedImagesQuery, page?: AffectedImagesPage) => Promise<AffectedImagesResponse>;
  /**
   * How long ScanImage keeps retrying to publish a scan request while Kafka is unreachable before
   * it fails the scan (no new attempt starts after this; one already started may run on for the
   * bus client's own retries). Default 30 s.
   */
  publishWaitMs?: number;
}

export interface ScanServiceImpl {
  handlers: ScanServiceHandlers;
  /**
   * ScanImage (without wait) and GetReport for in-process callers (the web console): the same code
   * as the gRPC handlers. Failures are RpcError, carrying the gRPC status code.
   */
  direct: {
    submitScan(request: ScanImageRequest): Promise<{ scanId: string }>;
    getReport(request: GetReportRequest): Promise<MessageInitShape<typeof ReportSchema>>;
  };
  /** Ends every WatchFindings stream and every waiting ScanImage (UNAVAILABLE, naming the scan). */
  close(): void;
}

interface Completed {
  status: ScanStatus.COMPLETED;
  report: StoredReport;
  /** Key of the stored ScanResult every format renders from. */
  resultKey: string;
  counts: SeverityCounts;
}
type Outcome = Completed | { status: ScanStatus.FAILED; error: ScanError; manifestDigest: string };

type ScanImageCall = Parameters<ScanServiceHandlers['scanImage']>[0];
type GetReportCall = Parameters<ScanServiceHandlers['getReport']>[0];
type WatchFindingsCall = Parameters<ScanServiceHandlers['watchFindings']>[0];
type ListAffectedImagesCall = Parameters<ScanServiceHandlers['listAffectedImages']>[0];
type Served<T> = { ok: true; value: T; code: grpc.status } | { ok: false; code: grpc.status; status: Partial<grpc.StatusObject> & { code: grpc.status } };

export class RpcError extends Error {
  /** `scanId`: the accepted scan this error concerns, sent back in the trailers too. */
  constructor(
    readonly code: grpc.status,
    details: string,
    readonly scanId?: string,
  ) {
    super(details);
  }
}

function scanIdMetadata(scanId: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set(SCAN_ID_METADATA, scanId);
  return metadata;
}

function toStatus(error: unknown): Partial<grpc.StatusObject> & { code: grpc.status } {
  if (error instanceof RpcError) return { code: error.code, details: error.message, ...(error.scanId ? { metadata: scanIdMetadata(error.scanId) } : {}) };
  return { code: grpc.status.INTERNAL, details: describeError(error) };
}

function recordReportKey(record: ScanRecord): string | undefined {
  if (record.reportKey) return record.reportKey;
  if (record.manifestDigest && record.advisoryDbVersion) return reportKey(record.manifestDigest, record.advisoryDbVersion);
  return undefined;
}

function recordResultKey(record: ScanRecord, report: StoredReport): string {
  return record.resultKey ?? resultKey(report.manifestDigest, report.advisoryDbVersion);
}

/** Waits for a scan's outcome from its events, re-reading its record as a fallback. */
function awaitOutcome(options: ScanServiceOptions, scanId: string, signal: AbortSignal): Promise<Outcome> {
  const { store, hub } = options;
  const records = options.records ?? blobScanRecords(store);
  const logger = forScan(options.logger, scanId);
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  return new Promise<Outcome>((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const settle = (action: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      unsubscribe();
      signal.removeEventListener('abort', onAbort);
      action();
    };
    /** Settles with the stored report at `key`; false when it is not (yet) in the store. */
    const completeWith = async (key: string, result: string | undefined, counts: SeverityCounts | undefined): Promise<boolean> => {
      const report = await loadReport(store, key);
      if (!report || settled) return Boolean(report);
      settle(() =>
        resolve({
          status: ScanStatus.COMPLETED,
          report,
          resultKey: result || resultKey(report.manifestDigest, report.advisoryDbVersion),
          counts: counts ?? countFindings(report.json),
        }),
      );
      return true;
    };
    const onEvent = async (message: ScanEvent) => {
      if (message.kind === 'failed') {
        const { stage, code, reason, manifestDigest } = message.event;
        settle(() => resolve({ status: ScanStatus.FAILED, error: create(ScanErrorSchema, { stage, code, reason }), manifestDigest: manifestDigest ?? '' }));
        return;
      }
      const event = message.event;
      const key = event.report?.key || (event.advisoryDbVersion ? reportKey(event.manifestDigest, event.advisoryDbVersion) : '');
      const result = message.kind === 'completed' ? message.event.result?.key : undefined;
      if (key === '' || !(await completeWith(key, result, event.counts))) {
        logger.warn({ key, event: message.kind }, 'the event names a report that is not in the store; waiting for the scan record');
      }
    };
    const unsubscribe = hub.onScan(scanId, (message) => {
      onEvent(message).catch((error: unknown) => logger.warn({ err: error }, `could not load the report of a ${message.kind} event`));
    });
    const poll = async () => {
      try {
        const record = await records.read(scanId);
        if (settled) return;
        if (record?.status === 'FAILED') {
          settle(() => resolve({ status: ScanStatus.FAILED, error: toScanError(record), manifestDigest: record.manifestDigest ?? '' }));
          return;
        }
        if (record?.status === 'COMPLETED') {
          const key = recordReportKey(record);
          if (!key) throw new RpcError(grpc.status.INTERNAL, `scan ${scanId} completed but its record names no report`);
          if (await completeWith(key, record.resultKey, toSeverityCounts(record.counts))) return;
          throw new RpcError(grpc.status.INTERNAL, `scan ${scanId} completed but its report ${key} is missing from ${store.location}`);
        }
      } catch (error) {
        if (error instanceof RpcError) return settle(() => reject(error));
        logger.warn({ err: error }, 'could not read the scan record; retrying');
      }
      if (!settled) timer = setTimeout(() => void poll(), pollIntervalMs);
    };
    const onAbort = () => settle(() => reject(signal.reason));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort);
    timer = setTimeout(() => void poll(), pollIntervalMs);
  });
}

function deadlineMs(deadline: grpc.Deadline): number {
  if (deadline instanceof Date) return deadline.getTime();
  return Number.isFinite(deadline) ? deadline : Number.POSITIVE_INFINITY;
}

export function createScanService(options: ScanServiceOptions): ScanServiceImpl {
  const { bus, store, hub, metrics } = options;
  const records = options.records ?? blobScanRecords(store);
  const maxWaitMs = options.maxWaitMs ?? 15 * 60_000;
  const watchBufferBytes = options.watchBufferBytes ?? 8 * 1024 * 1024;
  const publishWaitMs = options.publishWaitMs ?? 30_000;
  const closing = new AbortController();
  // Every waiting ScanImage listens on it: hundreds may wait at once.
  setMaxListeners(0, closing.signal);
  const openStreams = new Set<() => void>();

  /**
   * Publishes a scan request, retrying while the bus is unreachable (a broker restart or outage)
   * for up to publishWaitMs; stops retrying when the gateway shuts down.
   */
  async function publishPatiently(topic: string, message: { key: string; value: Uint8Array; headers: Record<string, string> }, logger: Logger): Promise<void> {
    const giveUpAt = Date.now() + publishWaitMs;
    for (let attempt = 1; ; attempt++) {
      try {
        await bus.publish(topic, [message]);
        if (attempt > 1) logger.info({ attempt }, 'scan request published after retries');
        return;
      } catch (error) {
        const left = giveUpAt - Date.now();
        if (error instanceof BusClosedError || closing.signal.aborted || left <= 0) throw error;
        const delay = Math.min(left, 250 * 2 ** Math.min(attempt - 1, 4));
        logger.warn({ attempt, retryInMs: delay, err: describeError(error) }, 'could not publish the scan request; retrying');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, delay);
          function done() {
            clearTimeout(timer);
            closing.signal.removeEventListener('abort', done);
            resolve();
          }
          closing.signal.addEventListener('abort', done);
        });
      }
    }
  }

  /**
   * The one wrapper every ScanService call runs in: it times the call (a WatchFindings stream: its
   * whole life), counts it by its final gRPC code, logs unexpected errors, and turns what `work`
   * threw into the status the client gets. `work` resolves with its result and the code to count.
   */
  async function serve<T>(method: string, work: () => Promise<{ value: T; code: grpc.status }>): Promise<Served<T>> {
    const end = metrics?.duration.startTimer({ method });
    let served: Served<T>;
    try {
      served = { ok: true, ...(await work()) };
    } catch (error) {
      if (!(error instanceof RpcError)) options.logger.error({ err: describeError(error) }, `${method} failed`);
      const status = toStatus(error);
      served = { ok: false, code: status.code, status };
    }
    end?.();
    metrics?.requests.inc({ method, code: grpc.status[served.code] });
    return served;
  }

  const unary =
    <C, R>(method: string, work: (call: C) => Promise<R>) =>
    (call: C, callback: (error: Partial<grpc.StatusObject> | null, response?: R) => void): void => {
      void serve(method, async () => ({ value: await work(call), code: grpc.status.OK })).then((served) =>
        served.ok ? callback(null, served.value) : callback(served.status),
      );
    };

  const serverStream =
    <C extends { emit(event: 'error', status: Partial<grpc.StatusObject>): boolean }>(method: string, work: (call: C) => Promise<grpc.status>) =>
    (call: C): void => {
      void serve(method, async () => ({ value: undefined, code: await work(call) })).then((served) => {
        if (!served.ok) call.emit('error', served.status);
      });
    };

  /**
   * The report in `format` with the scan's options applied, rendered from the stored scan result
   * by the same @strata/report code as the embedded CLI. The stored JSON report is the fallback
   * for unfiltered JSON when there is no renderer or no stored result.
   */
  async function render(
    format: ReportFormat,
    report: StoredReport,
    result: string,
    scanOptions: ScanOptionsRecord | undefined,
    createdAt?: string,
  ): Promise<Uint8Array> {
    const storedWillDo = isJsonFormat(format) && !hasFilters(scanOptions);
    if (!options.renderReport) {
      if (storedWillDo) return report.json;
      throw new RpcError(grpc.status.UNIMPLEMENTED, 'this gateway has no report renderer: only the unfiltered JSON report is available');
    }
    let rendered;
    try {
      rendered = await options.renderReport({
        format,
        report,
        resultKey: result,
        ...(scanOptions ? { options: scanOptions } : {}),
        ...(createdAt ? { createdAt } : {}),
      });
    } catch (error) {
      if (error instanceof ScanResultMissingError && storedWillDo) return report.json;
      throw error;
    }
    return typeof rendered === 'string' ? Buffer.from(rendered, 'utf8') : rendered;
  }

  async function scanImage(call: ScanImageCall): Promise<MessageInitShape<typeof ScanImageResponseSchema>> {
    const request = call.request;
    const imageRef = request.imageRef.trim();
    let ref;
    try {
      ref = parseReference(imageRef);
    } catch (error) {
      const reason = error instanceof InvalidReferenceError ? error.message : describeError(error);
      throw new RpcError(grpc.status.INVALID_ARGUMENT, `invalid image reference ${JSON.stringify(request.imageRef)}: ${reason}`);
    }
    if (ref.kind !== 'registry') {
      throw new RpcError(
        grpc.status.INVALID_ARGUMENT,
        `image reference ${JSON.stringify(imageRef)} is a local ${ref.kind}; the gateway scans registry images only (scan local files with the embedded CLI)`,
      );
    }
    if (closing.signal.aborted) throw new RpcError(grpc.status.UNAVAILABLE, 'the gateway is shutting down');

    const scanId = randomUUID();
    const logger = forScan(options.logger, scanId);
    const now = new Date();
    const scanOptions = optionsRecord(request.options);

    // Listen before publishing: a fast pipeline (or a cached report) must not beat the waiter.
    const stopWaiting = new AbortController();
    const onCancel = () => stopWaiting.abort(new RpcError(grpc.status.CANCELLED, `client cancelled; scan ${scanId} keeps running`, scanId));
    const onClosing = () =>
      stopWaiting.abort(new RpcError(grpc.status.UNAVAILABLE, `the gateway is shutting down; scan ${scanId} keeps running, ask GetReport later`, scanId));
    const outcome = request.wait ? awaitOutcome(options, scanId, stopWaiting.signal) : undefined;
    outcome?.catch(() => undefined);
    let capTimer: NodeJS.Timeout | undefined;
    if (request.wait) {
      metrics?.waiting.inc();
      call.on('cancelled', onCancel);
      closing.signal.addEventListener('abort', onClosing);
      if (closing.signal.aborted) onClosing();
      const cap = Math.max(0, Math.min(maxWaitMs, deadlineMs(call.getDeadline()) - Date.now()));
      capTimer = setTimeout(
        () =>
          stopWaiting.abort(
            new RpcError(
              grpc.status.DEADLINE_EXCEEDED,
              `scan ${scanId} of ${imageRef} not finished after ${Math.round(cap / 1000)} s; it keeps running, ask GetReport later`,
              scanId,
            ),
          ),
        cap,
      );
    }
    try {
      try {
        const event = encodeKeyedEvent(Topics.scanRequested, {
          scanId,
          imageRef,
          ...(request.platform ? { platform: request.platform } : {}),
          ...(request.options ? { options: request.options } : {}),
          credentialsRef: request.credentialsRef,
          requestedAt: { seconds: BigInt(Math.floor(now.getTime() / 1000)), nanos: (now.getTime() % 1000) * 1_000_000 },
          traceId: scanId,
          trigger: ScanTrigger.API,
        });
        await publishPatiently(
          options.topic?.(event.topic) ?? event.topic,
          { key: event.key, value: event.value, headers: { [SCAN_ID_METADATA]: scanId } },
          logger,
        );
        metrics?.scansSubmitted.inc();
      } catch (error) {
        const why = closing.signal.aborted
          ? 'the gateway shut down before it could publish the scan request'
          : `could not publish the scan request within ${Math.round(publishWaitMs / 1000)} s`;
        const reason = `${why}: ${describeError(error)}`;
        logger.error({ imageRef, err: describeError(error) }, 'scan failed: its request could not be published');
        await records
          .advance(
            { scanId, imageRef, traceId: scanId },
            { status: 'FAILED', stage: 'SUBMIT', error: { stage: 'SUBMIT', code: 'UNAVAILABLE', reason }, options: scanOptions },
          )
          .catch((e: unknown) => logger.warn({ err: e }, 'could not record the failed submit'));
        throw new RpcError(grpc.status.UNAVAILABLE, `scan ${scanId} of ${imageRef} failed: ${reason}`, scanId);
      }
      // Recorded only once published: a gateway that dies in between leaves no record that nothing
      // would ever finish (the fetcher creates the record from the request, with its options, too).
      await records
        .advance({ scanId, imageRef, traceId: scanId }, { status: 'QUEUED', stage: 'SUBMIT', options: scanOptions })
        .catch((error: unknown) =>
          logger.warn({ err: describeError(error) }, `could not record the queued scan in ${records.location}; the pipeline records it`),
        );
      // The scan is accepted: tell the client its id now, so a dropped connection still leaves it
      // with the id to ask GetReport for.
      call.sendMetadata(scanIdMetadata(scanId));
      logger.info({ imageRef, wait: request.wait }, 'scan requested');
      if (!outcome) return { scanId, status: ScanStatus.QUEUED };

      const result = await outcome;
      if (result.status === ScanStatus.FAILED) {
        return { scanId, status: result.status, error: result.error, manifestDigest: result.manifestDigest };
      }
      return {
        scanId,
        status: result.status,
        report: await render(ReportFormat.JSON, result.report, result.resultKey, scanOptions),
        counts: result.counts,
        manifestDigest: result.report.manifestDigest,
        advisoryDbVersion: result.report.advisoryDbVersion,
      };
    } finally {
      stopWaiting.abort(new RpcError(grpc.status.CANCELLED, 'done'));
      clearTimeout(capTimer);
      if (request.wait) {
        metrics?.waiting.dec();
        call.removeListener('cancelled', onCancel);
        closing.signal.removeEventListener('abort', onClosing);
      }
    }
  }

  async function getReport(call: GetReportCall): Promise<MessageInitShape<typeof ReportSchema>> {
    const { selector, format } = call.request;
    const base = { format: isJsonFormat(format) ? ReportFormat.JSON : format };
    if (selector.case === 'scanId') {
      const scanId = selector.value;
      if (!isValidScanId(scanId)) throw new RpcError(grpc.status.INVALID_ARGUMENT, `invalid scan id ${JSON.stringify(scanId)}`);
      const record = await records.read(scanId);
      if (!record) throw new RpcError(grpc.status.NOT_FOUND, `no scan ${scanId} in ${records.location}`);
      const reply = {
        ...base,
        scanId,
        status: toScanStatus(record.status),
        imageRef: record.imageRef,
        manifestDigest: record.manifestDigest ?? '',
        advisoryDbVersion: record.advisoryDbVersion ?? '',
      };
      if (record.status === 'FAILED') return { ...reply, error: toScanError(record) };
      if (record.status !== 'COMPLETED') return reply;
      const key = recordReportKey(record);
      const report = key ? await loadReport(store, key) : undefined;
      if (!report)
        throw new RpcError(grpc.status.INTERNAL, `scan ${scanId} completed but its report ${key ?? '(none named)'} is missing from ${store.location}`);
      return {
        ...reply,
        manifestDigest: record.manifestDigest || report.manifestDigest,
        advisoryDbVersion: record.advisoryDbVersion || report.advisoryDbVersion,
        counts: toSeverityCounts(record.counts) ?? countFindings(report.json),
        content: await render(format, report, recordResultKey(record, report), record.options, record.updatedAt),
      };
    }
    if (selector.case === 'manifestDigest') {
      const digest = selector.value;
      if (!isDigest(digest))
        throw new RpcError(grpc.status.INVALID_ARGUMENT, `invalid manifest digest ${JSON.stringify(digest)}: expected sha256:<64 hex digits>`);
      const report = await newestReport(store, digest);
      if (!report) throw new RpcError(grpc.status.NOT_FOUND, `no report for manifest ${digest} in ${store.location}`);
      return {
        ...base,
        status: ScanStatus.COMPLETED,
        imageRef: artifactName(report.json),
        manifestDigest: report.manifestDigest,
        advisoryDbVersion: report.advisoryDbVersion,
        counts: countFindings(report.json),
        content: await render(format, report, resultKey(report.manifestDigest, report.advisoryDbVersion), undefined),
      };
    }
    throw new RpcError(grpc.status.INVALID_ARGUMENT, 'GetReport needs a scan_id or a manifest_digest');
  }

  /** Resolves with the code the stream ended with (OK when it ended, CANCELLED when the client left). */
  function watchFindings(call: WatchFindingsCall): Promise<grpc.status> {
    if (closing.signal.aborted) return Promise.reject(new RpcError(grpc.status.UNAVAILABLE, 'the gateway is shutting down'));
    const filter = findingsFilter(call.request);
    metrics?.watchStreams.inc();
    return new Promise<grpc.status>((resolve, reject) => {
      let open = true;
      const release = () => {
        if (!open) return false;
        open = false;
        unsubscribe();
        openStreams.delete(endStream);
        metrics?.watchStreams.dec();
        return true;
      };
      const endStream = () => {
        if (!release()) return;
        call.end();
        resolve(grpc.status.OK);
      };
      const unsubscribe = hub.onFindings((event) => {
        if (!open || !filter(event)) return;
        if (call.writableLength > watchBufferBytes) {
          if (release()) reject(new RpcError(grpc.status.RESOURCE_EXHAUSTED, `client too slow: more than ${watchBufferBytes} bytes of findings events queued`));
          return;
        }
        call.write(event);
      });
      openStreams.add(endStream);
      const left = (code: grpc.status) => () => {
        if (release()) resolve(code);
      };
      call.on('cancelled', left(grpc.status.CANCELLED));
      call.on('error', left(grpc.status.CANCELLED));
      call.on('close', left(grpc.status.OK));
    });
  }

  async function listAffectedImages(call: ListAffectedImagesCall): Promise<MessageInitShape<typeof ListAffectedImagesResponseSchema>> {
    const { affectedImages } = options;
    if (!affectedImages) throw new RpcError(grpc.status.UNIMPLEMENTED, 'this gateway was started without the reverse index');
    const q = call.request.query;
    let query: AffectedImagesQuery;
    if (q.case === 'advisoryId' && q.value.trim() !== '') query = { advisoryId: q.value };
    else if (q.case === 'package' && q.value.ecosystem !== '' && q.value.name !== '')
      query = { ecosystem: q.value.ecosystem.toLowerCase(), name: q.value.name };
    else throw new RpcError(grpc.status.INVALID_ARGUMENT, 'give an advisory_id, or a package with its ecosystem (e.g. "debian:12", "npm") and name');
    const { pageSize, pageToken } = call.request;
    if (pageSize < 0 || pageSize > AFFECTED_PAGE_MAX)
      throw new RpcError(grpc.status.INVALID_ARGUMENT, `page_size must be 0 (the default, ${AFFECTED_PAGE_SIZE}) to ${AFFECTED_PAGE_MAX}`);
    if (pageToken.length > 256) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'page_token is longer than any the server gives');
    try {
      return create(ListAffectedImagesResponseSchema, await affectedImages(query, { pageSize, pageToken }));
    } catch (error) {
      if (error instanceof NoAdvisoryDbError) throw new RpcError(grpc.status.FAILED_PRECONDITION, error.message);
      if (error instanceof InvalidPageTokenError) throw new RpcError(grpc.status.INVALID_ARGUMENT, error.message);
      options.logger.error({ err: describeError(error) }, 'ListAffectedImages failed');
      throw new RpcError(grpc.status.UNAVAILABLE, `could not read the image catalog: ${describeError(error)}`);
    }
  }

  const handlers: ScanServiceHandlers = {
    scanImage: unary('ScanImage', scanImage),
    getReport: unary('GetReport', getReport),
    watchFindings: serverStream('WatchFindings', watchFindings),
    listAffectedImages: unary('ListAffectedImages', listAffectedImages),
  };

  return {
    handlers,
    direct: {
      async submitScan(request) {
        if (request.wait) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'submitScan does not wait');
        const shim = { request, sendMetadata: () => undefined } as unknown as ScanImageCall;
        return { scanId: (await scanImage(shim)).scanId ?? '' };
      },
      getReport: (request) => getReport({ request } as unknown as GetReportCall),
    },
    close() {
      closing.abort();
      for (const end of [...openStreams]) end();
    },
  };
}
