// The fetcher: resolves a requested image, records it, and gets every layer that is not in the
// layer cache into the blob store. Per-layer work goes through strata.layer.fetch.requested.v1,
// keyed by diffID, so a layer shared by images scanned at the same time is downloaded once: its
// requests queue on one partition, and each checks the cache and the store before fetching.
import type { DeliveredMessage } from '@strata/bus';
import { NonRetriableError } from '@strata/bus';
import { Topics, type EventOf, type Platform as ProtoPlatform } from '@strata/contracts';
import { analyzerSetVersion } from '@strata/analyzers';
import {
  createRegistryClient,
  openImage,
  parseReference,
  resolveCredentials,
  type Credentials,
  type ImageReference,
  type OpenOptions,
  type Platform,
} from '@strata/oci';
import type { HandlerOutcome, RunningService } from '@strata/service-runtime';
import { cacheKeyFor, layerResultKey } from '@strata/pipeline';
import {
  imageRecordKey,
  isTerminal,
  isValidScanId,
  SCAN_ID_RULE,
  optionsRecord,
  readImageRecord,
  writeImageRecord,
  type ImageRecord,
} from '@strata/scan-records';
import type { FetcherConfig } from './settings.js';
import { startSweeper } from './sweeper.js';
import { touchImageBlobs } from '@strata/findings-db';
import {
  blobRef,
  layerCached,
  now,
  publishLayerAnalyzed,
  runLayerStage,
  runStage,
  scanLogger,
  StageError,
  startStageService,
  timed,
} from '@strata/stage-runtime';
import type { StageContext, StartOptions } from '@strata/stage-runtime';

type RegistryRef = Extract<ImageReference, { kind: 'registry' }>;

function registryReference(imageRef: string): RegistryRef {
  const ref = parseReference(imageRef);
  if (ref.kind !== 'registry') {
    throw new StageError(
      'INVALID_REFERENCE',
      `${imageRef}: a distributed scan takes a registry reference (registry/repository[:tag][@digest]), not a local path`,
    );
  }
  return ref;
}

/** Credentials for a registry: the named entry of the scan, else the fetcher's Docker config / STRATA_USERNAME. */
async function registryAccess(config: FetcherConfig, registry: string, credentialsRef: string): Promise<{ credentials?: Credentials; insecure?: boolean }> {
  const access: { credentials?: Credentials; insecure?: boolean } = {};
  if (config.STRATA_REGISTRY_INSECURE) access.insecure = true;
  if (credentialsRef !== '') {
    const entry = config.STRATA_REGISTRY_CREDENTIALS[credentialsRef];
    if (!entry)
      throw new StageError('UNAUTHORIZED', `registry credential entry "${credentialsRef}" is not configured in the fetcher (STRATA_REGISTRY_CREDENTIALS)`);
    access.credentials = { username: entry.username, password: entry.password };
    return access;
  }
  const found = await resolveCredentials(registry, config.DOCKER_CONFIG ? { dockerConfigDir: config.DOCKER_CONFIG } : {});
  if (found) access.credentials = found;
  return access;
}

function platformOf(p: ProtoPlatform | undefined): Platform | undefined {
  if (!p || p.os === '' || p.architecture === '') return undefined;
  return p.variant ? { os: p.os, architecture: p.architecture, variant: p.variant } : { os: p.os, architecture: p.architecture };
}

async function handleScanRequested(
  ctx: StageContext,
  config: FetcherConfig,
  event: EventOf<typeof Topics.scanRequested>,
  message: DeliveredMessage,
): Promise<HandlerOutcome> {
  // The scan id names the scan record (scans/<id>.json): one safe key segment, or no scan at all.
  if (!isValidScanId(event.scanId))
    throw new NonRetriableError(`scan.requested for ${event.imageRef}: scan_id ${JSON.stringify(event.scanId)} is not ${SCAN_ID_RULE}`);
  const { store } = ctx.runtime;
  return runStage(ctx, message, event, 'RESOLVE', async (scan) => {
    const current = await ctx.records.read(scan.scanId);
    if (current && isTerminal(current.status)) {
      // A redelivered request of a finished scan: its results are stored, nothing to redo.
      ctx.observe({ service: ctx.service, stage: 'resolve', scanId: scan.scanId, outcome: 'skipped' });
      return 'skipped';
    }
    const log = scanLogger(ctx, scan);
    await ctx.records.advance(scan, { status: 'RUNNING', stage: 'RESOLVE', options: optionsRecord(event.options) });
    const ref = registryReference(event.imageRef);
    const openOptions: OpenOptions = await registryAccess(config, ref.registry, event.credentialsRef);
    const platform = platformOf(event.platform);
    if (platform) openOptions.platform = platform;
    const source = await timed(ctx, 'resolve', () => openImage(ref, openOptions));
    await source.close();
    const metadata = source.metadata;
    scan.manifestDigest = metadata.manifestDigest;
    if (metadata.layers.length === 0) throw new StageError('UNSUPPORTED_MEDIA_TYPE', `image ${event.imageRef} (${metadata.manifestDigest}) has no layers`);

    const setVersion = analyzerSetVersion();
    const layers = metadata.layers.map((layer) => ({ ...layer, cacheKey: cacheKeyFor(layer.diffId, setVersion) }));
    // Blob housekeeping: the image references these keys now, before anything checks or uses them
    // (waits while a sweep is deleting one of them; then that one is found missing and redone).
    if (ctx.findingsDb)
      await touchImageBlobs(
        ctx.findingsDb,
        metadata.manifestDigest,
        layers.flatMap((l) => [
          { key: l.digest, kind: 'blob' as const },
          { key: layerResultKey(l.cacheKey), kind: 'layer-result' as const },
        ]),
      );
    const existing = await readImageRecord(store, metadata.manifestDigest);
    if (!existing || existing.analyzerSetVersion !== setVersion) {
      const record: ImageRecord = {
        schemaVersion: 1,
        manifestDigest: metadata.manifestDigest,
        analyzerSetVersion: setVersion,
        metadata,
        layers,
        resolvedAt: new Date().toISOString(),
      };
      await writeImageRecord(store, record);
    }
    const cached = await Promise.all(layers.map((l) => layerCached(store, l.cacheKey, l.digest)));
    await ctx.records.advance(scan, {
      status: 'RUNNING',
      stage: 'FETCH',
      manifestDigest: metadata.manifestDigest,
      ...(metadata.indexDigest ? { indexDigest: metadata.indexDigest } : {}),
      ...(metadata.platform ? { platform: metadata.platform } : {}),
      repoTags: metadata.repoTags,
      repoDigests: metadata.repoDigests,
      layers: { total: layers.length, cached: cached.filter(Boolean).length },
    });
    log.info({ manifestDigest: metadata.manifestDigest, layers: layers.length, cached: cached.filter(Boolean).length }, 'image resolved');

    await ctx.runtime.publish(Topics.imageResolved, {
      scanId: scan.scanId,
      imageRef: event.imageRef,
      manifestDigest: metadata.manifestDigest,
      configDigest: metadata.configDigest,
      ...(metadata.platform
        ? { platform: { os: metadata.platform.os, architecture: metadata.platform.architecture, variant: metadata.platform.variant ?? '' } }
        : {}),
      ...(metadata.indexDigest ? { indexDigest: metadata.indexDigest } : {}),
      layers: layers.map((l, i) => ({
        digest: l.digest,
        diffId: l.diffId,
        size: BigInt(l.size ?? 0),
        mediaType: l.mediaType ?? '',
        createdBy: l.createdBy ?? '',
        cacheKey: l.cacheKey,
        cached: cached[i] ?? false,
      })),
      analyzerSetVersion: setVersion,
      recordRef: blobRef(ctx, imageRecordKey(metadata.manifestDigest)),
      resolvedAt: now(),
      traceId: scan.traceId,
      ...(event.options ? { options: event.options } : {}),
    });
    for (const [index, layer] of layers.entries()) {
      if (cached[index]) {
        ctx.runtime.metrics.layerCacheHits.inc({ stage: 'resolve' });
        await publishLayerAnalyzed(ctx, scan, {
          layerDigest: layer.digest,
          diffId: layer.diffId,
          cacheKey: layer.cacheKey,
          layerIndex: index,
          analyzerSetVersion: setVersion,
          fromCache: true,
        });
      } else {
        await ctx.runtime.publish(Topics.layerFetchRequested, {
          scanId: scan.scanId,
          imageRef: event.imageRef,
          manifestDigest: metadata.manifestDigest,
          layerDigest: layer.digest,
          diffId: layer.diffId,
          mediaType: layer.mediaType ?? '',
          size: BigInt(layer.size ?? 0),
          cacheKey: layer.cacheKey,
          analyzerSetVersion: setVersion,
          layerIndex: index,
          credentialsRef: event.credentialsRef,
          requestedAt: now(),
          traceId: scan.traceId,
        });
      }
    }
    ctx.observe({
      service: ctx.service,
      stage: 'resolve',
      scanId: scan.scanId,
      outcome: 'ok',
      manifestDigest: metadata.manifestDigest,
      detail: { layers: layers.length, cached: cached.filter(Boolean).length },
    });
    return 'ok';
  });
}

function handleLayerFetchRequested(
  ctx: StageContext,
  config: FetcherConfig,
  event: EventOf<typeof Topics.layerFetchRequested>,
  message: DeliveredMessage,
): Promise<HandlerOutcome> {
  // A layer analyzed since the image was resolved (another image shares it) is announced as cached.
  return runLayerStage(ctx, message, event, 'fetch', async ({ scan, seen }) => {
    const { store, metrics } = ctx.runtime;
    const size = Number(event.size);
    if (await store.exists(event.layerDigest)) {
      ctx.observe({ ...seen, outcome: 'blob_present' });
    } else {
      const ref = registryReference(event.imageRef);
      const access = await registryAccess(config, ref.registry, event.credentialsRef);
      let bytes = 0;
      await timed(ctx, 'fetch', async () => {
        const client = createRegistryClient(ref.registry, access);
        const stream = await client.getBlob(ref.repository, event.layerDigest, { image: event.imageRef, kind: 'layer', ...(size > 0 ? { size } : {}) });
        const counted = async function* () {
          for await (const chunk of stream as AsyncIterable<Uint8Array>) {
            bytes += chunk.byteLength;
            yield chunk;
          }
        };
        await store.putBlob(event.layerDigest, counted(), size > 0 ? { size } : {});
      });
      metrics.bytesFetched.inc(bytes);
      metrics.layersFetched.inc();
      scanLogger(ctx, scan).info({ layerDigest: event.layerDigest, bytes }, 'layer fetched');
      ctx.observe({ ...seen, outcome: 'fetched', detail: { bytes } });
    }
    await ctx.runtime.publish(Topics.layerFetched, {
      scanId: scan.scanId,
      imageRef: event.imageRef,
      manifestDigest: event.manifestDigest,
      layerDigest: event.layerDigest,
      diffId: event.diffId,
      mediaType: event.mediaType,
      size: event.size,
      blob: blobRef(ctx, event.layerDigest, { digest: event.layerDigest, size, mediaType: event.mediaType }),
      cacheKey: event.cacheKey,
      analyzerSetVersion: event.analyzerSetVersion,
      layerIndex: event.layerIndex,
      fetchedAt: now(),
      traceId: scan.traceId,
    });
    return 'ok';
  });
}

export function startFetcher(config: FetcherConfig, options: StartOptions = {}): Promise<RunningService> {
  return startStageService('fetcher', config, options, async (ctx) => {
    await ctx.runtime.consume({
      group: 'strata-fetcher',
      topic: Topics.scanRequested,
      handler: (event, message) => handleScanRequested(ctx, config, event, message),
    });
    await ctx.runtime.consume({
      group: 'strata-fetcher-layers',
      topic: Topics.layerFetchRequested,
      handler: (event, message) => handleLayerFetchRequested(ctx, config, event, message),
    });
    if (ctx.findingsDb && config.STRATA_SWEEP_INTERVAL_MS > 0) {
      // A scan's items are kept by its open record for STRATA_SWEEP_OPEN_SCAN_MS and by their last
      // touch for the grace period: a grace shorter than that would let a slow scan's layers go
      // between its touch and the merger's reads.
      if (config.STRATA_SWEEP_GRACE_MS < config.STRATA_SWEEP_OPEN_SCAN_MS)
        throw new Error(
          `STRATA_SWEEP_GRACE_MS (${config.STRATA_SWEEP_GRACE_MS}) must be at least STRATA_SWEEP_OPEN_SCAN_MS (${config.STRATA_SWEEP_OPEN_SCAN_MS}): a shorter grace period could delete what a running scan still reads`,
        );
      return startSweeper(ctx.runtime, ctx.findingsDb, config.STRATA_SWEEP_INTERVAL_MS, {
        graceMs: config.STRATA_SWEEP_GRACE_MS,
        openScanMaxAgeMs: config.STRATA_SWEEP_OPEN_SCAN_MS,
        batch: config.STRATA_SWEEP_BATCH,
      });
    }
    if (config.STRATA_SWEEP_INTERVAL_MS > 0) ctx.runtime.logger.info('no sweeper: blob housekeeping needs the findings DB (STRATA_PG_URL)');
  });
}
