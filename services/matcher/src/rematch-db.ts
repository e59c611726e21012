// Re-match over the findings DB, partitioned across matcher replicas (docs/findings-db.md, re-match
// work). The replica that receives an advisory update plans it (the affected images, in batches,
// one transaction; a redelivery finds it planned); every replica — polling, and the planner at
// once — claims open batches under a lease and re-matches them: the batch's holdings of the
// changed packages come by SQL, each distinct package is matched once, and the new states are
// committed together with the DELTA events they cause, which are sent after the commit. A replica
// that dies mid-batch leaves it to another one when the lease runs out; a batch that was
// committed but not marked done has its stored events sent again (the identical bytes).
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { OpenIndexResult } from '@strata/advisories';
import { encodeKeyedEvent, FindingsKind, Topics } from '@strata/contracts';
import { describeError } from '@strata/errors';
import {
  RematchWork,
  type FindingsDb,
  type RematchClaim,
  type RematchEvent,
  type RematchPlan,
  type RematchUpdate,
  type SetFindingsInput,
} from '@strata/findings-db';
import { severityCounts } from '@strata/model';
import { diffSummaries, matchPackages, packageKey, replaceFindings, type FindingSummary } from '@strata/reverse-index';
import type { HoldingRow } from '@strata/findings-db';
import { now, type StageContext } from '@strata/stage-runtime';
import { reportRematched } from './rematch.js';
import { protoCounts, protoSummary } from './summary.js';

export interface DbRematchOptions {
  db: FindingsDb;
  /** the advisory index as the service holds it (reopened every STRATA_DB_RECHECK_MS) */
  index: () => Promise<OpenIndexResult>;
  /** the advisory index, reopened now */
  freshIndex: () => Promise<OpenIndexResult>;
  batchImages: number;
  leaseMs: number;
  pollMs: number;
  /** batches this replica works on at once */
  workers: number;
}

/** Delta events per produce request. */
const PUBLISH_BATCH = 500;

export class DbRematcher {
  /** this replica's name in the work table (lease_owner, done_by) */
  readonly owner = `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
  private readonly work: RematchWork;
  private readonly updates = new Map<string, Promise<RematchUpdate>>();
  private running = 0;
  private stopped = false;
  private readonly loops = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  /** the findings of each package matched for an update (at one DB version): each matched once per replica, not once per batch */
  private readonly matched = new Map<string, Map<string, FindingSummary[]>>();
  /** where this replica's time went, per update (logged when the update finishes here) */
  private readonly spent = new Map<string, { batches: number; holdingsMs: number; commitMs: number; publishMs: number; markMs: number }>();

  constructor(
    private readonly ctx: StageContext,
    private readonly options: DbRematchOptions,
  ) {
    this.work = new RematchWork(options.db);
  }

  /** Starts polling for open batches (other replicas' plans, and batches whose lease ran out). */
  start(): void {
    this.timer = setInterval(() => this.kick(), this.options.pollMs);
    this.timer.unref();
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await Promise.allSettled([...this.loops]);
  }

  /** Plans an update and starts working on it here at once. */
  async plan(input: Omit<Parameters<RematchWork['plan']>[0], 'batchImages'>): Promise<RematchPlan> {
    const plan = await this.work.plan({ ...input, batchImages: this.options.batchImages });
    this.kick();
    return plan;
  }

  /** Runs claim loops up to `workers`; each stops when no batch is open. */
  kick(): void {
    while (!this.stopped && this.running < this.options.workers) {
      this.running++;
      const loop = this.loop().finally(() => {
        this.running--;
        this.loops.delete(loop);
      });
      this.loops.add(loop);
    }
  }

  private async loop(): Promise<void> {
    const log = this.ctx.runtime.logger;
    try {
      while (!this.stopped) {
        const claim = await this.work.claim(this.owner, this.options.leaseMs);
        if (!claim) return;
        await this.batch(claim);
      }
    } catch (error) {
      // The claim (if any) runs out and is taken again, here or elsewhere.
      if (!this.stopped) log.warn({ err: describeError(error) }, 're-match batch failed; its lease will run out and it is claimed again');
    }
  }

  private updateOf(updateId: string): Promise<RematchUpdate> {
    let update = this.updates.get(updateId);
    if (!update) {
      update = this.work.update(updateId);
      update.catch(() => this.updates.delete(updateId));
      this.updates.set(updateId, update);
    }
    return update;
  }

  /**
   * Each image's packages among `holdings` and their current findings (as rematchHoldings gives
   * them), matching only the packages this replica has not matched for the update yet.
   */
  private rematch(key: string, holdings: readonly HoldingRow[], index: Awaited<ReturnType<DbRematchOptions['index']>>['index']) {
    let known = this.matched.get(key);
    if (!known) {
      if (this.matched.size > 8) this.matched.delete(this.matched.keys().next().value as string);
      this.matched.set(key, (known = new Map()));
    }
    const fresh = new Map<string, HoldingRow>();
    for (const h of holdings) if (!known.has(h.unitKey) && !fresh.has(h.unitKey)) fresh.set(h.unitKey, h);
    const found = matchPackages([...fresh.values()], index);
    for (const unit of fresh.keys()) known.set(unit, found.get(unit) ?? []);
    const out = new Map<string, { packages: Set<string>; findings: FindingSummary[]; units: Set<string> }>();
    for (const h of holdings) {
      let entry = out.get(h.image.manifestDigest);
      if (!entry) out.set(h.image.manifestDigest, (entry = { packages: new Set(), findings: [], units: new Set() }));
      if (entry.units.has(h.unitKey)) continue;
      entry.units.add(h.unitKey);
      const pk = packageKey(h.ecosystem, h.name, h.installedVersion);
      if (entry.packages.has(pk)) continue;
      entry.packages.add(pk);
      entry.findings.push(...(known.get(h.unitKey) ?? []));
    }
    return out;
  }

  private async batch(claim: RematchClaim): Promise<void> {
    const { ctx } = this;
    const started = performance.now();
    const batchId = `${claim.updateId}/${claim.batchNo}`;
    await ctx.testPoint?.('matcher.rematch-batch-claimed', batchId);
    const update = await this.updateOf(claim.updateId);
    const log = ctx.runtime.logger.child({ advisoryDbVersion: update.advisoryDbVersion, batch: batchId, attempt: claim.attempt });
    let events: { key: string; value: Uint8Array }[] = claim.events;
    let deltas: RematchEvent[] = [];
    let spent = this.spent.get(claim.updateId);
    if (!spent) {
      // (updates another replica finished are dropped from here after a while)
      if (this.spent.size > 64) this.spent.delete(this.spent.keys().next().value as string);
      this.spent.set(claim.updateId, (spent = { batches: 0, holdingsMs: 0, commitMs: 0, publishMs: 0, markMs: 0 }));
    }
    spent.batches++;
    let mark = performance.now();
    const lap = () => {
      const ms = performance.now() - mark;
      mark = performance.now();
      return ms;
    };
    if (claim.status === 'pending') {
      // the index held, unless it is not the planned version: then reopened now
      let { index } = await this.options.index();
      if (index.version !== update.matchVersion) ({ index } = await this.options.freshIndex());
      // The folder moved past the planned version: the batch's images are matched whole with the
      // DB open now, so their states are right at that version whatever changed in between.
      const whole = index.version !== update.matchVersion;
      const holdings = whole ? await this.options.db.holdingsOf(claim.images, undefined) : await this.work.holdings(claim.updateId, claim.images);
      const affected = this.rematch(`${claim.updateId} ${index.version}`, holdings, index);
      spent.holdingsMs += lap();
      const commit = await this.work.commit(claim, (states) => {
        const writes: (SetFindingsInput & { manifestDigest: string })[] = [];
        const out: RematchEvent[] = [];
        for (const [digest, { image, state }] of states) {
          const found = affected.get(digest);
          // never matched (a scan is filing it), or already at this version (a scan, or an earlier claim)
          if (!state || !found || state.advisoryDbVersion === index.version) continue;
          const next = replaceFindings(state.findings, found.packages, found.findings);
          const delta = diffSummaries(state.findings, next);
          if (delta.added.length === 0 && delta.resolved.length === 0) continue;
          writes.push({ manifestDigest: digest, kind: 'DELTA', advisoryDbVersion: index.version, findings: next, expectedVersion: state.advisoryDbVersion });
          const { key, value } = encodeKeyedEvent(Topics.findings, {
            scanId: '',
            imageRef: image.imageRef,
            manifestDigest: digest,
            ...(image.indexDigest ? { indexDigest: image.indexDigest } : {}),
            ...(image.platform
              ? { platform: { os: image.platform.os, architecture: image.platform.architecture, variant: image.platform.variant ?? '' } }
              : {}),
            advisoryDbVersion: index.version,
            counts: protoCounts(severityCounts(next)),
            kind: FindingsKind.DELTA,
            added: delta.added.map(protoSummary),
            resolved: delta.resolved.map(protoSummary),
            previousAdvisoryDbVersion: state.advisoryDbVersion,
            publishedAt: now(),
            traceId: '',
          });
          out.push({ manifestDigest: digest, key, value });
        }
        return { writes, events: out };
      });
      if (!commit.held) {
        log.warn('re-match batch: the lease ran out and another replica claimed the batch; leaving it to that one');
        return;
      }
      deltas = commit.events;
      events = commit.events;
      spent.commitMs += lap();
    } else {
      log.info({ events: events.length }, 're-match batch committed by a replica that stopped before marking it: sending its events again');
    }
    for (let i = 0; i < events.length; i += PUBLISH_BATCH)
      await ctx.runtime.bus.publish(ctx.runtime.topic(Topics.findings), events.slice(i, i + PUBLISH_BATCH));
    spent.publishMs += lap();
    const { finished } = events.length > 0 || claim.status === 'publishing' ? await this.work.done(claim) : await this.work.finishIfDone(claim.updateId);
    spent.markMs += lap();
    for (const e of deltas)
      ctx.observe({
        service: ctx.service,
        stage: 'rematch',
        scanId: '',
        outcome: 'published',
        manifestDigest: e.manifestDigest,
        detail: { batch: batchId, owner: this.owner },
      });
    log.debug({ images: claim.images.length, deltas: deltas.length, ms: Math.round(performance.now() - started) }, 're-match batch done');
    if (finished) {
      this.updates.delete(claim.updateId);
      this.spent.delete(claim.updateId);
      for (const key of this.matched.keys()) if (key.startsWith(`${claim.updateId} `)) this.matched.delete(key);
      const here = Object.fromEntries(Object.entries(spent).map(([k, v]) => [k, Math.round(v)]));
      reportRematched(
        ctx,
        log,
        { images: finished.images, batches: finished.batches, ms: Date.now() - finished.plannedAt.getTime(), catalog: 'findings-db', here },
        { advisoryDbVersion: update.advisoryDbVersion, candidates: finished.images, deltas: finished.deltas },
      );
    }
  }
}
