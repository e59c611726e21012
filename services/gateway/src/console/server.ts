// The web console's HTTP server (node:http, or node:https with the gateway's TLS files): login with
// the gateway token, the JSON API of api.ts over the findings DB, server-sent events, report
// downloads through the gateway's GetReport, scans through its ScanImage, and the UI's static files.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { OpenIndexResult } from '@strata/advisories';
import { getJson, type BlobStore } from '@strata/blobstore';
import { create } from '@bufbuild/protobuf';
import { GetReportRequestSchema, ReportFormat, ScanImageRequestSchema } from '@strata/contracts';
import { describeError } from '@strata/errors';
import type { FindingsDb } from '@strata/findings-db';
import type { Logger } from '@strata/log';
import { isDigest } from '@strata/oci';
import { isValidScanId, readImageRecord, readScanRecord, resultKey, type ScanRecord } from '@strata/scan-records';
import type { EventHub } from '../events.js';
import { RpcError, type ScanServiceImpl } from '../service.js';
import type {
  FindingRow,
  FindingsResponse,
  ImageDetail,
  ImagesResponse,
  LayerInfo,
  OverviewResponse,
  PackagesResponse,
  ReportFormat as ReportFormatName,
  ScanAccepted,
  ScanInfo,
  ScansResponse,
  StageName,
  StatusResponse,
  TrendResponse,
  VulnerabilityResponse,
} from './api.js';
import { consoleAuth, isLoopback, loginThrottle, type LoginThrottleOptions } from './auth.js';
import { decodeSegment, filtersOf, HttpError, limitOf, param, readFields, sendError, sendJson, SECURITY_HEADERS } from './http.js';
import { createLiveFeed, type LiveFeed } from './live.js';
import { ConsoleQueries, locationKey, type ScanInfoSource } from './queries.js';
import { staticFiles } from './static.js';
import { FindingsSummary } from './summary.js';

export interface ConsoleOptions {
  logger: Logger;
  /** Address to listen on; without a token it must be loopback. */
  host: string;
  /** 0: any free port. */
  port: number;
  /** GATEWAY_TOKEN: log in with it; without one the console is open (loopback only). */
  token?: string;
  tls?: { cert: Buffer; key: Buffer };
  /** Directory of the UI bundle (index.html and its assets). */
  staticDir: string;
  /** The findings DB; without it the data endpoints answer 503. */
  db?: FindingsDb;
  store: BlobStore;
  hub: EventHub;
  scans: ScanServiceImpl['direct'];
  /** The advisory DB (aliases of an advisory id, its summary). */
  indexSource?: () => Promise<OpenIndexResult>;
  /** Answer the overview from the in-memory summary (summary.ts) once loaded. Default true. */
  summary?: boolean;
  /** How often the summary looks for changed images. Default 2000 ms. */
  summaryRefreshMs?: number;
  /** The most URL bytes a request may have. Default 8 KiB. */
  maxUrlBytes?: number;
  /** The per-address backoff after wrong tokens (auth.ts loginThrottle). */
  loginThrottle?: LoginThrottleOptions;
}

export interface ConsoleServer {
  readonly port: number;
  /** http(s)://host:port */
  readonly url: string;
  readonly live: LiveFeed;
  /** Resolves once the overview summary is in memory (at once without one; rejects when it could not load). */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

export class ConsoleConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConsoleConfigError';
  }
}

const STAGES: readonly StageName[] = ['SUBMIT', 'RESOLVE', 'FETCH', 'ANALYZE', 'MERGE', 'MATCH', 'REPORT'];
const FORMATS: Record<ReportFormatName, { format: ReportFormat; type: string; extension: string }> = {
  json: { format: ReportFormat.JSON, type: 'application/json; charset=utf-8', extension: 'json' },
  table: { format: ReportFormat.TABLE, type: 'text/plain; charset=utf-8', extension: 'txt' },
  sarif: { format: ReportFormat.SARIF, type: 'application/sarif+json; charset=utf-8', extension: 'sarif.json' },
  cyclonedx: { format: ReportFormat.CYCLONEDX, type: 'application/vnd.cyclonedx+json; charset=utf-8', extension: 'cdx.json' },
  spdx: { format: ReportFormat.SPDX, type: 'application/spdx+json; charset=utf-8', extension: 'spdx.json' },
};
const VULNERABILITY_ID = /^[A-Za-z0-9][A-Za-z0-9._:+-]{0,199}$/;
const LOGIN_BODY = 4 * 1024;
const SCAN_BODY = 16 * 1024;

const HTTP_OF_GRPC: Partial<Record<grpc.status, number>> = {
  [grpc.status.INVALID_ARGUMENT]: 400,
  [grpc.status.NOT_FOUND]: 404,
  [grpc.status.FAILED_PRECONDITION]: 409,
  [grpc.status.UNIMPLEMENTED]: 501,
  [grpc.status.UNAVAILABLE]: 503,
  [grpc.status.DEADLINE_EXCEEDED]: 504,
  [grpc.status.RESOURCE_EXHAUSTED]: 429,
};

/** A scan record as the API shows it, with every stage's state. */
export function scanInfoOf(record: ScanInfoSource | ScanRecord): ScanInfo {
  const status = record.status;
  const at = record.stage ? STAGES.indexOf(record.stage as StageName) : -1;
  const failedAt = status === 'FAILED' ? STAGES.indexOf((record.error?.stage ?? record.stage ?? 'SUBMIT') as StageName) : -1;
  const stages = STAGES.map((stage, i) => {
    if (status === 'COMPLETED') return { stage, state: 'done' as const };
    if (status === 'FAILED') return { stage, state: i < failedAt ? ('done' as const) : i === failedAt ? ('failed' as const) : ('pending' as const) };
    return { stage, state: i < at ? ('done' as const) : i === at ? ('running' as const) : ('pending' as const) };
  });
  const error = record.error;
  return {
    scanId: record.scanId,
    imageRef: record.imageRef,
    status,
    ...(record.stage ? { stage: record.stage as StageName } : {}),
    stages,
    ...(record.manifestDigest ? { manifestDigest: record.manifestDigest } : {}),
    ...(record.advisoryDbVersion ? { advisoryDbVersion: record.advisoryDbVersion } : {}),
    ...(record.counts ? { counts: { ...record.counts } } : {}),
    ...(record.layers ? { layers: { total: record.layers.total, cached: record.layers.cached } } : {}),
    ...(error
      ? {
          error: {
            ...(error.stage ? { stage: error.stage as StageName } : {}),
            ...(error.code ? { code: error.code } : {}),
            reason: error.reason ?? `scan ${record.scanId} failed (no reason recorded)`,
          },
        }
      : {}),
    ...(record.createdAt ? { createdAt: record.createdAt } : {}),
    updatedAt: record.updatedAt,
  };
}

interface SeveritySources {
  get(vulnerabilityId: string, packageName: string, installedVersion: string): string | undefined;
}

/** Starts the console; throws ConsoleConfigError (one clear message) when it must not start as configured. */
export async function startConsole(options: ConsoleOptions): Promise<ConsoleServer> {
  const { logger, store, db } = options;
  if (options.token === undefined && !isLoopback(options.host))
    throw new ConsoleConfigError(
      `the console would serve ${options.host} without a token: set GATEWAY_TOKEN, bind it to loopback (GATEWAY_CONSOLE_HOST=127.0.0.1), or disable it (GATEWAY_CONSOLE_ENABLED=false)`,
    );
  if (options.token === '') throw new ConsoleConfigError('the console token is empty: set a real GATEWAY_TOKEN or none (loopback only)');
  const auth = consoleAuth(options.token);
  const throttle = loginThrottle(options.loginThrottle);
  const secure = Boolean(options.tls);
  const queries = db ? new ConsoleQueries(db.pool) : undefined;
  const summary =
    db && options.summary !== false
      ? new FindingsSummary({ pool: db.pool, logger, ...(options.summaryRefreshMs !== undefined ? { refreshMs: options.summaryRefreshMs } : {}) })
      : undefined;
  const files = staticFiles(options.staticDir);
  const maxUrl = options.maxUrlBytes ?? 8 * 1024;

  const scanInfo = async (scanId: string): Promise<ScanInfo | undefined> => {
    const fromDb = db ? await db.scan(scanId) : undefined;
    const fromStore = await readScanRecord(store, scanId);
    // whichever is further along (the DB copy may lag or lead the blob-store record)
    const pick = [fromDb, fromStore].filter((r): r is ScanRecord => r !== undefined).sort((a, b) => (a.updatedAt < b.updatedAt ? 1 : -1))[0];
    return pick ? scanInfoOf(pick) : undefined;
  };
  const live = createLiveFeed({ hub: options.hub, logger, scanInfo });
  /** ids of the last 50 scans submitted through this console (the scan list while records are not in the DB) */
  const submitted: string[] = [];

  // severity sources from the stored scan results (a few recent ones kept)
  const sourcesCache = new Map<string, Promise<SeveritySources | undefined>>();
  const severitySources = (manifestDigest: string, version: string): Promise<SeveritySources | undefined> => {
    const key = resultKey(manifestDigest, version);
    let entry = sourcesCache.get(key);
    if (!entry) {
      entry = getJson<{ findings?: { vulnerabilityId: string; pkgName: string; installedVersion: string; severitySource?: string }[] }>(store, key)
        .then((result) => {
          if (!result?.findings) return undefined;
          const map = new Map<string, string>();
          for (const f of result.findings) if (f.severitySource) map.set(`${f.vulnerabilityId}\u0000${f.pkgName}\u0000${f.installedVersion}`, f.severitySource);
          return { get: (v: string, n: string, i: string) => map.get(`${v}\u0000${n}\u0000${i}`) };
        })
        .catch((error: unknown) => {
          logger.warn({ err: describeError(error), key }, 'console: could not read a stored scan result (severity sources)');
          sourcesCache.delete(key);
          return undefined;
        });
      sourcesCache.set(key, entry);
      while (sourcesCache.size > 16) sourcesCache.delete(sourcesCache.keys().next().value as string);
    }
    return entry;
  };

  const needDb = (): ConsoleQueries => {
    if (!queries) throw new HttpError(503, 'this gateway has no findings DB (set STRATA_PG_URL): the console reads images and findings from PostgreSQL');
    return queries;
  };

  const digestParam = (raw: string): string => {
    const digest = decodeSegment(raw, 'the image digest');
    if (!isDigest(digest)) throw new HttpError(400, `not a manifest digest: expected sha256:<64 hex digits>`);
    return digest;
  };

  // One image page asks for its layers from three calls at once: they share one read (kept 10 s).
  const layerCache = new Map<string, { at: number; layers: Promise<LayerInfo[]> }>();
  const layersOf = (manifestDigest: string): Promise<LayerInfo[]> => {
    const hit = layerCache.get(manifestDigest);
    if (hit && Date.now() - hit.at < 10_000) return hit.layers;
    const layers = readLayers(manifestDigest);
    layerCache.set(manifestDigest, { at: Date.now(), layers });
    layers.catch(() => layerCache.delete(manifestDigest));
    while (layerCache.size > 256) layerCache.delete(layerCache.keys().next().value as string);
    return layers;
  };

  // A findings event means the DB holds a new state for that image: its cached layer counts and the
  // summary's last look are out of date (without this, pages lag a delta by up to 10 s / 2 s).
  const offFindings = options.hub.onFindings((event) => {
    layerCache.delete(event.manifestDigest);
    summary?.changed();
  });

  /** The layers of an image, bottom to top: the image record's (with sizes) merged with the DB's per-layer counts. */
  async function readLayers(manifestDigest: string): Promise<LayerInfo[]> {
    const [record, stats] = await Promise.all([
      readImageRecord(store, manifestDigest).catch((error: unknown) => {
        logger.warn({ err: describeError(error), manifestDigest }, 'console: could not read the image record');
        return undefined;
      }),
      needDb().layerStats(manifestDigest),
    ]);
    const layers: LayerInfo[] = [];
    const seen = new Set<string>();
    for (const l of record?.layers ?? []) {
      const s = stats.get(l.diffId);
      seen.add(l.diffId);
      layers.push({
        index: layers.length,
        digest: l.digest,
        diffId: l.diffId,
        ...(l.size !== undefined ? { size: l.size } : {}),
        createdBy: l.createdBy ?? s?.createdBy ?? '',
        packages: s?.packages ?? 0,
        findings: s?.findings ?? 0,
      });
    }
    for (const [diffId, s] of stats) {
      if (seen.has(diffId)) continue;
      layers.push({ index: layers.length, digest: s.digest, diffId, createdBy: s.createdBy, packages: s.packages, findings: s.findings });
    }
    return layers;
  }

  async function reportAvailable(manifestDigest: string): Promise<boolean> {
    for await (const key of store.list(`reports/${manifestDigest}/`)) if (key.endsWith('.json')) return true;
    return false;
  }

  /**
   * Whether the request is logged in. A bearer token is a guess like a login: its address's backoff
   * is checked before the token (a 429 whether right or wrong, else the answers would tell), and a
   * wrong one counts. Session cookies (HMAC, not guessable) are not throttled.
   */
  function authorized(req: IncomingMessage): boolean {
    if (!auth.required) return true;
    if (req.headers.authorization === undefined) return auth.authenticated(req);
    const remote = req.socket.remoteAddress ?? '';
    const wait = throttle.blocked(remote);
    if (wait > 0) throw new HttpError(429, `too many wrong tokens from ${remote}: try again in ${wait} s`, { 'retry-after': String(wait) });
    if (auth.authenticated(req)) return true;
    throttle.failed(remote);
    return false;
  }

  async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const query = url.searchParams;

    // An open console (no token) trusts whoever reaches it, so only loopback names may address it:
    // a page of another site whose name is rebound to 127.0.0.1 (DNS rebinding) is same-origin for
    // its browser and would otherwise read the API and submit scans.
    if (!auth.required && !isLoopback(hostName(req.headers.host)))
      throw new HttpError(403, 'this console has no token and answers loopback names only (Host: localhost, 127.0.0.1 or [::1])');

    if (method === 'POST') {
      // The host is compared, not the scheme: behind a TLS-terminating proxy the page is https while
      // this server speaks http, and a page on the same host is the console's own either way.
      const originHost = pageHost(req.headers.origin ?? req.headers.referer);
      if ((originHost !== undefined && originHost !== (req.headers.host ?? '').toLowerCase()) || req.headers['sec-fetch-site'] === 'cross-site')
        throw new HttpError(403, 'cross-origin POST refused: the console accepts POSTs from its own pages only');
    }

    if (path === '/login' || path === '/logout') {
      if (method !== 'POST') throw new HttpError(405, `${path} takes POST`, { allow: 'POST' });
      if (path === '/logout') {
        res.writeHead(204, { ...SECURITY_HEADERS, 'set-cookie': auth.clearCookie(secure), 'cache-control': 'no-store' });
        res.end();
        return;
      }
      const remote = req.socket.remoteAddress ?? '';
      const wait = throttle.blocked(remote);
      if (wait > 0) throw new HttpError(429, `too many wrong tokens from ${remote}: try again in ${wait} s`, { 'retry-after': String(wait) });
      const fields = await readFields(req, LOGIN_BODY);
      const token = typeof fields.token === 'string' ? fields.token : '';
      const session = auth.login(token);
      if (session === undefined) {
        throttle.failed(remote);
        logger.warn({ remote }, 'console: a login with a wrong token');
        throw new HttpError(401, 'wrong token');
      }
      throttle.succeeded(remote);
      const headers = { ...SECURITY_HEADERS, 'cache-control': 'no-store', ...(auth.required ? { 'set-cookie': auth.cookie(session, secure) } : {}) };
      const form = (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
      if (form && !(req.headers.accept ?? '').includes('application/json')) res.writeHead(303, { ...headers, location: '/' });
      else res.writeHead(204, headers);
      res.end();
      return;
    }

    if (!path.startsWith('/api/')) {
      if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, 'static files take GET', { allow: 'GET, HEAD' });
      await files.serve(req, res, path);
      return;
    }

    if (path === '/api/v1/status') {
      const body: StatusResponse = {
        authRequired: auth.required,
        authenticated: authorized(req),
        database: queries ? { available: true } : { available: false, message: 'no findings DB: set STRATA_PG_URL on the gateway' },
        advisoryDb: Boolean(options.indexSource),
        events: true,
      };
      sendJson(res, 200, body);
      return;
    }
    if (!authorized(req)) throw new HttpError(401, 'log in with the gateway token (POST /login) or send Authorization: Bearer <token>');

    const parts = path
      .split('/')
      .filter((p) => p !== '')
      .slice(2); // after /api/v1
    if (path.split('/')[2] !== 'v1') throw new HttpError(404, `no API endpoint ${path}`);
    const [resource, id, sub, ...rest] = parts;
    if (rest.length > 0) throw new HttpError(404, `no API endpoint ${path}`);
    const get = () => {
      if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, `${path} takes GET`, { allow: 'GET' });
    };

    switch (resource) {
      case 'overview': {
        get();
        if (id !== undefined) break;
        const filters = filtersOf(query);
        const q = needDb();
        let overview;
        if (summary?.ready) {
          await summary.fresh();
          overview = summary.overview(filters);
        } else overview = await q.overview(filters);
        const body: OverviewResponse = { filters, ...overview, asOf: new Date().toISOString() };
        sendJson(res, 200, body);
        return;
      }
      case 'trend': {
        get();
        if (id !== undefined) break;
        const filters = filtersOf(query);
        const rawDays = param(query, 'days') ?? '30';
        if (!/^\d{1,3}$/.test(rawDays) || Number(rawDays) < 1 || Number(rawDays) > 365) throw new HttpError(400, 'days: a whole number from 1 to 365');
        const days = Number(rawDays);
        const body: TrendResponse = { filters, days, points: await needDb().trend(filters, days) };
        sendJson(res, 200, body);
        return;
      }
      case 'images': {
        get();
        if (id === undefined) {
          const filters = filtersOf(query);
          const sort = param(query, 'sort') ?? 'name';
          if (sort !== 'name' && sort !== 'risk') throw new HttpError(400, 'sort: name or risk');
          const page = await needDb().images(filters, sort, limitOf(query), param(query, 'cursor'));
          const body: ImagesResponse = { filters, ...page };
          sendJson(res, 200, body);
          return;
        }
        const digest = digestParam(id);
        if (sub === 'report') return await report(res, digest, query);
        const q = needDb();
        const image = await q.image(digest);
        if (!image) throw new HttpError(404, `no image ${digest} in the findings DB`);
        const { inventoryDigest: _inventory, ...summary } = image;
        if (sub === undefined) {
          const [refs, platforms, layers, hasReport] = await Promise.all([q.refs(digest), q.platforms(summary), layersOf(digest), reportAvailable(digest)]);
          const body: ImageDetail = {
            image: summary,
            refs,
            platforms,
            layers,
            reportFormats: Object.keys(FORMATS) as ReportFormatName[],
            reportAvailable: hasReport,
          };
          sendJson(res, 200, body);
          return;
        }
        const layerParam = param(query, 'layer');
        if (layerParam !== undefined && !isDigest(layerParam)) throw new HttpError(400, 'layer: a layer diffID, sha256:<64 hex digits>');
        if (sub === 'packages') {
          const layers = await layersOf(digest);
          const index = new Map(layers.map((l) => [l.diffId, l.index]));
          const page = await q.packages(
            digest,
            layers.map((l) => l.diffId),
            layerParam,
            limitOf(query, 100, 500),
            param(query, 'cursor'),
          );
          const body: PackagesResponse = { ...page, items: page.items.map((p) => ({ ...p, layerIndex: index.get(p.layerDiffId) ?? -1 })) };
          sendJson(res, 200, body);
          return;
        }
        if (sub === 'findings') {
          const filters = filtersOf(query);
          const [page, layers] = await Promise.all([
            q.findings(digest, filters, layerParam, limitOf(query, 100, 500), param(query, 'cursor')),
            layersOf(digest),
          ]);
          const index = new Map(layers.map((l) => [l.diffId, l.index]));
          const [where, sources] = await Promise.all([
            q.locations(
              [digest],
              page.items.map((f) => ({ ecosystem: f.ecosystem, name: f.packageName, installedVersion: f.installedVersion })),
            ),
            summary.advisoryDbVersion ? severitySources(digest, summary.advisoryDbVersion) : Promise.resolve(undefined),
          ]);
          const items: FindingRow[] = page.items.map((f) => {
            const source = sources?.get(f.vulnerabilityId, f.packageName, f.installedVersion);
            return {
              ...f,
              ...(source ? { severitySource: source } : {}),
              layers: (where.get(locationKey(digest, f.ecosystem, f.packageName, f.installedVersion)) ?? []).map((l) => ({
                index: index.get(l.layerDiffId) ?? -1,
                diffId: l.layerDiffId,
                path: l.path,
              })),
            };
          });
          const body: FindingsResponse = {
            items,
            ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
            ...(summary.advisoryDbVersion ? { advisoryDbVersion: summary.advisoryDbVersion } : {}),
          };
          sendJson(res, 200, body);
          return;
        }
        break;
      }
      case 'vulnerabilities': {
        get();
        if (id === undefined || sub !== undefined) break;
        const vulnId = decodeSegment(id, 'the vulnerability id').trim();
        if (!VULNERABILITY_ID.test(vulnId)) throw new HttpError(400, 'not a vulnerability id: up to 200 of A-Z a-z 0-9 . _ : + -');
        const q = needDb();
        const ids = new Set([vulnId]);
        let advisory: VulnerabilityResponse['advisory'];
        if (options.indexSource) {
          const { index } = await options.indexSource();
          for (const recordId of index.recordIds(vulnId)) {
            ids.add(recordId);
            const record = index.record(recordId);
            if (!record) continue;
            for (const cve of record.cves) ids.add(cve);
            advisory ??= {
              ...(record.summary ? { summary: record.summary } : {}),
              aliases: [...new Set([record.id, ...record.aliases, ...record.upstream])].filter((a) => a !== vulnId).sort(),
              references: record.references.slice(0, 20).map((r) => r.url),
            };
          }
        }
        const idList = [...ids].sort();
        let known;
        if (summary?.ready) {
          await summary.fresh();
          known = summary.vulnerability(idList);
        }
        const page = await q.vulnerability(idList, limitOf(query), param(query, 'cursor'), known);
        const where = await q.locations(
          page.items.map((i) => i.manifestDigest),
          page.items.flatMap((i) => i.packages.map((p) => ({ ecosystem: p.ecosystem, name: p.name, installedVersion: p.installedVersion }))),
        );
        const body: VulnerabilityResponse = {
          vulnerabilityId: vulnId,
          ids: idList,
          ...(page.severity ? { severity: page.severity } : {}),
          fixedVersions: page.fixedVersions,
          totalPlatforms: page.totalPlatforms,
          ...(advisory ? { advisory } : {}),
          items: page.items.map((i) => ({
            ...i,
            packages: i.packages.map((p) => ({ ...p, locations: where.get(locationKey(i.manifestDigest, p.ecosystem, p.name, p.installedVersion)) ?? [] })),
          })),
          ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
        };
        sendJson(res, 200, body);
        return;
      }
      case 'scans': {
        if (id === undefined && method === 'POST') {
          const fields = await readFields(req, SCAN_BODY);
          const reference = typeof fields.reference === 'string' ? fields.reference.trim() : '';
          if (reference === '' || reference.length > 1024) throw new HttpError(400, 'reference: an image reference (at most 1024 characters) is needed');
          const platform = typeof fields.platform === 'string' ? fields.platform.trim() : '';
          if (platform !== '' && !/^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/.test(platform))
            throw new HttpError(400, 'platform: os/arch[/variant], e.g. linux/arm64');
          const [os, architecture, variant] = platform.split('/');
          const { scanId } = await options.scans.submitScan(
            create(ScanImageRequestSchema, {
              imageRef: reference,
              ...(platform ? { platform: { os: os ?? '', architecture: architecture ?? '', variant: variant ?? '' } } : {}),
              wait: false,
            }),
          );
          live.track(scanId);
          submitted.push(scanId);
          if (submitted.length > 50) submitted.shift();
          const body: ScanAccepted = { scanId, status: 'QUEUED' };
          sendJson(res, 202, body, { location: `/api/v1/scans/${scanId}` });
          return;
        }
        get();
        if (id === undefined) {
          const cursor = param(query, 'cursor');
          const page = await needDb().scans(limitOf(query), cursor);
          let items = page.items.map((s) => scanInfoOf(s.record));
          // Scan records not (yet) in the findings DB: the scans submitted through this console, newest first.
          if (items.length === 0 && cursor === undefined)
            items = (await Promise.all([...submitted].reverse().map((scanId) => scanInfo(scanId).catch(() => undefined)))).filter(
              (i): i is ScanInfo => i !== undefined,
            );
          const body: ScansResponse = { items, ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
          sendJson(res, 200, body);
          return;
        }
        if (sub !== undefined) break;
        const scanId = decodeSegment(id, 'the scan id');
        if (!isValidScanId(scanId)) throw new HttpError(400, 'not a scan id');
        const info = await scanInfo(scanId);
        if (!info) throw new HttpError(404, `no scan ${scanId}`);
        sendJson(res, 200, info);
        return;
      }
      case 'events': {
        // GET only: a HEAD would hold one of the 200 stream places without ever reading a byte
        if (method !== 'GET') throw new HttpError(405, `${path} takes GET`, { allow: 'GET' });
        if (id !== undefined) break;
        const filters = filtersOf(query);
        if (!live.serve(req, res, filters)) throw new HttpError(503, 'too many event-stream clients on this gateway: try again later');
        return;
      }
    }
    throw new HttpError(404, `no API endpoint ${path}`);
  }

  async function report(res: ServerResponse, digest: string, query: URLSearchParams): Promise<void> {
    const name = (param(query, 'format') ?? 'json').toLowerCase() as ReportFormatName;
    const format = FORMATS[name];
    if (!format) throw new HttpError(400, `format: one of ${Object.keys(FORMATS).join(', ')}`);
    const reply = await options.scans.getReport(create(GetReportRequestSchema, { selector: { case: 'manifestDigest', value: digest }, format: format.format }));
    const content = reply.content ?? new Uint8Array();
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': format.type,
      'content-length': content.byteLength,
      'content-disposition': `attachment; filename="${digest.replace(':', '-')}.${format.extension}"`,
      'cache-control': 'no-store',
    });
    res.end(content);
  }

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    const rawUrl = req.url ?? '/';
    // logs carry the path only, never the query string (whatever a user pasted into it)
    const logPath = (rawUrl.split('?')[0] ?? '').slice(0, 200);
    void (async () => {
      if (Buffer.byteLength(rawUrl) > maxUrl) throw new HttpError(414, `the URL is longer than ${maxUrl} bytes`);
      if (!['GET', 'HEAD', 'POST'].includes(req.method ?? '')) throw new HttpError(405, 'the console answers GET, HEAD and POST', { allow: 'GET, HEAD, POST' });
      let url: URL;
      try {
        url = new URL(rawUrl, 'http://console.invalid');
      } catch {
        throw new HttpError(400, 'the URL cannot be parsed');
      }
      await route(req, res, url);
    })()
      .catch((error: unknown) => {
        if (error instanceof HttpError) return sendError(res, error.status, error.message, error.headers);
        if (error instanceof RpcError) {
          const status = HTTP_OF_GRPC[error.code] ?? 500;
          if (status >= 500) logger.error({ err: describeError(error) }, 'console: gateway call failed');
          return sendError(res, status, error.message);
        }
        logger.error({ err: describeError(error), path: logPath }, 'console: request failed');
        sendError(res, 500, `internal error: ${describeError(error).split('\n')[0]?.slice(0, 300)}`);
      })
      .finally(() => {
        logger.debug({ method: req.method, path: logPath, status: res.statusCode, ms: Math.round(performance.now() - started) }, 'console request');
      });
  };

  const server: Server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, handler) : createHttpServer(handler);
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000;
  server.maxHeadersCount = 100;
  // bounded sockets (slow or idle clients hold one each); event streams are capped at 200 below this
  server.maxConnections = 1024;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new ConsoleConfigError(`the console could not listen on ${options.host}:${options.port}: ${describeError(error)}`)));
    server.listen(options.port, options.host, resolve);
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = `${secure ? 'https' : 'http'}://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}`;
  logger.info({ address: `${host}:${port}`, auth: auth.required, tls: secure, db: Boolean(queries), staticDir: options.staticDir }, 'console listening');

  const ready = summary ? summary.load() : Promise.resolve();
  ready.catch((error: unknown) => logger.error({ err: describeError(error) }, 'console: could not load the findings summary; the overview reads PostgreSQL'));
  let closed: Promise<void> | undefined;
  return {
    port,
    url,
    live,
    ready,
    close() {
      closed ??= new Promise<void>((resolve) => {
        live.close();
        offFindings();
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2_000).unref();
      });
      return closed;
    },
  };
}

/** The name of a Host header without its port (`[::1]:8080` → `[::1]`). */
function hostName(host: string | undefined): string {
  if (!host) return '';
  const bracketed = /^(\[[^\]]*\])(?::\d*)?$/.exec(host);
  if (bracketed) return bracketed[1] as string;
  return host.replace(/:\d*$/, '');
}

/** The host (with port) of an Origin or Referer header; 'invalid' for anything but an http(s) URL (e.g. `Origin: null`). */
function pageHost(header: string | undefined): string | undefined {
  if (!header) return undefined;
  try {
    const url = new URL(header);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.host : 'invalid';
  } catch {
    return 'invalid';
  }
}
