// Blob housekeeping: the sweeper deletes layer blobs (`sha256:…`) and layer results
// (`layers/<cacheKey>.json`) that no scan has referenced for STRATA_SWEEP_GRACE_MS. It runs in the
// fetcher (the stage that writes blobs) when the fetcher has the findings DB, which holds the
// references: the fetcher touches every key of an image before it checks or uses any of them, and
// the sweeper deletes a key only while it holds the key's row locked (docs/distributed.md, "Blob
// housekeeping"). Any number of fetchers may sweep at once: each locks only rows nobody holds.
import { adoptBlobs, blobRefCounts, sweepStaleBatch, type BlobKind, type BlobReference, type FindingsDb } from '@strata/findings-db';
import { describeError } from '@strata/errors';
import { forEachLimited } from '@strata/model';
import type { Runtime } from '@strata/service-runtime';
import { Counter, Gauge } from 'prom-client';

export interface SweepOptions {
  /** a key last referenced longer ago than this is deleted */
  graceMs: number;
  /** a QUEUED/RUNNING scan updated within this keeps every key of its image */
  openScanMaxAgeMs: number;
  /** keys per transaction */
  batch: number;
  /**
   * Test hook only (never set from configuration): runs while a batch's rows are locked and before
   * its objects are deleted, to widen the window a scan could slip into.
   */
  beforeRemove?: (refs: readonly BlobReference[]) => Promise<void>;
}

export interface SweepReport {
  /** keys found in the store that no scan had touched, filed as referenced now */
  adopted: number;
  /** keys deleted, by kind */
  deleted: Record<BlobKind, number>;
  /** the keys deleted */
  keys: string[];
  /** keys still tracked after the sweep, by kind */
  kept: Record<BlobKind, number>;
  durationMs: number;
}

const PREFIXES: Array<[string, BlobKind]> = [
  ['sha256:', 'blob'],
  ['layers/', 'layer-result'],
];

interface SweeperMetrics {
  deleted: Counter<'kind'>;
  runs: Counter<'outcome'>;
  tracked: Gauge<'kind'>;
}

const metricsByRegistry = new WeakMap<object, SweeperMetrics>();

/** What a sweep needs of a service's runtime: the blob store, metrics and logger. */
export type SweepRuntime = Pick<Runtime, 'store' | 'metrics' | 'logger'>;

function sweeperMetrics(runtime: SweepRuntime): SweeperMetrics {
  const registry = runtime.metrics.registry;
  let metrics = metricsByRegistry.get(registry);
  if (!metrics) {
    const registers = [registry];
    metrics = {
      deleted: new Counter({
        name: 'strata_sweeper_deleted_total',
        help: 'layer blobs and layer results the sweeper deleted, by kind (blob, layer-result)',
        labelNames: ['kind'],
        registers,
      }),
      runs: new Counter({ name: 'strata_sweeper_runs_total', help: 'sweeps, by outcome (ok, failed)', labelNames: ['outcome'], registers }),
      tracked: new Gauge({
        name: 'strata_sweeper_tracked_keys',
        help: 'blob-store keys with a reference row after the last sweep, by kind',
        labelNames: ['kind'],
        registers,
      }),
    };
    metricsByRegistry.set(registry, metrics);
  }
  return metrics;
}

/** One sweep: adopt untracked keys, then delete every stale one, batch by batch. */
export async function sweepOnce(runtime: SweepRuntime, db: FindingsDb, options: SweepOptions): Promise<SweepReport> {
  const started = Date.now();
  const { store } = runtime;
  const metrics = sweeperMetrics(runtime);
  let adopted = 0;
  for (const [prefix, kind] of PREFIXES) {
    let pending: BlobReference[] = [];
    for await (const key of store.list(prefix)) {
      if (kind === 'layer-result' && !key.endsWith('.json')) continue;
      pending.push({ key, kind });
      if (pending.length >= 1000) {
        adopted += await adoptBlobs(db, pending);
        pending = [];
      }
    }
    adopted += await adoptBlobs(db, pending);
  }
  const deleted: Record<BlobKind, number> = { blob: 0, 'layer-result': 0 };
  const keys: string[] = [];
  for (;;) {
    const removed = await sweepStaleBatch(db, {
      graceMs: options.graceMs,
      openScanMaxAgeMs: options.openScanMaxAgeMs,
      batch: options.batch,
      remove: async (refs) => {
        await options.beforeRemove?.(refs);
        await forEachLimited([...refs], 8, (ref) => store.delete(ref.key));
      },
    });
    if (removed.length > 0) runtime.logger.debug({ component: 'sweeper', keys: removed.map((r) => r.key) }, 'swept');
    for (const ref of removed) {
      deleted[ref.kind]++;
      keys.push(ref.key);
      metrics.deleted.inc({ kind: ref.kind });
    }
    if (removed.length < options.batch) break;
  }
  const kept = await blobRefCounts(db);
  for (const [kind, n] of Object.entries(kept)) metrics.tracked.set({ kind }, n);
  return { adopted, deleted, keys, kept, durationMs: Date.now() - started };
}

/** Sweeps every `intervalMs` (the first one after one interval); returns the stop function. */
export function startSweeper(runtime: SweepRuntime, db: FindingsDb, intervalMs: number, options: SweepOptions): () => Promise<void> {
  const log = runtime.logger.child({ component: 'sweeper' });
  const metrics = sweeperMetrics(runtime);
  let running: Promise<unknown> = Promise.resolve();
  const sweep = () => {
    running = running.then(async () => {
      try {
        const report = await sweepOnce(runtime, db, options);
        metrics.runs.inc({ outcome: 'ok' });
        log.info(
          { adopted: report.adopted, deleted: report.deleted, kept: report.kept, durationMs: report.durationMs, graceMs: options.graceMs },
          'sweep done',
        );
      } catch (error) {
        metrics.runs.inc({ outcome: 'failed' });
        log.warn({ err: describeError(error) }, 'sweep failed; the next one tries again');
      }
    });
  };
  const timer = setInterval(sweep, intervalMs);
  timer.unref();
  log.info({ intervalMs, graceMs: options.graceMs, openScanMaxAgeMs: options.openScanMaxAgeMs }, 'sweeper on');
  return async () => {
    clearInterval(timer);
    await running;
  };
}
