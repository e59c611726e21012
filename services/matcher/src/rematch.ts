// Advisory updates and the re-match they cause.
//
// Publishing: the matcher watches its advisory folder (`strata db update` writes it, or a new OSV
// dump is dropped in). When the DB version differs from the last one published, it stores the
// version's record manifest (`advisories/<version>.json`), diffs it against the previous one and
// publishes strata.advisories.updated.v1. Diffing against the last *published* version keeps the
// chain of updates gap-free, even across restarts.
//
// Re-matching: for each update, the images holding a package the changed records name come from
// the reverse index; only those packages are matched again (once per distinct package), the
// image's stored findings state is patched, and a DELTA findings event goes out for every image
// whose findings changed. Nothing is fetched or analyzed.
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { diffDatabases, ownEntry, type AdvisoryIndex, type ManifestRecord, type OpenIndexResult } from '@strata/advisories';
import { getJson, putJson } from '@strata/blobstore';
import { AdvisoryIdListsSchema, FindingsKind, Topics, type EventOf } from '@strata/contracts';
import { diffSummaries, replaceFindings, type FindingsDelta, type FindingSummary } from '@strata/reverse-index';
import type { HandlerOutcome } from '@strata/service-runtime';
import { forEachLimited, severityCounts } from '@strata/model';
import type { FindingsCatalog, ImageState } from './catalog.js';
import { blobRef, now, type StageContext } from '@strata/stage-runtime';
import type { DbRematcher } from './rematch-db.js';
import { protoCounts, protoSummary } from './summary.js';

/** `advisories/<db version>.json`: the record manifest of a published DB version. */
export interface AdvisoryVersionDoc {
  dbVersion: string;
  previousVersion?: string;
  records: Record<string, ManifestRecord>;
  publishedAt: string;
}

export const advisoryVersionKey = (dbVersion: string): string => `advisories/${dbVersion}.json`;
export const advisoryDiffKey = (dbVersion: string): string => `advisories/${dbVersion}.diff.pb`;
export const advisoryLatestKey = 'advisories/latest.json';

/** Delta events per produce request. */
const PUBLISH_BATCH = 500;

/** Updates listing more ids than this store them in the blob store (AdvisoryIdLists) and refer to them. */
export const INLINE_ID_LIMIT = 1_000;

/**
 * Publishes strata.advisories.updated.v1 when `index` is a DB version not published yet. Returns
 * the published event's version, or undefined when there was nothing new.
 */
export async function publishAdvisoryUpdate(ctx: StageContext, index: AdvisoryIndex): Promise<string | undefined> {
  const { store } = ctx.runtime;
  const latest = await getJson<{ dbVersion: string }>(store, advisoryLatestKey);
  if (latest?.dbVersion === index.version) return undefined;
  const previous = latest ? await getJson<AdvisoryVersionDoc>(store, advisoryVersionKey(latest.dbVersion)) : undefined;
  const doc: AdvisoryVersionDoc = {
    dbVersion: index.version,
    ...(previous ? { previousVersion: previous.dbVersion } : {}),
    // Built from the store's stream for this document only; the service does not keep it.
    records: Object.fromEntries(index.manifestRecords()),
    publishedAt: new Date().toISOString(),
  };
  await putJson(store, advisoryVersionKey(index.version), doc);
  const diff = previous ? diffDatabases({ dbVersion: previous.dbVersion, records: previous.records }, index) : undefined;
  const ids = diff ? { added: diff.added, changed: diff.changed, withdrawn: diff.withdrawn } : undefined;
  let changes: EventOf<typeof Topics.advisoriesUpdated>['changes'] = { case: undefined };
  if (ids && ids.added.length + ids.changed.length + ids.withdrawn.length > INLINE_ID_LIMIT) {
    const bytes = toBinary(AdvisoryIdListsSchema, create(AdvisoryIdListsSchema, ids));
    await store.putObject(advisoryDiffKey(index.version), bytes);
    changes = {
      case: 'diffRef',
      value: blobRef(ctx, advisoryDiffKey(index.version), { size: bytes.length, mediaType: 'application/x-protobuf; messageType=strata.v1.AdvisoryIdLists' }),
    };
  } else if (ids) {
    changes = { case: 'ids', value: create(AdvisoryIdListsSchema, ids) };
  }
  await ctx.runtime.publish(Topics.advisoriesUpdated, {
    dbVersion: index.version,
    ...(previous ? { previousVersion: previous.dbVersion } : {}),
    database: blobRef(ctx, advisoryVersionKey(index.version), { mediaType: 'application/json' }),
    changes,
    addedCount: ids?.added.length ?? 0,
    changedCount: ids?.changed.length ?? 0,
    withdrawnCount: ids?.withdrawn.length ?? 0,
    updatedAt: now(),
  });
  await putJson(store, advisoryLatestKey, { dbVersion: index.version });
  ctx.runtime.logger.info(
    {
      advisoryDbVersion: index.version,
      previousVersion: previous?.dbVersion,
      added: ids?.added.length,
      changed: ids?.changed.length,
      withdrawn: ids?.withdrawn.length,
    },
    previous ? 'advisory update published' : 'first advisory import published',
  );
  return index.version;
}

async function changedIds(ctx: StageContext, event: EventOf<typeof Topics.advisoriesUpdated>): Promise<string[]> {
  const { changes } = event;
  if (changes.case === 'ids') return [...changes.value.added, ...changes.value.changed, ...changes.value.withdrawn];
  if (changes.case === 'diffRef') {
    const bytes = await ctx.runtime.store.getObject(changes.value.key);
    if (!bytes) throw new Error(`the id lists of advisory update ${event.dbVersion} (${changes.value.key}) are missing from ${ctx.runtime.store.location}`);
    const lists = fromBinary(AdvisoryIdListsSchema, bytes);
    return [...lists.added, ...lists.changed, ...lists.withdrawn];
  }
  return [];
}

export interface RematchState {
  catalog: FindingsCatalog;
  /** with the findings DB: the update is planned there and re-matched in batches by every replica */
  rematcher?: DbRematcher;
  /** the advisory index, reopened now (not from a cached handle) */
  freshIndex: () => Promise<OpenIndexResult>;
  concurrency: number;
}

export async function handleAdvisoriesUpdated(
  ctx: StageContext,
  state: RematchState,
  event: EventOf<typeof Topics.advisoriesUpdated>,
): Promise<HandlerOutcome> {
  const { store, logger } = ctx.runtime;
  const log = logger.child({ advisoryDbVersion: event.dbVersion, previousVersion: event.previousVersion });
  if (!event.previousVersion) {
    log.info('first advisory import: nothing to re-match');
    return 'skipped';
  }
  // Reopened now, so it is at least the version the update names. When the folder has changed
  // again since (a dump still being written), the newer DB is used: the packages that changed
  // between the two versions are re-matched as well, and the states and deltas carry the version
  // actually used, so the next update finds these images done.
  const { index } = await state.freshIndex();
  const dbVersion = index.version;
  const ids = await changedIds(ctx, event);
  const previous = await getJson<AdvisoryVersionDoc>(store, advisoryVersionKey(event.previousVersion));
  const pairs = new Map<string, [string, string]>();
  const touch = (list: readonly [string, string][] | undefined) => {
    for (const pair of list ?? []) pairs.set(pair.join('\u0000'), pair);
  };
  for (const id of ids) {
    touch(index.manifestRecord(id)?.packages);
    touch(ownEntry(previous?.records, id)?.packages);
  }
  if (dbVersion !== event.dbVersion) {
    const named = await getJson<AdvisoryVersionDoc>(store, advisoryVersionKey(event.dbVersion));
    if (!named) throw new Error(`the record manifest of advisory update ${event.dbVersion} is missing from ${store.location}`);
    touch(diffDatabases({ dbVersion: named.dbVersion, records: named.records }, index).packages);
    log.info({ openVersion: dbVersion }, 'the advisory folder changed again since this update: matching with the newer DB');
  }
  const started = performance.now();
  if (state.rematcher) {
    const plan = await state.rematcher.plan({
      advisoryDbVersion: event.dbVersion,
      previousVersion: event.previousVersion,
      matchVersion: dbVersion,
      pairs: [...pairs.values()],
    });
    log.info(
      { records: ids.length, packages: pairs.size, ...plan, ms: Math.round(performance.now() - started) },
      plan.created ? 'advisory update planned for re-match' : 'advisory update was planned before',
    );
    return 'ok';
  }
  const affected = await state.catalog.affected([...pairs.values()], index);
  // Deltas are computed first (catalog reads in parallel) and published in batches; the images'
  // new states are written after every event went out, and the update is committed after that:
  // a crash in between re-publishes (at least once), never loses a delta.
  const timings = { matchMs: Math.round(performance.now() - started), readMs: 0, publishMs: 0, writeMs: 0 };
  let mark = performance.now();
  const pending: { entry: ImageState; next: FindingSummary[]; delta: FindingsDelta }[] = [];
  await forEachLimited(affected.values(), state.concurrency, async ({ image, packages, findings }) => {
    const entry = await state.catalog.state(image);
    if (!entry || entry.advisoryDbVersion === dbVersion) return;
    const next = replaceFindings(entry.findings, packages, findings);
    const delta = diffSummaries(entry.findings, next);
    if (delta.added.length > 0 || delta.resolved.length > 0) pending.push({ entry, next, delta });
  });
  timings.readMs = Math.round(performance.now() - mark);
  mark = performance.now();
  for (let i = 0; i < pending.length; i += PUBLISH_BATCH) {
    await ctx.runtime.publishAll(
      Topics.findings,
      pending.slice(i, i + PUBLISH_BATCH).map(({ entry, next, delta }) => ({
        scanId: '',
        imageRef: entry.image.imageRef,
        manifestDigest: entry.image.manifestDigest,
        ...(entry.image.indexDigest ? { indexDigest: entry.image.indexDigest } : {}),
        ...(entry.image.platform
          ? { platform: { os: entry.image.platform.os, architecture: entry.image.platform.architecture, variant: entry.image.platform.variant ?? '' } }
          : {}),
        advisoryDbVersion: dbVersion,
        counts: protoCounts(severityCounts(next)),
        kind: FindingsKind.DELTA,
        added: delta.added.map(protoSummary),
        resolved: delta.resolved.map(protoSummary),
        previousAdvisoryDbVersion: entry.advisoryDbVersion,
        publishedAt: now(),
        traceId: '',
      })),
    );
  }
  timings.publishMs = Math.round(performance.now() - mark);
  mark = performance.now();
  let superseded = 0;
  await forEachLimited(pending, state.concurrency, async ({ entry, next, delta }) => {
    // false: the state moved meanwhile (a scan at another DB version); its own event stands
    if (!(await state.catalog.writeRematched(entry, next, dbVersion))) superseded++;
    ctx.observe({
      service: ctx.service,
      stage: 'rematch',
      scanId: '',
      outcome: 'published',
      manifestDigest: entry.image.manifestDigest,
      detail: { added: delta.added, resolved: delta.resolved, advisoryDbVersion: dbVersion },
    });
  });
  timings.writeMs = Math.round(performance.now() - mark);
  const deltas = pending.length;
  reportRematched(
    ctx,
    log,
    {
      records: ids.length,
      packages: pairs.size,
      superseded,
      catalog: state.catalog.kind,
      ...state.catalog.stats(),
      ms: Math.round(performance.now() - started),
      ...timings,
    },
    { advisoryDbVersion: dbVersion, candidates: affected.size, deltas },
  );
  return 'ok';
}

/** The end of an advisory update's re-match, the same for both catalogs: one log line and one observation. */
export function reportRematched(
  ctx: StageContext,
  log: StageContext['runtime']['logger'],
  fields: Record<string, unknown>,
  result: { advisoryDbVersion: string; candidates: number; deltas: number },
): void {
  log.info({ ...fields, candidates: result.candidates, deltas: result.deltas }, 'advisory update re-matched');
  ctx.observe({ service: ctx.service, stage: 'rematch', scanId: '', outcome: 'ok', detail: result });
}
