// The analyzer (N replicas in one group): turns a fetched layer blob into its stored LayerResult
// with the same function the embedded scan uses. layer.fetched is keyed by diffID, so a layer
// shared by several images reaches one replica in order, and all but the first find it cached.
import type { DeliveredMessage } from '@strata/bus';
import { analyzerSetVersion } from '@strata/analyzers';
import { Topics, type EventOf } from '@strata/contracts';
import type { HandlerOutcome, RunningService } from '@strata/service-runtime';
import { analyzeAndStoreLayer, removeStaleLayerTempDirs } from '@strata/pipeline';
import { publishLayerAnalyzed, runLayerStage, scanLogger, serviceTmpRoot, StageError, startStageService, timed } from '@strata/stage-runtime';
import type { StageContext, StartOptions } from '@strata/stage-runtime';
import type { AnalyzerConfig } from './settings.js';

function handleLayerFetched(
  ctx: StageContext,
  tmpRoot: string,
  event: EventOf<typeof Topics.layerFetched>,
  message: DeliveredMessage,
): Promise<HandlerOutcome> {
  const checkVersion = () => {
    const setVersion = analyzerSetVersion();
    if (event.analyzerSetVersion !== setVersion) {
      throw new StageError(
        'INTERNAL',
        `layer ${event.layerDigest} was requested for analyzer set "${event.analyzerSetVersion}" but this analyzer runs "${setVersion}" (mixed versions during a deploy?)`,
      );
    }
  };
  return runLayerStage(
    ctx,
    message,
    event,
    'analyze',
    async ({ scan, layer, seen }) => {
      const { store, metrics } = ctx.runtime;
      const log = scanLogger(ctx, scan);
      log.info({ layerDigest: event.layerDigest, diffId: event.diffId, size: Number(event.size) }, 'analyzing layer');
      const stored = await timed(ctx, 'analyze', async () => {
        const blob = await store.getBlob(event.layerDigest);
        const layerRef = {
          digest: event.layerDigest,
          diffId: event.diffId,
          ...(event.size > 0n ? { size: Number(event.size) } : {}),
          ...(event.mediaType ? { mediaType: event.mediaType } : {}),
        };
        try {
          return await analyzeAndStoreLayer(store, layerRef, blob, { label: `${event.imageRef} layer ${event.layerIndex + 1} ${event.layerDigest}`, tmpRoot });
        } finally {
          blob.destroy();
        }
      });
      if (stored.cacheKey !== event.cacheKey)
        throw new StageError('INTERNAL', `layer ${event.layerDigest}: cache key ${stored.cacheKey} differs from the requested ${event.cacheKey}`);
      metrics.layersAnalyzed.inc();
      const packages =
        stored.result.packageSets.reduce((n, s) => n + s.packages.length, 0) + stored.result.applications.reduce((n, s) => n + s.packages.length, 0);
      log.info({ layerDigest: event.layerDigest, packages, warnings: stored.result.warnings.length }, 'layer analyzed');
      await publishLayerAnalyzed(ctx, scan, { ...layer, fromCache: false, packageCount: packages, warningCount: stored.result.warnings.length });
      ctx.observe({ ...seen, outcome: 'analyzed', detail: { packages } });
      return 'ok';
    },
    checkVersion,
  );
}

/** The analyzers' consumer group on layer.fetched; infra/k8s scales it on this group's lag. */
export const ANALYZER_CONSUMER_GROUP = 'strata-analyzer';

export function startAnalyzer(config: AnalyzerConfig, options: StartOptions = {}): Promise<RunningService> {
  return startStageService('analyzer', config, options, async (ctx) => {
    // spooled jars and binaries go under the cache dir; a crashed replica's leftovers go first
    const tmpRoot = serviceTmpRoot(config.STRATA_CACHE_DIR, 'analyzer');
    await removeStaleLayerTempDirs(tmpRoot);
    await ctx.runtime.consume({
      group: ANALYZER_CONSUMER_GROUP,
      topic: Topics.layerFetched,
      handler: (event, message) => handleLayerFetched(ctx, tmpRoot, event, message),
    });
  });
}
