// The watcher: every interval, crawls each configured registry, and publishes scan.requested for
// the digests it has not requested before (every platform of an index), then saves its cursor.
// One registry failing (down, refusing our credentials) is logged with its reason and the others
// go on; the next pass retries it. Run one replica: two watchers would request the same scans.
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { SettingsError } from '@strata/config';
import { ScanTrigger, Topics } from '@strata/contracts';
import { claimPushKey, forgetPushKey, prunePushKeys } from '@strata/findings-db';
import { isIndexType, resolveCredentials, type Credentials } from '@strata/oci';
import {
  createRateLimiter,
  crawlRegistry,
  expandDigests,
  loadCursor,
  planPass,
  realClock,
  repositoryMatcher,
  saveCursor,
  targetReference,
  watcherClient,
  type CrawlProblem,
  type NewDigest,
  type RateLimiter,
  type ScanTarget,
  type WatchCursor,
} from '@strata/registry-crawl';
import { startStageService, type StageContext, type StartOptions } from '@strata/stage-runtime';
import { listen, type RunningService } from '@strata/service-runtime';
import { Counter } from 'prom-client';
import { describeError } from '@strata/errors';
import { watcherConfigProblems, type WatchedRegistry, type WatcherConfig } from './settings.js';
import { HookPayloadError, memoryDedup, type PushDedup, parseDistributionEnvelope, parseHarborWebhook, type ParsedHook, type PushedManifest } from './hook.js';

export interface RegistryPassReport {
  registry: string;
  /** pass number of this watcher instance, from 1 */
  pass: number;
  ok: boolean;
  /** why the pass over this registry failed (never a secret) */
  error?: string;
  repositories: number;
  tags: number;
  /** scan.requested events published */
  requested: number;
  /** tags whose digest had been requested already */
  unchanged: number;
  problems: CrawlProblem[];
}

export interface RunningWatcher extends RunningService {
  /** a pass over every registry now (queued behind a pass in progress) */
  runPass(): Promise<RegistryPassReport[]>;
  /** passes finished so far */
  readonly passes: number;
  /** resolves when the loop has ended: after the first pass with STRATA_WATCH_ONCE, or once stopped */
  readonly done: Promise<void>;
  /** where the push-notification endpoint listens, when STRATA_WATCHER_HOOK_PORT is set */
  readonly hookAddress: { host: string; port: number } | undefined;
}

/** Outcome of one push notification. */
export interface HookReport {
  /** scan.requested events published */
  requested: number;
  /** pushes already requested within the dedup window (replayed event id, or the same repository@digest) */
  duplicates: number;
  /** events that are not manifest pushes, or name a registry or repository that is not watched */
  ignored: number;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

class HookHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The body, at most `max` bytes: 413 past it (the rest is not read). */
function readBody(req: IncomingMessage, max: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) return Promise.reject(new HookHttpError(413, `the body exceeds ${max} bytes`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.removeAllListeners('data');
        req.pause();
        reject(new HookHttpError(413, `the body exceeds ${max} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

interface WatcherMetrics {
  passes: Counter<'registry' | 'outcome'>;
  requested: Counter<'registry'>;
  errors: Counter<'registry'>;
  requests: Counter<'registry'>;
  hooks: Counter<'source' | 'outcome'>;
}

function watcherMetrics(ctx: StageContext): WatcherMetrics {
  const registers = [ctx.runtime.metrics.registry];
  return {
    passes: new Counter({
      name: 'strata_watcher_passes_total',
      help: 'passes over a registry, by outcome (ok, failed)',
      labelNames: ['registry', 'outcome'],
      registers,
    }),
    requested: new Counter({
      name: 'strata_watcher_scans_requested_total',
      help: 'scan.requested events published by the watcher',
      labelNames: ['registry'],
      registers,
    }),
    errors: new Counter({
      name: 'strata_watcher_errors_total',
      help: 'registry passes that failed, and repositories or tags that could not be read',
      labelNames: ['registry'],
      registers,
    }),
    requests: new Counter({
      name: 'strata_watcher_registry_requests_total',
      help: 'HTTP requests sent to a registry by the watcher (rate-limited)',
      labelNames: ['registry'],
      registers,
    }),
    hooks: new Counter({
      name: 'strata_watcher_hook_requests_total',
      help: 'push notifications received, by source (distribution, harbor) and outcome (accepted, unauthorized, rejected, failed)',
      labelNames: ['source', 'outcome'],
      registers,
    }),
  };
}

async function registryCredentials(config: WatcherConfig, registry: WatchedRegistry): Promise<Credentials | undefined> {
  if (registry.credentialsRef !== undefined) {
    const entry = config.STRATA_REGISTRY_CREDENTIALS[registry.credentialsRef];
    if (!entry) throw new Error(`credentials entry "${registry.credentialsRef}" is not in STRATA_REGISTRY_CREDENTIALS`);
    return { username: entry.username, password: entry.password };
  }
  return resolveCredentials(registry.host, config.DOCKER_CONFIG ? { dockerConfigDir: config.DOCKER_CONFIG } : {});
}

export function startWatcher(config: WatcherConfig, options: StartOptions = {}): Promise<RunningWatcher> {
  const problems = watcherConfigProblems(config);
  if (problems.length > 0) return Promise.reject(new SettingsError(problems));

  const stopping = new AbortController();
  const limiters = new Map<string, RateLimiter>();
  let passes = 0;
  let queue: Promise<unknown> = Promise.resolve();
  let runPass!: () => Promise<RegistryPassReport[]>;
  let loop: Promise<void> = Promise.resolve();
  let hookServer: Server | undefined;
  let hookAddress: { host: string; port: number } | undefined;

  const started = startStageService('watcher', config, options, async (ctx) => {
    const metrics = watcherMetrics(ctx);
    const log = ctx.runtime.logger;
    // host/repository@digest (and event ids) requested lately, by a push or a pass: requested once.
    // In the findings DB when the watcher has one, so duplicates and replays stay idempotent across restarts.
    const db = ctx.findingsDb;
    const windowMs = config.STRATA_WATCHER_HOOK_DEDUP_MS;
    const dedup: PushDedup = db ? { claim: (key) => claimPushKey(db, key, windowMs), forget: (key) => forgetPushKey(db, key) } : memoryDedup(windowMs);
    if (db) {
      const prune = () => prunePushKeys(db, windowMs).catch((error: unknown) => log.warn({ err: describeError(error) }, 'could not prune the push dedup keys'));
      await prune();
      const pruning = setInterval(prune, Math.min(Math.max(windowMs, 1_000), 600_000));
      pruning.unref();
      stopping.signal.addEventListener('abort', () => clearInterval(pruning));
    }
    for (const registry of config.STRATA_WATCH_REGISTRIES) {
      const limiter = createRateLimiter({ perSecond: registry.requestsPerSecond });
      limiters.set(registry.host, {
        take: async (signal) => {
          await limiter.take(signal);
          metrics.requests.inc({ registry: registry.host });
        },
        get taken() {
          return limiter.taken;
        },
      });
    }

    async function publish(registry: WatchedRegistry, target: ScanTarget, pass: number | 'push'): Promise<void> {
      const scanId = randomUUID();
      const imageRef = target.tag !== '' ? targetReference(registry.host, target) : `${registry.host}/${target.repository}@${target.digest}`;
      const scan = { scanId, imageRef, traceId: scanId };
      await ctx.records.advance(scan, { status: 'QUEUED', stage: 'SUBMIT' });
      await ctx.runtime.publish(Topics.scanRequested, {
        scanId,
        imageRef,
        ...(target.platform
          ? { platform: { os: target.platform.os, architecture: target.platform.architecture, variant: target.platform.variant ?? '' } }
          : {}),
        requestedAt: timestampFromDate(new Date()),
        credentialsRef: registry.credentialsRef ?? '',
        ...(target.indexDigest ? { parentIndexDigest: target.indexDigest } : {}),
        traceId: scanId,
        trigger: ScanTrigger.WATCHER,
      });
      metrics.requested.inc({ registry: registry.host });
      log.info(
        {
          scanId,
          registry: registry.host,
          repository: target.repository,
          tags: target.tags,
          digest: target.digest,
          ...(target.platform ? { platform: target.platform, manifestDigest: target.manifestDigest } : {}),
          pass,
        },
        'scan requested',
      );
      ctx.observe({
        service: ctx.service,
        stage: 'watch',
        scanId,
        outcome: 'requested',
        manifestDigest: target.manifestDigest ?? target.digest,
        detail: {
          registry: registry.host,
          repository: target.repository,
          tag: target.tag,
          tags: target.tags,
          digest: target.digest,
          imageRef,
          platform: target.platform,
          indexDigest: target.indexDigest,
          pass,
        },
      });
    }

    /** A registry client with the registry's credentials, its rate limiter and the stop signal. */
    async function clientFor(registry: WatchedRegistry) {
      const credentials = await registryCredentials(config, registry);
      return watcherClient(registry.host, {
        ...(credentials ? { credentials } : {}),
        insecure: registry.insecure,
        limiter: limiters.get(registry.host)!,
        signal: stopping.signal,
      });
    }

    async function passRegistry(registry: WatchedRegistry, pass: number): Promise<RegistryPassReport> {
      const report: RegistryPassReport = { registry: registry.host, pass, ok: false, repositories: 0, tags: 0, requested: 0, unchanged: 0, problems: [] };
      let cursor: WatchCursor | undefined;
      const published: Array<NewDigest & { platformDigests: string[] }> = [];
      try {
        const client = await clientFor(registry);
        cursor = await loadCursor(ctx.runtime.store, registry.host);
        const crawl = await crawlRegistry(registry.host, registry, { pageSize: 1000 }, client);
        report.repositories = crawl.repositories.length;
        report.tags = crawl.tags.length;
        for (const p of crawl.problems) report.problems.push(p);
        const plan = planPass(cursor, crawl);
        const covered = new Map<string, string>();
        for (const [index, manifests] of Object.entries(plan.next.platforms)) for (const m of manifests) covered.set(m, index);
        for await (const step of expandDigests(client, plan.fresh, covered)) {
          const found = step.found;
          if (step.kind === 'covered') {
            log.info(
              { registry: registry.host, repository: found.repository, tags: found.tags, digest: found.digest, indexDigest: step.indexDigest },
              'already requested as a platform of an index',
            );
            plan.unchanged.push(found);
            continue;
          }
          if (step.kind === 'error') {
            // Not requested: the cursor forgets it, and the next pass tries again.
            report.problems.push({ repository: found.repository, tag: found.tag, reason: step.reason });
            plan.next.requested = plan.next.requested.filter((d) => d !== found.digest);
            continue;
          }
          if (step.skipped.length > 0)
            log.warn({ registry: registry.host, repository: found.repository, digest: found.digest, skipped: step.skipped }, 'index entries not scanned');
          for (const target of step.targets) {
            const key = `${registry.host}/${target.repository}@${target.manifestDigest ?? target.digest}`;
            if (!(await dedup.claim(key))) {
              log.info({ registry: registry.host, repository: target.repository, digest: target.digest }, 'already requested by a push notification');
              continue;
            }
            try {
              await publish(registry, target, pass);
            } catch (error) {
              await dedup.forget(key).catch(() => undefined); // not requested: the next pass (or a push) tries again
              throw error;
            }
            report.requested++;
          }
          const platformDigests = step.targets.flatMap((x) => (x.manifestDigest ? [x.manifestDigest] : []));
          if (platformDigests.length > 0) plan.next.platforms[found.digest] = platformDigests;
          published.push({ ...found, platformDigests });
        }
        for (const same of plan.unchanged) {
          ctx.observe({
            service: ctx.service,
            stage: 'watch',
            scanId: '',
            outcome: 'unchanged',
            manifestDigest: same.digest,
            detail: { registry: registry.host, repository: same.repository, tag: same.tag, pass },
          });
        }
        report.unchanged = plan.unchanged.length;
        // Only now: a crash before this line re-requests this pass's digests, never loses them.
        await saveCursor(ctx.runtime.store, plan.next);
        report.ok = true;
      } catch (error) {
        report.error = describeError(error);
        if (cursor && published.length > 0) {
          // Interrupted after publishing some requests: remember those, so they are not requested twice.
          const partial = {
            ...cursor,
            tags: { ...cursor.tags },
            requested: [...cursor.requested],
            platforms: { ...cursor.platforms },
            updatedAt: new Date().toISOString(),
          };
          for (const p of published) {
            for (const tag of p.tags) partial.tags[`${p.repository}:${tag}`] = p.digest;
            partial.requested.push(p.digest);
            if (p.platformDigests.length > 0) partial.platforms[p.digest] = p.platformDigests;
          }
          partial.requested = [...new Set(partial.requested)].sort();
          await saveCursor(ctx.runtime.store, partial).catch((saveError: unknown) =>
            log.error({ registry: registry.host, err: describeError(saveError) }, 'could not save the partial cursor'),
          );
        }
      }
      for (const problem of report.problems) {
        metrics.errors.inc({ registry: registry.host });
        log.warn(
          { registry: registry.host, repository: problem.repository, tag: problem.tag, reason: problem.reason, pass },
          'could not read part of the registry; the next pass tries again',
        );
      }
      if (report.ok) {
        metrics.passes.inc({ registry: registry.host, outcome: 'ok' });
        log.info(
          { registry: registry.host, pass, repositories: report.repositories, tags: report.tags, requested: report.requested, unchanged: report.unchanged },
          'registry pass done',
        );
      } else {
        metrics.passes.inc({ registry: registry.host, outcome: 'failed' });
        if (stopping.signal.aborted) {
          log.info({ registry: registry.host, pass, requested: report.requested }, 'registry pass interrupted: the watcher is stopping');
        } else {
          metrics.errors.inc({ registry: registry.host });
          log.error({ registry: registry.host, pass, reason: report.error }, 'registry pass failed; the next pass tries again');
        }
      }
      ctx.observe({ service: ctx.service, stage: 'watch', scanId: '', outcome: report.ok ? 'pass' : 'registry_failed', detail: { ...report } });
      return report;
    }

    const matchers = new Map(config.STRATA_WATCH_REGISTRIES.map((r) => [r.host, repositoryMatcher(r)]));

    /** Publishes scan.requested for each push not requested within the window (index: each platform). */
    async function handlePushes(parsed: ParsedHook, source: string): Promise<HookReport> {
      const report: HookReport = { requested: 0, duplicates: 0, ignored: parsed.ignored };
      for (const push of parsed.pushes) {
        const registry = config.STRATA_WATCH_REGISTRIES.find((r) => r.host === push.host);
        if (!registry || !matchers.get(registry.host)!(push.repository)) {
          report.ignored++;
          log.warn(
            { source, host: push.host, repository: push.repository, digest: push.digest },
            'push notification for a registry or repository not watched: ignored',
          );
          continue;
        }
        const key = `${registry.host}/${push.repository}@${push.digest}`;
        const eventKey = push.eventId !== undefined ? `event:${registry.host}:${push.eventId}` : undefined;
        // Claimed before publishing, so a replay arriving meanwhile is a duplicate; released if publishing fails.
        const eventNew = eventKey === undefined || (await dedup.claim(eventKey));
        if (!eventNew || !(await dedup.claim(key))) {
          report.duplicates++;
          log.info({ source, repository: push.repository, digest: push.digest, eventId: push.eventId }, 'push already requested: not requested again');
          continue;
        }
        try {
          report.requested += await requestPush(registry, push, source);
        } catch (error) {
          for (const k of [key, ...(eventKey !== undefined ? [eventKey] : [])]) await dedup.forget(k).catch(() => undefined);
          throw error;
        }
      }
      return report;
    }

    async function requestPush(registry: WatchedRegistry, push: PushedManifest, source: string): Promise<number> {
      const found = { repository: push.repository, tag: push.tag ?? '', tags: push.tag ? [push.tag] : [], digest: push.digest };
      if (push.mediaType !== undefined && !isIndexType(push.mediaType)) {
        await publish(registry, found, 'push');
        return 1;
      }
      // An index (or a payload without a media type): its platforms, as the crawl does.
      const client = await clientFor(registry);
      let requested = 0;
      for await (const step of expandDigests(client, [{ ...found, ...(push.mediaType ? { mediaType: push.mediaType } : {}) }])) {
        if (step.kind === 'error') throw new Error(`${registry.host}/${push.repository}@${push.digest}: ${step.reason}`);
        if (step.kind !== 'targets') continue;
        for (const target of step.targets) {
          const platformKey = `${registry.host}/${push.repository}@${target.manifestDigest ?? target.digest}`;
          if (target.manifestDigest !== undefined && !(await dedup.claim(platformKey))) continue;
          try {
            await publish(registry, target, 'push');
          } catch (error) {
            if (target.manifestDigest !== undefined) await dedup.forget(platformKey).catch(() => undefined);
            throw error;
          }
          requested++;
        }
      }
      log.info({ source, repository: push.repository, digest: push.digest, requested }, 'pushed index expanded');
      return requested;
    }

    const hookToken = config.STRATA_WATCHER_HOOK_TOKEN;
    const authorized = (req: IncomingMessage): boolean => {
      if (hookToken === undefined) return true; // STRATA_WATCHER_HOOK_OPEN on loopback (checked at start)
      const given = req.headers.authorization ?? '';
      // Hashes of equal length: the comparison takes the same time whatever the header holds.
      return timingSafeEqual(sha256(given), sha256(`Bearer ${hookToken}`));
    };

    async function serveHook(req: IncomingMessage, res: ServerResponse): Promise<void> {
      const path = (req.url ?? '').split('?', 1)[0];
      const source = path === '/hooks/distribution' ? 'distribution' : path === '/hooks/harbor' ? 'harbor' : undefined;
      const reply = (status: number, body: object) => {
        res.writeHead(status, { 'content-type': 'application/json', ...(status === 401 ? { 'www-authenticate': 'Bearer' } : {}) });
        res.end(JSON.stringify(body));
      };
      try {
        if (source === undefined) throw new HookHttpError(404, 'POST /hooks/distribution or /hooks/harbor');
        if (req.method !== 'POST') throw new HookHttpError(405, `${path} takes POST`);
        if (!authorized(req)) {
          metrics.hooks.inc({ source, outcome: 'unauthorized' });
          throw new HookHttpError(401, 'missing or wrong bearer token');
        }
        const body = await readBody(req, config.STRATA_WATCHER_HOOK_MAX_BYTES);
        let parsed: ParsedHook;
        try {
          parsed = source === 'distribution' ? parseDistributionEnvelope(body) : parseHarborWebhook(body);
        } catch (error) {
          if (error instanceof HookPayloadError) throw new HookHttpError(400, error.message);
          throw error;
        }
        const report = await handlePushes(parsed, source);
        metrics.hooks.inc({ source, outcome: 'accepted' });
        log.info({ source, ...report }, 'push notification handled');
        reply(202, report);
      } catch (error) {
        if (error instanceof HookHttpError) {
          if (error.status !== 401 && source) metrics.hooks.inc({ source, outcome: 'rejected' });
          log.warn({ source, status: error.status, reason: error.message }, 'push notification refused');
          reply(error.status, { error: error.message });
          if (error.status === 413) req.socket.destroySoon();
          return;
        }
        // The registry retries on a 5xx: nothing was lost.
        if (source) metrics.hooks.inc({ source, outcome: 'failed' });
        log.error({ source, err: describeError(error) }, 'push notification could not be handled; the registry will retry');
        reply(503, { error: 'could not request the scans; retry later' });
      }
    }

    if (config.STRATA_WATCHER_HOOK_PORT >= 0) {
      const server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) => void serveHook(req, res));
      server.maxHeadersCount = 100;
      const address = await listen(server, config.STRATA_WATCHER_HOOK_PORT, config.STRATA_WATCHER_HOOK_HOST);
      hookServer = server;
      hookAddress = { host: address.address, port: address.port };
      log.info({ host: address.address, port: address.port, token: hookToken !== undefined }, 'push-notification endpoint listening');
    }

    runPass = () => {
      const run = queue.then(async () => {
        const pass = passes + 1;
        const reports = await Promise.all(config.STRATA_WATCH_REGISTRIES.map((r) => passRegistry(r, pass)));
        passes = pass;
        return reports;
      });
      queue = run.catch(() => undefined);
      return run;
    };

    loop = (async () => {
      while (!stopping.signal.aborted) {
        await runPass();
        if (config.STRATA_WATCH_ONCE) return;
        await realClock.sleep(config.STRATA_WATCH_INTERVAL_MS, stopping.signal).catch(() => undefined);
      }
    })();
    loop.catch((error: unknown) => log.error({ err: describeError(error) }, 'watch loop ended'));
  });

  return started.then((service) => {
    const halt = async (how: () => Promise<void>) => {
      stopping.abort(new Error('watcher stopping'));
      if (hookServer) {
        const server = hookServer;
        hookServer = undefined;
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      }
      await loop.catch(() => undefined);
      await how();
    };
    return {
      name: service.name,
      runtime: service.runtime,
      stop: () => halt(service.stop),
      abort: () => halt(service.abort),
      runPass: () => runPass(),
      get passes() {
        return passes;
      },
      get hookAddress() {
        return hookAddress;
      },
      done: loop.then(
        () => undefined,
        () => undefined,
      ),
    };
  });
}
