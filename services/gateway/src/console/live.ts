// GET /api/v1/events: server-sent events fed by the gateway's own findings subscription (the
// event hub, one unique consumer group per gateway process, as WatchFindings uses). Findings
// events (FULL and DELTA), scan progress (the records of scans submitted through this console,
// re-read while they run, and the completion/failure of every scan), a heartbeat comment, and a
// bounded buffer per client: a client that falls behind gets `overflow` and is disconnected.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FindingsKind, Severity as ProtoSeverity, type FindingsPublished, type FindingSummary, type SeverityCounts as ProtoCounts } from '@strata/contracts';
import { repositoryOf } from '@strata/findings-db';
import type { Logger } from '@strata/log';
import type { AppliedFilters, FindingChange, FindingsEvent, ScanInfo, Severity, SeverityCounts } from './api.js';
import type { EventHub } from '../events.js';
import { SECURITY_HEADERS } from './http.js';

const MAX_ITEMS = 100;

const severityName = (s: ProtoSeverity): Severity => (s === ProtoSeverity.UNSPECIFIED ? 'UNKNOWN' : (ProtoSeverity[s] as Severity));
const countsOf = (c: ProtoCounts | undefined): SeverityCounts => ({
  critical: c?.critical ?? 0,
  high: c?.high ?? 0,
  medium: c?.medium ?? 0,
  low: c?.low ?? 0,
  unknown: c?.unknown ?? 0,
});
const change = (f: FindingSummary): FindingChange => ({
  vulnerabilityId: f.vulnerabilityId,
  packageName: f.packageName,
  installedVersion: f.installedVersion,
  fixedVersion: f.fixedVersion,
  severity: severityName(f.severity),
});

export function findingsEventJson(e: FindingsPublished): FindingsEvent {
  const published = e.publishedAt ? new Date(Number(e.publishedAt.seconds) * 1000 + Math.floor(e.publishedAt.nanos / 1e6)) : undefined;
  return {
    kind: e.kind === FindingsKind.DELTA ? 'DELTA' : 'FULL',
    ...(e.scanId ? { scanId: e.scanId } : {}),
    imageRef: e.imageRef,
    repository: repositoryOf(e.imageRef),
    manifestDigest: e.manifestDigest,
    ...(e.indexDigest ? { indexDigest: e.indexDigest } : {}),
    advisoryDbVersion: e.advisoryDbVersion,
    ...(e.previousAdvisoryDbVersion ? { previousAdvisoryDbVersion: e.previousAdvisoryDbVersion } : {}),
    counts: countsOf(e.counts),
    added: e.added.slice(0, MAX_ITEMS).map(change),
    resolved: e.resolved.slice(0, MAX_ITEMS).map(change),
    ...(e.added.length > MAX_ITEMS || e.resolved.length > MAX_ITEMS ? { truncated: true } : {}),
    ...(published && !Number.isNaN(published.getTime()) ? { publishedAt: published.toISOString() } : {}),
  };
}

/**
 * A repository glob (`*` any run, `?` one character) as a matcher over the whole name. Not a RegExp:
 * a glob of many `*` would be a catastrophic backtracking pattern (`^.*.*.*…a$` took minutes on a
 * 40-character name); this backtracks to the last `*` only, O(glob × name) at worst.
 */
export function globMatcher(glob: string): (name: string) => boolean {
  const pattern = [...glob];
  return (name) => {
    const text = [...name];
    let i = 0;
    let j = 0;
    let star = -1;
    let mark = 0;
    while (i < text.length) {
      const p = pattern[j];
      if (p === '*') {
        star = j++;
        mark = i;
      } else if (p !== undefined && (p === '?' || p === text[i])) {
        i++;
        j++;
      } else if (star >= 0) {
        j = star + 1;
        i = ++mark;
      } else return false;
    }
    while (pattern[j] === '*') j++;
    return j === pattern.length;
  };
}

export function liveFilter(f: AppliedFilters): (e: FindingsEvent) => boolean {
  const repo = f.repo ? globMatcher(f.repo) : undefined;
  const wanted = new Set(f.severities);
  const key: Record<Severity, keyof SeverityCounts> = { CRITICAL: 'critical', HIGH: 'high', MEDIUM: 'medium', LOW: 'low', UNKNOWN: 'unknown' };
  return (e) => {
    if (repo && !repo(e.repository)) return false;
    if (wanted.size === 0) return true;
    if (e.kind === 'DELTA') return [...e.added, ...e.resolved].some((x) => wanted.has(x.severity));
    return [...wanted].some((s) => e.counts[key[s]] > 0);
  };
}

export interface LiveFeedOptions {
  hub: EventHub;
  logger: Logger;
  /** The current ScanInfo of a scan (its record), or undefined. */
  scanInfo: (scanId: string) => Promise<ScanInfo | undefined>;
  /** Default 15 s. */
  heartbeatMs?: number;
  /** Bytes queued for one client before it is dropped. Default 1 MiB. */
  maxBufferBytes?: number;
  /** How often the records of tracked scans are re-read. Default 1 s. */
  pollMs?: number;
  /** Most clients at once (a 503 beyond). Default 200. */
  maxClients?: number;
}

export interface LiveFeed {
  readonly clients: number;
  /** Serves one event-stream request until the client leaves or the feed closes. */
  serve(req: IncomingMessage, res: ServerResponse, filters: AppliedFilters): boolean;
  /** Follows a scan's record until it ends (scans submitted through the console), sending `scan` events. */
  track(scanId: string): void;
  close(): void;
}

interface Client {
  res: ServerResponse;
  accepts: (e: FindingsEvent) => boolean;
}

export function createLiveFeed(options: LiveFeedOptions): LiveFeed {
  const logger = options.logger.child({ component: 'console-events' });
  const maxBuffer = options.maxBufferBytes ?? 1024 * 1024;
  const clients = new Set<Client>();
  const tracked = new Map<string, { last: string; until: number }>();

  const drop = (client: Client, why: string) => {
    if (!clients.delete(client)) return;
    logger.info({ why }, 'event-stream client dropped');
    client.res.end();
    // a client that reads nothing never lets end() flush: its connection (and what is queued) goes
    setTimeout(() => client.res.destroy(), 2_000).unref();
  };
  const send = (client: Client, event: string, data: unknown) => {
    if (client.res.writableLength > maxBuffer) {
      client.res.write(
        `event: overflow\ndata: ${JSON.stringify({ error: `more than ${maxBuffer} bytes of events queued for this client: reconnect and reload` })}\n\n`,
      );
      drop(client, 'too slow');
      return;
    }
    client.res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const broadcastScan = (info: ScanInfo) => {
    for (const client of [...clients]) send(client, 'scan', info);
  };

  const offFindings = options.hub.onFindings((event) => {
    if (clients.size === 0) return;
    const json = findingsEventJson(event);
    for (const client of [...clients]) if (client.accepts(json)) send(client, 'findings', json);
  });
  // A scan finished (any scan, whoever submitted it): send its record.
  const offScans = options.hub.onAnyScan((message) => {
    if (clients.size === 0 || message.kind === 'findings') return;
    const scanId = message.event.scanId;
    options
      .scanInfo(scanId)
      .then((info) => {
        if (!info) return;
        const seen = tracked.get(scanId);
        if (seen && seen.last === JSON.stringify(info)) return;
        tracked.delete(scanId);
        broadcastScan(info);
      })
      .catch((error: unknown) => logger.warn({ err: error, scanId }, 'could not read a finished scan'));
  });

  let polling = false;
  const poll = async () => {
    if (polling) return;
    polling = true;
    try {
      for (const [scanId, state] of [...tracked]) {
        const info = await options.scanInfo(scanId).catch(() => undefined);
        if (!info) {
          if (Date.now() > state.until) tracked.delete(scanId);
          continue;
        }
        const text = JSON.stringify(info);
        if (text !== state.last) {
          state.last = text;
          broadcastScan(info);
        }
        if (info.status === 'COMPLETED' || info.status === 'FAILED' || Date.now() > state.until) tracked.delete(scanId);
      }
    } finally {
      polling = false;
    }
  };
  const poller = setInterval(() => void poll(), options.pollMs ?? 1_000);
  const heartbeat = setInterval(() => {
    for (const client of [...clients]) {
      if (client.res.writableLength > maxBuffer) drop(client, 'too slow');
      else client.res.write(': heartbeat\n\n');
    }
  }, options.heartbeatMs ?? 15_000);
  poller.unref();
  heartbeat.unref();

  return {
    get clients() {
      return clients.size;
    },
    serve(req, res, filters) {
      if (clients.size >= (options.maxClients ?? 200)) return false;
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.flushHeaders();
      const client: Client = { res, accepts: liveFilter(filters) };
      clients.add(client);
      res.write('retry: 3000\n\n');
      send(client, 'hello', { at: new Date().toISOString() });
      const gone = () => clients.delete(client);
      req.on('close', gone);
      res.on('close', gone);
      return true;
    },
    track(scanId) {
      tracked.set(scanId, { last: '', until: Date.now() + 30 * 60_000 });
    },
    close() {
      offFindings();
      offScans();
      clearInterval(poller);
      clearInterval(heartbeat);
      for (const client of [...clients]) drop(client, 'console closing');
    },
  };
}
