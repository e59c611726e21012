// The merger: stateless. On each layer.analyzed it asks the store whether every layer of the image
// has its result; when they all do, it merges them (the embedded scan's overlay merge), stores the
// inventory once, records RUNNING/MATCH and only then hands the scan to the matcher. Its waiting
// state is the store, so a restart loses nothing. layer.analyzed is keyed by manifest digest: one
// image's events are handled in order.
import type { DeliveredMessage } from '@strata/bus';
import { getJson, putJson } from '@strata/blobstore';
import { Topics, type EventOf } from '@strata/contracts';
import type { ImageInventory, LayerResult } from '@strata/model';
import type { HandlerOutcome, RunningService } from '@strata/service-runtime';
import { layerResultKey, readLinkedDatabases, removeStaleLayerTempDirs } from '@strata/pipeline';
import { inventoryKey, isTerminal, protoOptions, readImageRecord, stageRank, type ScanRecord } from '@strata/scan-records';
import { blobRef, serviceTmpRoot, now, runStage, scanLogger, StageError, startStageService, timed } from '@strata/stage-runtime';
import type { StageContext, StartOptions } from '@strata/stage-runtime';
import type { MergerConfig } from './settings.js';

async function handleLayerAnalyzed(
  ctx: StageContext,
  tmpRoot: string,
  event: EventOf<typeof Topics.layerAnalyzed>,
  message: DeliveredMessage,
): Promise<HandlerOutcome> {
  const { store } = ctx.runtime;
  const seen = { service: ctx.service, stage: 'merge', scanId: event.scanId, manifestDigest: event.manifestDigest, diffId: event.diffId };
  return runStage(ctx, message, event, 'MERGE', async (scan) => {
    const record = await ctx.records.read(scan.scanId);
    if (record && (isTerminal(record.status) || stageRank(record.stage) >= stageRank('MATCH')) && !isMergingEvent(record, event.diffId)) {
      // Already handed to the matcher (or finished, or failed): a later layer event.
      ctx.observe({ ...seen, outcome: 'skipped' });
      return 'skipped';
    }
    const image = await readImageRecord(store, event.manifestDigest);
    if (!image) throw new StageError('INTERNAL', `image record of ${event.manifestDigest} (${event.imageRef}) is missing from ${store.location}`);
    const present = await Promise.all(image.layers.map((l) => store.exists(layerResultKey(l.cacheKey))));
    const missing = present.filter((p) => !p).length;
    if (missing > 0) {
      scanLogger(ctx, scan).info(
        { manifestDigest: image.manifestDigest, diffId: event.diffId, missing, layers: image.layers.length },
        'layer analyzed; waiting for the others',
      );
      ctx.observe({ ...seen, outcome: 'waiting', detail: { missing, layers: image.layers.length } });
      return 'skipped';
    }
    const key = inventoryKey(image.manifestDigest, image.analyzerSetVersion);
    let inventory = await getJson<ImageInventory>(store, key);
    if (!inventory) {
      inventory = await timed(ctx, 'merge', async () => {
        const results = await Promise.all(
          image.layers.map(async (l) => {
            const result = await getJson<LayerResult>(store, layerResultKey(l.cacheKey));
            if (!result) throw new StageError('INTERNAL', `layer result ${l.cacheKey} of ${l.digest} vanished from ${store.location}`);
            return result;
          }),
        );
        // The metadata's layer refs (with created_by) are what findings are attributed to.
        // Package DBs behind links to files no analyzer read: a second pass over the stored blobs.
        const layers = image.metadata.layers;
        const linked = await readLinkedDatabases(
          layers.map((ref, i) => ({ ref, result: results[i]! })),
          { openLayer: (ref) => store.getBlob(ref.digest), label: (i) => `${event.imageRef} layer ${i + 1}/${layers.length} ${layers[i]!.digest}`, tmpRoot },
        );
        const merged = linked.merge();
        for (const w of linked.warnings) merged.warnings.push(w);
        await putJson(store, key, merged);
        return merged;
      });
    }
    const packages = inventory.osPackages.length + inventory.applications.reduce((n, s) => n + s.packages.length, 0);
    // Recorded before the publish: once image.inventory is out the matcher may complete the scan at
    // any moment, and no write of the merger's may come after that.
    const { record: standing } = await ctx.records.advance(scan, { status: 'RUNNING', stage: 'MATCH', mergedFrom: event.diffId });
    if (!isMergingEvent(standing, event.diffId)) {
      // Another event of this scan merged it meanwhile, or the scan ended.
      ctx.observe({ ...seen, outcome: 'skipped' });
      return 'skipped';
    }
    await ctx.runtime.publish(Topics.imageInventory, {
      scanId: scan.scanId,
      imageRef: scan.imageRef,
      manifestDigest: image.manifestDigest,
      ...(image.metadata.indexDigest ? { indexDigest: image.metadata.indexDigest } : {}),
      ...(image.metadata.platform
        ? { platform: { os: image.metadata.platform.os, architecture: image.metadata.platform.architecture, variant: image.metadata.platform.variant ?? '' } }
        : {}),
      inventory: blobRef(ctx, key),
      packageCount: packages,
      layerCount: image.layers.length,
      analyzerSetVersion: image.analyzerSetVersion,
      createdAt: now(),
      traceId: scan.traceId,
      ...(record?.options ? { options: protoOptions(record.options) } : {}),
    });
    await ctx.testPoint?.('merger.inventory-published', scan.scanId);
    scanLogger(ctx, scan).info({ manifestDigest: image.manifestDigest, packages }, 'image inventory ready');
    ctx.observe({ ...seen, outcome: 'merged', detail: { packages } });
    return 'ok';
  });
}

/**
 * Whether the record stands at MATCH because of this layer event: then it is a redelivery (the
 * publish failed, or the merger died between recording and publishing) and publishes again.
 */
function isMergingEvent(record: ScanRecord, diffId: string): boolean {
  return record.status === 'RUNNING' && record.stage === 'MATCH' && record.mergedFrom === diffId;
}

export function startMerger(config: MergerConfig, options: StartOptions = {}): Promise<RunningService> {
  return startStageService('merger', config, options, async (ctx) => {
    // the link second pass spools under the cache dir; a crashed replica's leftovers go first
    const tmpRoot = serviceTmpRoot(config.STRATA_CACHE_DIR, 'merger');
    await removeStaleLayerTempDirs(tmpRoot);
    await ctx.runtime.consume({
      group: 'strata-merger',
      topic: Topics.layerAnalyzed,
      handler: (event, message) => handleLayerAnalyzed(ctx, tmpRoot, event, message),
    });
  });
}
