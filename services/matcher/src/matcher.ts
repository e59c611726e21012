// The matcher: matches an image inventory against the advisory index (the embedded scan's
// matchImage), stores the ScanResult and the JSON report under (manifest digest, advisory DB
// version), publishes findings once per (manifest digest, DB version) — a replay or a rescan of an
// unchanged image finds the marker and publishes none; a crash mid-publish re-sends the identical
// event — then completes the scan record.
import { advisoryIndexSource, type OpenIndexResult } from '@strata/advisories';
import type { DeliveredMessage } from '@strata/bus';
import { getJson, putJson } from '@strata/blobstore';
import { encodeKeyedEvent, FindingsKind, Topics, type EventOf } from '@strata/contracts';
import type { HandlerOutcome, RunningService } from '@strata/service-runtime';
import { ReverseIndex, summarizeFindings, type IndexedImage } from '@strata/reverse-index';
import { openFindingsDb, type FindingsDb } from '@strata/findings-db';
import { severityCounts, type ImageInventory, type SeverityCounts } from '@strata/model';
import { matchImage, type ScanResult } from '@strata/pipeline';
import { describeError } from '@strata/errors';
import { blobStoreCatalog, findingsDbCatalog, rebuildReverseIndex, type FindingsCatalog } from './catalog.js';
import { findingsMarkerKey, readImageRecord, reportKey, resultKey, type ScanRecord } from '@strata/scan-records';
import { handleAdvisoriesUpdated, publishAdvisoryUpdate, type RematchState } from './rematch.js';
import { DbRematcher } from './rematch-db.js';
import { protoCounts } from './summary.js';
import { renderJsonReport } from './report.js';
import type { MatcherConfig } from './settings.js';
import { advisoryLimitsOf, blobRef, now, runStage, scanLogger, StageError, startStageService, timed } from '@strata/stage-runtime';
import type { ScanIdentity, StageContext, StartOptions } from '@strata/stage-runtime';

interface FindingsMarker {
  scanId: string;
  imageRef: string;
  reportKey: string;
  counts: SeverityCounts;
  publishedAt: string;
  /**
   * Present from before the publish until after it: the event's exact key and bytes (base64). A
   * matcher that died in between finds it and sends the very same event again, so the only
   * duplicate a consumer can see is an identical copy (docs/distributed.md, delivery guarantees).
   */
  pending?: { key: string; value: string };
}

/**
 * Publishes the FULL findings event of (manifest digest, DB version) unless the marker says it was
 * published. The marker is created (create-only) holding the encoded event before the publish and
 * cleared of it after; a crash in between leaves it pending, and the next delivery re-sends those
 * same bytes. Returns whether this call published.
 */
async function publishFullFindingsOnce(
  ctx: StageContext,
  scan: ScanIdentity,
  markerKey: string,
  fresh: () => Omit<FindingsMarker, 'pending'> & { event: { key: string; value: Uint8Array } },
): Promise<boolean> {
  const { store } = ctx.runtime;
  let marker = await getJson<FindingsMarker>(store, markerKey);
  if (!marker) {
    const { event, ...rest } = fresh();
    const pending: FindingsMarker = { ...rest, pending: { key: event.key, value: Buffer.from(event.value).toString('base64') } };
    // Losing the create means another matcher is publishing it: follow its marker.
    marker = (await store.putObjectIfMatch(markerKey, JSON.stringify(pending), null)) !== undefined ? pending : await getJson<FindingsMarker>(store, markerKey);
  }
  if (!marker?.pending) return false;
  await ctx.runtime.bus.publish(ctx.runtime.topic(Topics.findings), [
    { key: marker.pending.key, value: Buffer.from(marker.pending.value, 'base64'), headers: { 'strata-scan-id': marker.scanId } },
  ]);
  await ctx.testPoint?.('matcher.findings-published', scan.scanId);
  const { pending: _sent, ...published } = marker;
  await putJson(store, markerKey, published);
  return true;
}

async function publishCompleted(ctx: StageContext, scan: ScanIdentity, record: ScanRecord): Promise<void> {
  await ctx.runtime.publish(Topics.scanCompleted, {
    scanId: scan.scanId,
    imageRef: record.imageRef,
    manifestDigest: record.manifestDigest ?? '',
    ...(record.indexDigest ? { indexDigest: record.indexDigest } : {}),
    ...(record.platform ? { platform: { os: record.platform.os, architecture: record.platform.architecture, variant: record.platform.variant ?? '' } } : {}),
    advisoryDbVersion: record.advisoryDbVersion ?? '',
    ...(record.counts ? { counts: protoCounts(record.counts) } : {}),
    ...(record.reportKey ? { report: blobRef(ctx, record.reportKey, { mediaType: 'application/json' }) } : {}),
    ...(record.resultKey ? { result: blobRef(ctx, record.resultKey, { mediaType: 'application/json' }) } : {}),
    findingsPublished: record.findingsPublished ?? false,
    completedAt: now(),
    traceId: scan.traceId,
  });
}

/** The image as the catalog files it, from the inventory event. */
function imageOf(event: EventOf<typeof Topics.imageInventory>): IndexedImage {
  return {
    manifestDigest: event.manifestDigest,
    imageRef: event.imageRef,
    inventoryKey: event.inventory?.key ?? '',
    ...(event.indexDigest ? { indexDigest: event.indexDigest } : {}),
    ...(event.platform
      ? {
          platform: {
            os: event.platform.os,
            architecture: event.platform.architecture,
            ...(event.platform.variant ? { variant: event.platform.variant } : {}),
          },
        }
      : {}),
  };
}

async function handleImageInventory(
  ctx: StageContext,
  indexSource: () => Promise<OpenIndexResult>,
  catalog: FindingsCatalog,
  event: EventOf<typeof Topics.imageInventory>,
  message: DeliveredMessage,
): Promise<HandlerOutcome> {
  const { store } = ctx.runtime;
  const seen = { service: ctx.service, stage: 'match', scanId: event.scanId, manifestDigest: event.manifestDigest };
  return runStage(ctx, message, event, 'MATCH', async (scan) => {
    const record = await ctx.records.read(scan.scanId);
    if (record?.status === 'FAILED') {
      ctx.observe({ ...seen, outcome: 'skipped' });
      return 'skipped';
    }
    if (record?.status === 'COMPLETED') {
      // Redelivered: the results stand; waiters may still need the completion event.
      await publishCompleted(ctx, scan, record);
      ctx.observe({ ...seen, outcome: 'duplicate', detail: { findingsPublished: false } });
      return 'skipped';
    }
    const { index, warnings: indexWarnings } = await timed(ctx, 'advisories', indexSource);
    const dbVersion = index.version;
    const keys = { report: reportKey(event.manifestDigest, dbVersion), result: resultKey(event.manifestDigest, dbVersion) };

    const inventoryKey = event.inventory?.key ?? '';
    let loaded: ImageInventory | undefined;
    const loadInventory = async (): Promise<ImageInventory> => {
      loaded ??= inventoryKey ? await getJson<ImageInventory>(store, inventoryKey) : undefined;
      if (!loaded)
        throw new StageError(
          'INTERNAL',
          `image inventory ${inventoryKey || '(no key in the event)'} of ${event.manifestDigest} is missing from ${store.location}`,
        );
      return loaded;
    };
    let result = await getJson<ScanResult>(store, keys.result);
    if (!result) {
      const image = await readImageRecord(store, event.manifestDigest);
      if (!image) throw new StageError('INTERNAL', `image record of ${event.manifestDigest} (${event.imageRef}) is missing from ${store.location}`);
      const inventory = await loadInventory();
      const total = record?.layers?.total ?? image.layers.length;
      const cached = record?.layers?.cached ?? 0;
      result = await timed(ctx, 'match', async () =>
        matchImage({
          artifactName: scan.imageRef,
          metadata: {
            ...image.metadata,
            reference: scan.imageRef,
            repoTags: record?.repoTags ?? image.metadata.repoTags,
            repoDigests: record?.repoDigests ?? image.metadata.repoDigests,
          },
          inventory,
          index,
          indexWarnings,
          layersAnalyzed: total - cached,
          layersCached: cached,
        }),
      );
      await putJson(store, keys.result, result);
    }
    if (!(await store.exists(keys.report))) await store.putObject(keys.report, renderJsonReport(result));

    const scanned = result;
    await catalog.fileScan(imageOf(event), dbVersion, (inventory) => summarizeFindings(scanned.findings, inventory.os), loadInventory);

    const counts = severityCounts(result.findings);
    const markerKey = findingsMarkerKey(event.manifestDigest, dbVersion);
    const published = await publishFullFindingsOnce(ctx, scan, markerKey, () => ({
      scanId: scan.scanId,
      imageRef: scan.imageRef,
      reportKey: keys.report,
      counts,
      publishedAt: new Date().toISOString(),
      event: encodeKeyedEvent(Topics.findings, {
        scanId: scan.scanId,
        imageRef: scan.imageRef,
        manifestDigest: event.manifestDigest,
        ...(event.indexDigest ? { indexDigest: event.indexDigest } : {}),
        ...(event.platform ? { platform: event.platform } : {}),
        advisoryDbVersion: dbVersion,
        counts: protoCounts(counts),
        report: blobRef(ctx, keys.report, { mediaType: 'application/json' }),
        kind: FindingsKind.FULL,
        publishedAt: now(),
        traceId: scan.traceId,
      }),
    }));
    const { record: done } = await ctx.records.advance(scan, {
      status: 'COMPLETED',
      stage: 'MATCH',
      manifestDigest: event.manifestDigest,
      advisoryDbVersion: dbVersion,
      reportKey: keys.report,
      resultKey: keys.result,
      counts,
      findingsPublished: published,
    });
    await publishCompleted(ctx, scan, done);
    scanLogger(ctx, scan).info(
      { manifestDigest: event.manifestDigest, advisoryDbVersion: dbVersion, findings: result.findings.length, findingsPublished: published },
      'scan completed',
    );
    ctx.observe({ ...seen, outcome: published ? 'published' : 'duplicate', detail: { findingsPublished: published, counts } });
    return 'ok';
  });
}

export function startMatcher(config: MatcherConfig, options: StartOptions = {}): Promise<RunningService> {
  return startStageService('matcher', config, options, async (ctx) => {
    const indexSource = advisoryIndexSource(config.STRATA_DB, config.STRATA_CACHE_DIR, config.STRATA_DB_RECHECK_MS, advisoryLimitsOf(config));
    const log = ctx.runtime.logger;
    // Opened up front: a missing or empty DB stops the service at start, not each scan.
    const opened = await indexSource();
    log.info({ dbDir: config.STRATA_DB, advisoryDbVersion: opened.index.version, rebuilt: opened.rebuilt }, 'advisory index open');

    // The findings DB when configured: nothing to rebuild, any number of replicas. Else the
    // blob-store catalog and its in-memory reverse index, rebuilt here.
    let db: FindingsDb | undefined;
    let catalog: FindingsCatalog;
    if (config.STRATA_PG_URL) {
      db = await openFindingsDb({
        url: config.STRATA_PG_URL,
        logger: log,
        maxConnections: config.STRATA_REMATCH_WORKERS * 2 + 4,
        applicationName: 'strata-matcher',
      });
      log.info({ schemaVersion: db.migration.version }, 'findings DB open');
      catalog = findingsDbCatalog(db);
    } else {
      const reverse = new ReverseIndex();
      await rebuildReverseIndex(ctx.runtime.store, reverse, log);
      catalog = blobStoreCatalog(ctx.runtime.store, reverse, log);
    }

    await ctx.runtime.consume({
      group: 'strata-matcher',
      topic: Topics.imageInventory,
      handler: (event, message) => handleImageInventory(ctx, indexSource, catalog, event, message),
    });
    const freshIndex = () => indexSource(true);
    // With the findings DB, every replica works on the planned re-match batches.
    const rematcher = db
      ? new DbRematcher(ctx, {
          db,
          index: () => indexSource(),
          freshIndex,
          batchImages: config.STRATA_REMATCH_BATCH_IMAGES,
          leaseMs: config.STRATA_REMATCH_LEASE_MS,
          pollMs: config.STRATA_REMATCH_POLL_MS,
          workers: config.STRATA_REMATCH_WORKERS,
        })
      : undefined;
    rematcher?.start();
    const rematch: RematchState = { catalog, freshIndex, concurrency: config.STRATA_REMATCH_CONCURRENCY, ...(rematcher ? { rematcher } : {}) };
    await ctx.runtime.consume({
      group: 'strata-matcher-rematch',
      topic: Topics.advisoriesUpdated,
      concurrency: 1,
      handler: (event) => handleAdvisoriesUpdated(ctx, rematch, event),
    });

    // The advisory folder is watched here: a new version is published once, then re-matched.
    let checking: Promise<unknown> = Promise.resolve();
    const check = () => {
      checking = checking
        .then(() => indexSource())
        .then(({ index }) => publishAdvisoryUpdate(ctx, index))
        .catch((error: unknown) => log.warn({ err: describeError(error) }, 'advisory folder check failed; trying again at the next interval'));
      return checking;
    };
    await check();
    const timer = setInterval(check, Math.max(config.STRATA_DB_RECHECK_MS, 250));
    timer.unref();
    return async () => {
      clearInterval(timer);
      await checking;
      await rematcher?.stop();
      await db?.close();
    };
  });
}
