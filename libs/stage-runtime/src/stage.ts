// What every distributed stage shares: the context it runs in, the observer tests and benchmarks
// hook into, and the one way a stage fails a scan (FAILED record + scan.failed event).
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { DeliveredMessage } from '@strata/bus';
import { FailureCode, ScanStage, Topics, type BlobRef } from '@strata/contracts';
import { forScan, type Logger } from '@strata/log';
import type { HandlerOutcome, Runtime } from '@strata/service-runtime';
import { describeError } from '@strata/errors';
import { layerResultKey } from '@strata/pipeline';
import type { FindingsDb } from '@strata/findings-db';
import type { FailureCodeName, ScanError, ScanRecordStore, StageName } from '@strata/scan-records';
import { classifyError } from './failures.js';

/**
 * What a handler did with one event:
 * - every stage: `ok` (done), `skipped` (nothing to do: a terminal scan, a replay), `failed_scan` /
 *   `failed` (the scan was failed with its reason);
 * - fetcher: `fetched`, `cached` (result already stored), `blob_present` (blob already in the store);
 * - analyzer: `analyzed`; merger: `waiting` (layers still missing), `merged`;
 * - matcher: `published` (findings sent), `duplicate` (already published for this digest and DB),
 *   `unchanged` (a re-match that changed nothing);
 * - watcher: `requested` (a scan), `pass` (a registry pass ended), `registry_failed`.
 */
export type StageOutcome =
  | 'ok'
  | 'skipped'
  | 'failed_scan'
  | 'failed'
  | 'fetched'
  | 'cached'
  | 'blob_present'
  | 'analyzed'
  | 'waiting'
  | 'merged'
  | 'published'
  | 'duplicate'
  | 'unchanged'
  | 'requested'
  | 'pass'
  | 'registry_failed';

/** What a handler did, for tests and benchmarks (the same facts the metrics count). */
export interface StageEvent {
  service: string;
  /** e.g. "resolve", "fetch", "analyze", "merge", "match" */
  stage: string;
  scanId: string;
  outcome: StageOutcome;
  manifestDigest?: string;
  diffId?: string;
  layerDigest?: string;
  detail?: Record<string, unknown>;
}

export type StageObserver = (event: StageEvent) => void;

/**
 * Named points in the stages where a test pauses or crashes a service. Only tests set the hook:
 * in-process through StartOptions.testPoint, or in a child process through the test entry
 * testing/service-main.ts (STRATA_TEST_CRASH_POINT). The services' own main.ts never set it, so
 * no production configuration can reach it.
 */
export type TestPoint =
  /** the merger has published image.inventory (the scan record was written before) */
  | 'merger.inventory-published'
  /** the matcher has published a FULL findings event and not yet marked it published */
  | 'matcher.findings-published'
  /** a matcher has claimed a re-match batch (findings DB) and not yet read anything for it; the id is "<update>/<batch>" */
  | 'matcher.rematch-batch-claimed';
/** `scanId`: the scan at that point (the re-match batch for matcher.rematch-batch-claimed) */
export type TestPointHook = (point: TestPoint, scanId: string) => Promise<void>;

export interface StageContext {
  runtime: Runtime;
  service: string;
  /** where scan records are kept: the findings DB with STRATA_PG_URL, else the blob store */
  records: ScanRecordStore;
  /** the findings DB, when the service has STRATA_PG_URL */
  findingsDb?: FindingsDb;
  observe: StageObserver;
  testPoint?: TestPointHook;
}

export interface ScanIdentity {
  scanId: string;
  imageRef: string;
  traceId: string;
  manifestDigest?: string;
}

/** The scan an event belongs to: every stage event carries these fields. */
export function scanOf(event: { scanId: string; imageRef: string; traceId: string; manifestDigest?: string }): ScanIdentity {
  return {
    scanId: event.scanId,
    imageRef: event.imageRef,
    traceId: event.traceId,
    ...(event.manifestDigest !== undefined ? { manifestDigest: event.manifestDigest } : {}),
  };
}

/** Whether the scan already FAILED, so work on its event is skipped (observed as `skipped`). */
export async function scanAlreadyFailed(ctx: StageContext, seen: Omit<StageEvent, 'outcome'>): Promise<boolean> {
  const record = await ctx.records.read(seen.scanId);
  if (record?.status !== 'FAILED') return false;
  ctx.observe({ ...seen, outcome: 'skipped' });
  return true;
}

export function scanLogger(ctx: StageContext, scan: ScanIdentity): Logger {
  return forScan(ctx.runtime.logger, scan.scanId, scan.traceId || undefined);
}

export function blobRef(ctx: StageContext, key: string, extra: { digest?: string; size?: number; mediaType?: string } = {}): BlobRef {
  return {
    $typeName: 'strata.v1.BlobRef',
    bucket: ctx.runtime.bucket,
    key,
    digest: extra.digest ?? '',
    size: BigInt(extra.size ?? 0),
    mediaType: extra.mediaType ?? '',
  };
}

export const now = () => timestampFromDate(new Date());

/** Times a piece of stage work into strata_stage_duration_seconds{stage}. */
export async function timed<T>(ctx: StageContext, stage: string, work: () => Promise<T>): Promise<T> {
  const end = ctx.runtime.metrics.stageSeconds.startTimer({ stage });
  try {
    return await work();
  } finally {
    end();
  }
}

export async function failScan(ctx: StageContext, scan: ScanIdentity, error: ScanError): Promise<void> {
  const log = scanLogger(ctx, scan);
  ctx.runtime.metrics.failures.inc({ stage: error.stage, code: error.code });
  log.warn({ stage: error.stage, code: error.code, reason: error.reason, layerDigest: error.layerDigest }, 'scan failed');
  try {
    await ctx.records.advance(scan, {
      status: 'FAILED',
      stage: error.stage,
      error,
      ...(scan.manifestDigest ? { manifestDigest: scan.manifestDigest } : {}),
    });
  } catch (recordError) {
    // The store itself may be what failed: the event below still tells every waiter.
    log.error({ err: describeError(recordError) }, 'could not write the FAILED scan record');
  }
  await ctx.runtime.publish(
    Topics.scanFailed,
    {
      scanId: scan.scanId,
      imageRef: scan.imageRef,
      stage: ScanStage[error.stage],
      code: FailureCode[error.code],
      reason: error.reason,
      ...(scan.manifestDigest ? { manifestDigest: scan.manifestDigest } : {}),
      ...(error.layerDigest ? { layerDigest: error.layerDigest } : {}),
      failedAt: now(),
      traceId: scan.traceId,
    },
    { 'strata-scan-id': scan.scanId },
  );
  ctx.observe({ service: ctx.service, stage: error.stage.toLowerCase(), scanId: scan.scanId, outcome: 'failed_scan', detail: { ...error } });
}

/**
 * Runs a stage's work for one message of a scan (`event` names it: see scanOf). A transient failure
 * (registry or store away) is thrown back to the bus, which retries the message with backoff; on
 * the last attempt, and for any other failure, the scan is failed with its reason and the message
 * is done: nothing is stuck. What the work learns about the scan (its manifest digest) it sets on
 * `scan`, so a failure reports it.
 */
export async function runStage(
  ctx: StageContext,
  message: DeliveredMessage,
  event: Parameters<typeof scanOf>[0],
  stage: StageName,
  work: (scan: ScanIdentity) => Promise<HandlerOutcome>,
  layerDigest?: string,
): Promise<HandlerOutcome> {
  const scan = scanOf(event);
  try {
    return await work(scan);
  } catch (error) {
    const { code, transient } = classifyError(error);
    if (transient && message.attempt < ctx.runtime.maxAttempts) {
      scanLogger(ctx, scan).warn(
        { stage, attempt: message.attempt, maxAttempts: ctx.runtime.maxAttempts, err: describeError(error) },
        'transient failure: the message will be retried',
      );
      throw error;
    }
    const failure: ScanError = { stage, code: code as FailureCodeName, reason: describeError(error) };
    if (layerDigest) failure.layerDigest = layerDigest;
    if (transient) failure.reason = `${failure.reason} (gave up after ${message.attempt} attempts)`;
    await failScan(ctx, scan, failure);
    return 'failed_scan';
  }
}

/** Announces a layer whose result is stored (analyzed now, or found in the cache). */
export async function publishLayerAnalyzed(
  ctx: StageContext,
  scan: ScanIdentity,
  layer: {
    layerDigest: string;
    diffId: string;
    cacheKey: string;
    layerIndex: number;
    analyzerSetVersion: string;
    fromCache: boolean;
    packageCount?: number;
    warningCount?: number;
  },
): Promise<void> {
  await ctx.runtime.publish(Topics.layerAnalyzed, {
    scanId: scan.scanId,
    imageRef: scan.imageRef,
    manifestDigest: scan.manifestDigest ?? '',
    layerDigest: layer.layerDigest,
    diffId: layer.diffId,
    cacheKey: layer.cacheKey,
    analyzerSetVersion: layer.analyzerSetVersion,
    inventory: blobRef(ctx, layerResultKey(layer.cacheKey)),
    packageCount: layer.packageCount ?? 0,
    warningCount: layer.warningCount ?? 0,
    fromCache: layer.fromCache,
    layerIndex: layer.layerIndex,
    analyzedAt: now(),
    traceId: scan.traceId,
  });
}

/** The fields of a per-layer event (layer.fetch.requested, layer.fetched) that the layer stages read. */
export interface LayerEvent {
  scanId: string;
  imageRef: string;
  traceId: string;
  manifestDigest: string;
  layerDigest: string;
  diffId: string;
  cacheKey: string;
  layerIndex: number;
  analyzerSetVersion: string;
}

/** What a layer stage's work gets: the scan, the layer as layer.analyzed announces it, and the observed fields. */
export interface LayerWork {
  scan: ScanIdentity;
  layer: { layerDigest: string; diffId: string; cacheKey: string; layerIndex: number; analyzerSetVersion: string };
  seen: Omit<StageEvent, 'outcome'>;
}

/**
 * Whether a layer counts as cached: its result **and** its blob are stored. The merger reads linked
 * package DBs from the blob, and the sweeper deletes blobs and results in separate batches, so a
 * result can outlive its blob; such a layer's blob is fetched again.
 */
export async function layerCached(store: Runtime['store'], cacheKey: string, layerDigest: string): Promise<boolean> {
  return (await store.exists(layerResultKey(cacheKey))) && (await store.exists(layerDigest));
}

const LAYER_STAGES = { fetch: 'FETCH', analyze: 'ANALYZE' } as const satisfies Record<string, StageName>;

/**
 * Runs a per-layer stage (fetch, analyze) for one message, through runStage: work on a FAILED scan is
 * skipped, and a layer whose result is already stored (another image shares it) is announced as
 * cached instead of done again. `check` runs first (after the FAILED check): a StageError it throws
 * fails the scan.
 */
export async function runLayerStage(
  ctx: StageContext,
  message: DeliveredMessage,
  event: LayerEvent,
  stage: keyof typeof LAYER_STAGES,
  work: (w: LayerWork) => Promise<HandlerOutcome>,
  check?: () => void,
): Promise<HandlerOutcome> {
  const seen = {
    service: ctx.service,
    stage,
    scanId: event.scanId,
    manifestDigest: event.manifestDigest,
    diffId: event.diffId,
    layerDigest: event.layerDigest,
  };
  return runStage(
    ctx,
    message,
    event,
    LAYER_STAGES[stage],
    async (scan) => {
      if (await scanAlreadyFailed(ctx, seen)) return 'skipped';
      check?.();
      const layer = {
        layerDigest: event.layerDigest,
        diffId: event.diffId,
        cacheKey: event.cacheKey,
        layerIndex: event.layerIndex,
        analyzerSetVersion: event.analyzerSetVersion,
      };
      if (await layerCached(ctx.runtime.store, event.cacheKey, event.layerDigest)) {
        ctx.runtime.metrics.layerCacheHits.inc({ stage });
        await publishLayerAnalyzed(ctx, scan, { ...layer, fromCache: true });
        ctx.observe({ ...seen, outcome: 'cached' });
        return 'ok';
      }
      return work({ scan, layer, seen });
    },
    event.layerDigest,
  );
}
