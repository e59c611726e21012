// The console's HTTP API against the real PostgreSQL, Kafka and MinIO: answers equal to SQL over
// the documented views and to the gateway's GetReport, pagination by keyset cursors, login and
// tokens, CSRF and hostile inputs, live findings events from the findings topic.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { type ClientRequest, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { createS3BlobStore, putJson, type BlobStore } from '@strata/blobstore';
import { connectKafkaBus, type EventBus } from '@strata/bus';
import { FindingsKind, GetReportRequestSchema, ReportFormat, Severity as ProtoSeverity, Topics, encodeKeyedEvent, type EventTopic } from '@strata/contracts';
import { openFindingsDb, type FindingsDb } from '@strata/findings-db';
import { createTestDatabase, type TestDatabase } from '@strata/findings-db/testing';
import { createLogger } from '@strata/log';
import type { ImageInventory, InventoryPackage, LayerRef, Severity } from '@strata/model';
import type { FindingSummary } from '@strata/reverse-index';
import { reportKey, writeImageRecord } from '@strata/scan-records';
import { deleteTopicsOfRun, infra, skipUnless, uniqueName } from '@strata/testing';
import { startGateway, type Gateway } from '../gateway.js';
import { dropStore } from '../testing/index.js';
import type {
  FindingsEvent,
  FindingsResponse,
  ImageDetail,
  ImagesResponse,
  OverviewResponse,
  PackagesResponse,
  StatusResponse,
  TrendResponse,
  VulnerabilityResponse,
} from './api.js';
import { consoleAuth, isLoopback, loginThrottle, SESSION_COOKIE } from './auth.js';
import { globMatcher } from './live.js';
import { startConsole, type ConsoleServer } from './server.js';

const skip = skipUnless('kafka', 'minio', 'postgres');
const runId = `con${randomBytes(4).toString('hex')}`;
const topic = (logical: EventTopic) => `${runId}.${logical}`;
const logger = createLogger({ service: 'console-test', level: process.env.STRATA_LOG_LEVEL ?? 'warn' });
const TOKEN = `tok-${randomBytes(16).toString('hex')}`;
const SEVERITIES: Severity[] = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN'];

after(() => deleteTopicsOfRun(runId));

// --- a small catalog: 3 repositories, 12 platform manifests (two of them one index), shared base layer
let seed = 7;
const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
const hex = (n: number, fill: string) => `sha256:${fill.repeat(40)}${n.toString(16).padStart(24, '0')}`;
const layer = (n: number, createdBy: string): LayerRef => ({ digest: hex(n, 'a'), diffId: hex(n, 'd'), size: 1000 + n, createdBy });
const base = layer(1, 'ADD rootfs.tar /');
const dpkg = (name: string, version: string, on: LayerRef): InventoryPackage => ({
  type: 'dpkg',
  name,
  version,
  srcName: name,
  srcVersion: version,
  purl: `pkg:deb/debian/${name}@${version}`,
  layer: on,
  setPath: 'var/lib/dpkg/status',
});
interface Fixture {
  manifestDigest: string;
  imageRef: string;
  indexDigest?: string;
  platform: { os: string; architecture: string };
  inventory: ImageInventory;
  findings: FindingSummary[];
}
const VULNS = ['CVE-2024-1000', 'CVE-2024-1001', 'CVE-2024-1002', 'CVE-2024-1003', 'CVE-2024-1004'];
function fixtures(): Fixture[] {
  const out: Fixture[] = [];
  const repos = ['127.0.0.1:15000/team-a/api', '127.0.0.1:15000/team-a/web', '127.0.0.1:15000/team-b/db'];
  const index = hex(900, 'c');
  for (let i = 0; i < 12; i++) {
    const top = layer(100 + i, `RUN apt-get install app-${i}`);
    const packages = [
      dpkg('libc6', '2.36-9', base),
      dpkg('openssl', i % 2 ? '3.0.11-1' : '3.0.13-1', base),
      dpkg(`app-${i}`, '1.0-1', top),
      dpkg('zlib1g', '1.2.13-1', top),
    ];
    const findings: FindingSummary[] = [];
    for (const p of packages) {
      for (const v of VULNS) {
        if (random() < 0.35)
          findings.push({
            vulnerabilityId: v,
            ecosystem: 'debian:12',
            packageName: p.name,
            installedVersion: p.version,
            fixedVersion: random() < 0.5 ? '9.9-1' : '',
            severity: SEVERITIES[Math.floor(random() * 5)] as Severity,
          });
      }
    }
    const inIndex = i < 2;
    out.push({
      manifestDigest: hex(i, 'b'),
      imageRef: `${repos[i % 3]}:${runId}-${i}`,
      ...(inIndex ? { indexDigest: index } : {}),
      platform: { os: 'linux', architecture: inIndex && i === 1 ? 'arm64' : 'amd64' },
      inventory: { os: { family: 'debian', name: '12' }, osPackages: packages, applications: [], layers: [base, top], warnings: [] },
      findings,
    });
  }
  return out;
}

interface Answer<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: T;
}

describe('console API on PostgreSQL, Kafka and MinIO', { skip }, () => {
  let testDb: TestDatabase;
  let db: FindingsDb;
  let bus: EventBus;
  let store: BlobStore;
  let gateway: Gateway;
  let server: ConsoleServer;
  let staticDir: string;
  const images = fixtures();
  let origin: string;

  const call = async <T = unknown>(path: string, init: RequestInit & { auth?: boolean } = {}): Promise<Answer<T>> => {
    const headers = new Headers(init.headers);
    if (init.auth !== false && !headers.has('authorization') && !headers.has('cookie')) headers.set('authorization', `Bearer ${TOKEN}`);
    const res = await fetch(`${origin}${path}`, { ...init, headers, redirect: 'manual' });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: Object.fromEntries(res.headers), text, json: json as T };
  };
  const sql = async <T>(text: string, values: unknown[] = []): Promise<T[]> => (await db.pool.query(text, values)).rows as T[];

  before(async () => {
    testDb = await createTestDatabase();
    db = await openFindingsDb({ url: testDb.url, logger });
    bus = await connectKafkaBus({ brokers: infra.kafka()!.brokers, clientId: `console-${runId}`, sessionTimeoutMs: 6000, heartbeatIntervalMs: 500 });
    store = await createS3BlobStore({ ...infra.s3()!, bucket: uniqueName('con').toLowerCase().slice(0, 63) });
    await bus.ensureTopics([Topics.scanRequested, Topics.findings, Topics.scanCompleted, Topics.scanFailed].map(topic), 2);
    for (const f of images) {
      const { inventoryDigest } = await db.putInventory(f.inventory);
      await db.putImage({
        manifestDigest: f.manifestDigest,
        imageRef: f.imageRef,
        ...(f.indexDigest ? { indexDigest: f.indexDigest } : {}),
        platform: f.platform,
        inventoryDigest,
      });
      await db.setFindings(f.manifestDigest, { kind: 'FULL', advisoryDbVersion: 'db-1', findings: f.findings });
    }
    // a re-match resolves CVE-2024-1000 everywhere (history: the trend goes down)
    for (const f of images)
      await db.setFindings(f.manifestDigest, {
        kind: 'DELTA',
        advisoryDbVersion: 'db-2',
        findings: f.findings.filter((x) => x.vulnerabilityId !== 'CVE-2024-1000'),
      });
    const first = images[0]!;
    await writeImageRecord(store, {
      schemaVersion: 1,
      manifestDigest: first.manifestDigest,
      analyzerSetVersion: 'test',
      metadata: {
        reference: first.imageRef,
        manifestDigest: first.manifestDigest,
        configDigest: hex(0, 'e'),
        repoTags: [],
        repoDigests: [],
        diffIds: [],
        layers: first.inventory.layers,
        config: {},
      },
      layers: first.inventory.layers.map((l) => ({ ...l, cacheKey: `layers/${l.diffId}` })),
      resolvedAt: new Date().toISOString(),
    });
    await putJson(store, reportKey(first.manifestDigest, 'db-2'), {
      SchemaVersion: 2,
      CreatedAt: new Date().toISOString(),
      ArtifactName: first.imageRef,
      Results: [{ Target: 'x', Vulnerabilities: [{ VulnerabilityID: 'CVE-2024-1001', PkgName: 'libc6', Severity: 'HIGH' }] }],
    });
    gateway = await startGateway({ bus, store, logger, host: '127.0.0.1', port: 0, token: TOKEN, eventGroup: `strata-console-${runId}`, topic });
    staticDir = mkdtempSync(join(tmpdir(), 'strata-console-ui-'));
    writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>Strata</title><script type="module" src="/assets/app.js"></script>');
    mkdirSync(join(staticDir, 'assets'));
    writeFileSync(join(staticDir, 'assets', 'app.js'), 'console.log("strata");');
    writeFileSync(join(staticDir, '.secret'), 'no');
    const outside = mkdtempSync(join(tmpdir(), 'strata-console-outside-'));
    writeFileSync(join(outside, 'passwd.txt'), 'outside');
    symlinkSync(join(outside, 'passwd.txt'), join(staticDir, 'assets', 'link.txt'));
    server = await startConsole({ logger, host: '127.0.0.1', port: 0, token: TOKEN, staticDir, db, store, hub: gateway.events, scans: gateway.scans });
    origin = server.url;
  });

  /** Another console on this suite's DB, store and gateway: with the suite's token, or none when `open`. */
  const consoleWith = ({ open, ...options }: Partial<Parameters<typeof startConsole>[0]> & { open?: boolean }) =>
    startConsole({
      logger,
      host: '127.0.0.1',
      port: 0,
      ...(open ? {} : { token: TOKEN }),
      staticDir,
      db,
      store,
      hub: gateway.events,
      scans: gateway.scans,
      ...options,
    });

  after(async () => {
    await server?.close();
    await gateway?.close(1000);
    await bus?.close();
    await db?.close();
    await testDb?.drop();
    if (store) await dropStore(store);
  });

  test('without a token the console refuses a non-loopback address, with one message', async () => {
    await assert.rejects(consoleWith({ host: '0.0.0.0', open: true }), /without a token: set GATEWAY_TOKEN, bind it to loopback/);
    const open = await consoleWith({ open: true });
    try {
      const status = await fetch(`${open.url}/api/v1/status`).then((r) => r.json() as Promise<StatusResponse>);
      assert.deepEqual([status.authRequired, status.authenticated], [false, true]);
      assert.equal((await fetch(`${open.url}/api/v1/overview`)).status, 200);
    } finally {
      await open.close();
    }
  });

  test('auth: 401 without credentials, wrong token, bearer, login cookie (HttpOnly, SameSite=Strict), logout', async () => {
    const status = await call<StatusResponse>('/api/v1/status', { auth: false });
    assert.deepEqual([status.status, status.json.authRequired, status.json.authenticated, status.json.database.available], [200, true, false, true]);
    const denied = await call<{ error: string }>('/api/v1/overview', { auth: false });
    assert.equal(denied.status, 401);
    assert.match(denied.json.error, /log in/);
    assert.equal((await call('/api/v1/overview', { headers: { authorization: 'Bearer nope' } })).status, 401);
    assert.equal((await call('/api/v1/overview')).status, 200);

    const wrong = await call<{ error: string }>('/login', {
      method: 'POST',
      auth: false,
      headers: { 'content-type': 'application/json', origin },
      body: JSON.stringify({ token: 'x' }),
    });
    assert.deepEqual([wrong.status, wrong.json.error], [401, 'wrong token']);
    assert.ok(!wrong.text.includes(TOKEN));
    const login = await call('/login', {
      method: 'POST',
      auth: false,
      headers: { 'content-type': 'application/json', origin },
      body: JSON.stringify({ token: TOKEN }),
    });
    assert.equal(login.status, 204);
    const cookie = String(login.headers['set-cookie']);
    assert.match(cookie, /^strata_console=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+/);
    const session = cookie.split(';')[0]!;
    assert.equal((await call('/api/v1/overview', { headers: { cookie: session } })).status, 200);
    const tampered = session.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    assert.equal((await call('/api/v1/overview', { headers: { cookie: tampered } })).status, 401);
    // a form post (no JS) is redirected to the UI
    const form = await call('/login', {
      method: 'POST',
      auth: false,
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
      body: `token=${TOKEN}`,
    });
    assert.deepEqual([form.status, form.headers.location], [303, '/']);
    const logout = await call('/logout', { method: 'POST', headers: { cookie: session, origin } });
    assert.equal(logout.status, 204);
    assert.match(String(logout.headers['set-cookie']), /Max-Age=0/);
  });

  test('CSRF and hostile inputs: cross-origin POST, bad cursor, huge URL, bodies, traversal, bad ids', async () => {
    const cross = await call<{ error: string }>('/api/v1/scans', {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://evil.example' },
      body: '{"reference":"x"}',
    });
    assert.equal(cross.status, 403);
    assert.equal(
      (await call('/login', { method: 'POST', auth: false, headers: { 'content-type': 'application/json', origin: 'http://evil.example' }, body: '{}' }))
        .status,
      403,
    );
    // behind a TLS-terminating proxy the page is https on the console's own host: accepted; another port is another origin
    const login = (pageOrigin: string, body: string) =>
      call('/login', { method: 'POST', auth: false, headers: { 'content-type': 'application/json', origin: pageOrigin }, body });
    assert.equal((await login(`https://${new URL(origin).host}`, JSON.stringify({ token: TOKEN }))).status, 204);
    assert.equal((await login(`http://${new URL(origin).hostname}:1`, '{}')).status, 403);
    for (const cursor of ['!!!', Buffer.from('{"a":1}').toString('base64url'), Buffer.from('[1,2,3]').toString('base64url'), 'x'.repeat(3000)]) {
      const bad = await call<{ error: string }>(`/api/v1/images?cursor=${cursor}`);
      assert.equal(bad.status, 400, cursor);
      assert.match(bad.json.error, /cursor/);
    }
    const huge = await call<{ error: string }>(`/api/v1/images?repo=${'a'.repeat(10_000)}`);
    assert.equal(huge.status, 414);
    assert.equal((await call(`/api/v1/images?repo=${'a'.repeat(300)}`)).status, 400);
    assert.equal((await call('/api/v1/images?severity=bogus')).status, 400);
    assert.equal((await call('/api/v1/images?limit=0')).status, 400);
    assert.equal((await call('/api/v1/images?limit=1&limit=2')).status, 400);
    assert.equal((await call('/api/v1/trend?days=9999')).status, 400);
    assert.equal((await call('/api/v1/images/sha256:xyz')).status, 400);
    assert.equal((await call(`/api/v1/images/${hex(999, 'f')}`)).status, 404);
    assert.equal((await call('/api/v1/vulnerabilities/%3Cscript%3E')).status, 400);
    assert.equal((await call('/api/v1/nothing')).status, 404);
    assert.equal((await call('/api/v1/overview', { method: 'DELETE' })).status, 405);
    const big = await call<{ error: string }>('/api/v1/scans', {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin },
      body: JSON.stringify({ reference: 'x'.repeat(40_000) }),
    });
    assert.equal(big.status, 413);
    assert.equal((await call('/api/v1/scans', { method: 'POST', headers: { 'content-type': 'application/json', origin }, body: '{' })).status, 400);
    const local = await call<{ error: string }>('/api/v1/scans', {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin },
      body: '{"reference":"/tmp/image.tar"}',
    });
    assert.equal(local.status, 400);
    // every error is one JSON message, no stack trace
    for (const answer of [cross, huge, big, local]) {
      assert.equal(typeof answer.json.error, 'string');
      assert.ok(!/\n\s+at /.test(answer.text), answer.text);
    }
    // static files: traversal (raw, encoded), dot files and a symlink out of the bundle are refused
    for (const path of [
      '/../../etc/passwd.txt',
      '/%2e%2e/%2e%2e/etc/passwd.txt',
      '/assets/..%2f..%2f..%2fetc%2fpasswd.txt',
      '/.secret',
      '/assets/link.txt',
      '/assets/%00.js',
    ]) {
      const { status, body } = await rawGet(origin, path);
      assert.ok(status === 404 || status === 400, `${path}: ${status}`);
      assert.ok(!body.includes('outside') && !body.includes('root:'), path);
    }
    // a route-like path outside the bundle is the UI's index.html, never the file
    const passwd = await rawGet(origin, '/../../etc/passwd');
    assert.ok(passwd.body.startsWith('<!doctype html>'), passwd.body.slice(0, 100));
  });

  test('red team: glob ReDoS, bad percent-encoding, security headers on errors, login backoff, DNS rebinding of an open console', async () => {
    // a glob of many `*` was a catastrophic RegExp (minutes per name): now linear, same answer as SQL LIKE
    const stars = `${'*'.repeat(200)}a?`;
    for (const path of ['/api/v1/overview', '/api/v1/images', '/api/v1/trend']) {
      const answer = await call(`${path}?repo=${encodeURIComponent(stars)}`);
      assert.equal(answer.status, 200, `${path}: ${answer.text.slice(0, 200)}`);
    }
    // bad percent-encoding in ids is a 400 with one message (was a 500 from decodeURIComponent)
    for (const path of [
      '/api/v1/images/%E0%A4%A',
      '/api/v1/scans/%ff',
      '/api/v1/vulnerabilities/%E0%A4%A',
      `/api/v1/images/sha256:${hex(1, 'f').slice(7).toUpperCase()}`,
    ]) {
      const answer = await call<{ error: string }>(path);
      assert.equal(answer.status, 400, `${path}: ${answer.text}`);
      assert.equal(typeof answer.json.error, 'string');
    }
    // every answer (errors, JSON, SSE) carries a CSP with frame-ancestors 'none' and nosniff
    const events = new AbortController();
    const stream = await fetch(`${origin}/api/v1/events`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: events.signal });
    const sse = Object.fromEntries(stream.headers);
    events.abort();
    for (const headers of [
      (await call('/api/v1/nothing')).headers,
      (await call('/api/v1/overview')).headers,
      (await call('/api/v1/overview', { method: 'OPTIONS' })).headers,
      sse,
    ]) {
      assert.match(String(headers['content-security-policy']), /frame-ancestors 'none'/);
      assert.equal(headers['x-content-type-options'], 'nosniff');
    }
    // CSRF: `Origin: null` and a text/plain JSON body are refused
    const nullOrigin = await call('/api/v1/scans', {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'null' },
      body: '{"reference":"x"}',
    });
    assert.equal(nullOrigin.status, 403);
    const plain = await call('/api/v1/scans', { method: 'POST', headers: { 'content-type': 'text/plain', origin }, body: '{"reference":"x"}' });
    assert.equal(plain.status, 415);

    // login backoff per address: after the free wrong tokens even the right one waits (429 + Retry-After)
    const guarded = await consoleWith({ loginThrottle: { free: 2, firstWaitMs: 600_000 } });
    try {
      const login = (token: string) =>
        fetch(`${guarded.url}/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', origin: guarded.url },
          body: JSON.stringify({ token }),
        });
      assert.deepEqual(await Promise.all([login('a'), login('b'), login('c')]).then((r) => r.map((x) => x.status)), [401, 401, 401]);
      const held = await login(TOKEN);
      assert.equal(held.status, 429);
      assert.ok(Number(held.headers.get('retry-after')) > 0);
      const bearer = await fetch(`${guarded.url}/api/v1/overview`, { headers: { authorization: 'Bearer wrong' } });
      assert.equal(bearer.status, 429);
    } finally {
      await guarded.close();
    }

    // an open console answers loopback Host names only (DNS rebinding)
    const open = await consoleWith({ open: true });
    try {
      for (const host of ['localhost', '127.0.0.1', '[::1]'])
        assert.equal((await rawRequest(open.url, '/api/v1/status', { host: `${host}:${open.port}` })).status, 200, host);
      for (const host of ['evil.example', 'evil.example:80', '127.0.0.1.evil.example', ''])
        assert.equal((await rawRequest(open.url, '/api/v1/overview', { host })).status, 403, host);
    } finally {
      await open.close();
    }
  });

  test('red team: the token never reaches the logs (debug level), /api/v1/status is no brute-force oracle, an empty token is refused', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const debugLogger = createLogger({ service: 'console-log-test', level: 'debug', destination: sink });
    const watched = await consoleWith({ logger: debugLogger, loginThrottle: { free: 3, firstWaitMs: 600_000 } });
    try {
      const post = (token: string) =>
        fetch(`${watched.url}/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', origin: watched.url },
          body: JSON.stringify({ token }),
        });
      assert.equal((await post(TOKEN)).status, 204);
      assert.equal((await post(`${TOKEN}x`)).status, 401);
      assert.equal((await fetch(`${watched.url}/api/v1/overview?token=${TOKEN}`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
      assert.equal((await fetch(`${watched.url}/api/v1/nothing?token=${TOKEN}`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 404);
      // status tells whether a bearer is right: wrong ones count, then it answers 429 like login
      const status = (bearer: string) => fetch(`${watched.url}/api/v1/status`, { headers: { authorization: `Bearer ${bearer}` } });
      assert.deepEqual(await Promise.all([status('a'), status('b'), status('c')]).then((r) => r.map((x) => x.status)), [200, 200, 200]);
      assert.equal((await status(TOKEN)).status, 429);
    } finally {
      await watched.close();
    }
    const text = lines.join('');
    assert.match(text, /console request/); // the debug request log was written
    assert.ok(!text.includes(TOKEN.slice(4)), 'the token (or a part of it) is in the logs');

    await assert.rejects(
      startConsole({ logger, host: '127.0.0.1', port: 0, token: '', staticDir, db, store, hub: gateway.events, scans: gateway.scans }),
      /token is empty/,
    );
  });

  test('red team: at most 200 event streams per console (the 201st is a 503 JSON error), freed when clients leave', async () => {
    const capped = await startConsole({ logger, host: '127.0.0.1', port: 0, token: TOKEN, staticDir, db, store, hub: gateway.events, scans: gateway.scans });
    const url = new URL(capped.url);
    const open = (): Promise<{ status: number; req: ClientRequest; body: Promise<string> }> =>
      new Promise((resolve, reject) => {
        const req = httpRequest(
          { host: url.hostname, port: url.port, path: '/api/v1/events', agent: false, headers: { authorization: `Bearer ${TOKEN}` } },
          (res) => {
            const chunks: Buffer[] = [];
            const body = new Promise<string>((done) => {
              res.on('data', (c: Buffer) => chunks.push(c));
              res.on('end', () => done(Buffer.concat(chunks).toString('utf8')));
              res.on('close', () => done(Buffer.concat(chunks).toString('utf8')));
            });
            resolve({ status: res.statusCode ?? 0, req, body });
          },
        );
        req.on('error', reject);
        req.end();
      });
    const streams: ClientRequest[] = [];
    try {
      for (let i = 0; i < 200; i++) {
        const stream = await open();
        streams.push(stream.req);
        assert.equal(stream.status, 200, `stream ${i}`);
      }
      assert.equal(capped.live.clients, 200);
      const head = await fetch(`${capped.url}/api/v1/events`, { method: 'HEAD', headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(head.status, 405);
      const refused = await open();
      streams.push(refused.req);
      assert.equal(refused.status, 503);
      assert.match(JSON.parse(await refused.body).error, /too many event-stream clients/);
      // clients that leave free their places
      for (const req of streams.splice(0, 10)) req.destroy();
      while (capped.live.clients > 190) await new Promise((r) => setTimeout(r, 20));
      const again = await open();
      streams.push(again.req);
      assert.equal(again.status, 200);
    } finally {
      for (const req of streams) req.destroy();
      await capped.close();
    }
  });

  test('static files: content types, CSP, index.html for UI routes', async () => {
    const html = await call('/', { auth: false });
    assert.equal(html.status, 200);
    assert.match(String(html.headers['content-type']), /^text\/html/);
    assert.match(String(html.headers['content-security-policy']), /default-src 'self'/);
    assert.equal(html.headers['x-content-type-options'], 'nosniff');
    const js = await call('/assets/app.js', { auth: false });
    assert.deepEqual([js.status, js.text], [200, 'console.log("strata");']);
    assert.match(String(js.headers['content-type']), /^text\/javascript/);
    const route = await call(`/images/${images[0]!.manifestDigest}`, { auth: false });
    assert.equal(route.text, html.text);
    assert.equal((await call('/assets/missing.js', { auth: false })).status, 404);
  });

  test('overview equals SQL over strata.images / strata.findings_current, with filters (in-memory summary and SQL path alike)', async (t) => {
    await server.ready;
    const sqlOnly = await consoleWith({ summary: false });
    t.after(() => sqlOnly.close());
    for (const query of [
      '',
      '?repo=127.0.0.1:15000/team-a/*',
      '?severity=critical,high',
      '?fixedOnly=1',
      '?repo=*team-b*&severity=low&fixedOnly=1',
      '?repo=nothing*',
    ]) {
      const answer = await call<OverviewResponse>(`/api/v1/overview${query}`);
      assert.equal(answer.status, 200, answer.text);
      const o = answer.json;
      const fromSql = (await fetch(`${sqlOnly.url}/api/v1/overview${query}`, { headers: { authorization: `Bearer ${TOKEN}` } }).then((r) =>
        r.json(),
      )) as OverviewResponse;
      assert.deepEqual({ ...o, asOf: '' }, { ...fromSql, asOf: '' }, query);
      const params = new URLSearchParams(query);
      const like = (params.get('repo') ?? '*').replaceAll('*', '%');
      const severities = (params.get('severity') ?? '')
        .split(',')
        .filter(Boolean)
        .map((s) => s.toUpperCase());
      const fixedOnly = params.get('fixedOnly') === '1';
      const [totals] = await sql<{ platforms: string; images: string; repositories: string }>(
        `select count(*) as platforms, count(distinct coalesce(index_digest, manifest_digest)) as images, count(distinct repository) as repositories
         from strata.images where repository like $1`,
        [like],
      );
      assert.deepEqual([o.platforms, o.images, o.repositories], [Number(totals!.platforms), Number(totals!.images), Number(totals!.repositories)], query);
      const rows = await sql<{ severity: string; n: string }>(
        `select severity, count(*) as n from strata.findings_current where repository like $1
           and (cardinality($2::text[]) = 0 or severity = any($2)) and (not $3 or fixed_version <> '') group by severity`,
        [like, severities, fixedOnly],
      );
      const expected = { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 };
      for (const r of rows) expected[r.severity.toLowerCase() as keyof typeof expected] = Number(r.n);
      assert.deepEqual(o.findings, expected, query);
      const vulns = await sql<{ vulnerability_id: string; platforms: string }>(
        `select vulnerability_id, count(distinct manifest_digest) as platforms from strata.findings_current where repository like $1
           and (cardinality($2::text[]) = 0 or severity = any($2)) and (not $3 or fixed_version <> '')
         group by vulnerability_id order by platforms desc, count(*) desc, vulnerability_id limit 10`,
        [like, severities, fixedOnly],
      );
      assert.deepEqual(
        o.topVulnerabilities.map((v) => [v.vulnerabilityId, v.platforms]),
        vulns.map((v) => [v.vulnerability_id, Number(v.platforms)]),
        query,
      );
      const crit = await sql<{ repository: string; critical: string }>(
        `select i.repository, count(f.*) filter (where f.severity = 'CRITICAL' and (not $2 or f.fixed_version <> '')) as critical
         from strata.images i left join strata.findings_current f using (manifest_digest) where i.repository like $1 group by i.repository`,
        [like, fixedOnly],
      );
      if (severities.length === 0)
        for (const r of o.topRepositories) assert.equal(r.counts.critical, Number(crit.find((c) => c.repository === r.repository)?.critical), query);
    }
    assert.ok(!(await call<OverviewResponse>('/api/v1/overview')).json.topVulnerabilities.some((v) => v.vulnerabilityId === 'CVE-2024-1000'));
  });

  test('trend: open findings per day equal the current state today, and the history adds up', async () => {
    const t = await call<TrendResponse>('/api/v1/trend?days=7');
    assert.equal(t.status, 200, t.text);
    assert.equal(t.json.points.length, 7);
    const today = t.json.points.at(-1)!;
    assert.equal(today.day, new Date().toISOString().slice(0, 10));
    const [now] = await sql<Record<string, string>>(
      `select count(*) filter (where severity = 'CRITICAL') as critical, count(*) filter (where severity = 'HIGH') as high,
              count(*) filter (where severity = 'MEDIUM') as medium, count(*) filter (where severity = 'LOW') as low,
              count(*) filter (where severity = 'UNKNOWN') as unknown from strata.findings_current`,
    );
    assert.deepEqual(today.open, Object.fromEntries(Object.entries(now!).map(([k, v]) => [k, Number(v)])));
    const fixed = await call<TrendResponse>('/api/v1/trend?days=1&fixedOnly=1&repo=*team-a*');
    const [n] = await sql<{ n: string }>(`select count(*) as n from strata.findings_current where fixed_version <> '' and repository like '%team-a%'`);
    const open = fixed.json.points[0]!.open;
    assert.equal(open.critical + open.high + open.medium + open.low + open.unknown, Number(n!.n));
  });

  test('images: keyset pages (name and risk) cover every image once, counts equal strata.images', async () => {
    for (const sort of ['name', 'risk']) {
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await call<ImagesResponse>(`/api/v1/images?limit=5&sort=${sort}${cursor ? `&cursor=${cursor}` : ''}`);
        assert.equal(page.status, 200, page.text);
        for (const image of page.json.items) {
          const [row] = await sql<Record<string, number>>(
            'select critical, high, medium, low, unknown, packages from strata.images where manifest_digest = $1',
            [image.manifestDigest],
          );
          assert.deepEqual({ ...image.counts, packages: image.packages }, row);
          seen.push(image.manifestDigest);
        }
        cursor = page.json.nextCursor;
        pages++;
      } while (cursor);
      assert.equal(pages, 3);
      assert.deepEqual([...seen].sort(), images.map((i) => i.manifestDigest).sort(), sort);
      assert.equal(new Set(seen).size, images.length);
    }
    // risk order under filters: pages of 2 in order of the filtered counts, each image once
    const risky: ImagesResponse['items'] = [];
    let next: string | undefined;
    do {
      const page = await call<ImagesResponse>(`/api/v1/images?severity=high,low&fixedOnly=1&sort=risk&limit=2${next ? `&cursor=${next}` : ''}`);
      assert.equal(page.status, 200, page.text);
      risky.push(...page.json.items);
      next = page.json.nextCursor;
    } while (next);
    const [withFixable] = await sql<{ n: string }>(
      `select count(distinct manifest_digest) as n from strata.findings_current where severity in ('HIGH', 'LOW') and fixed_version <> ''`,
    );
    assert.equal(new Set(risky.map((i) => i.manifestDigest)).size, Number(withFixable!.n));
    assert.equal(risky.length, Number(withFixable!.n));
    const order = risky.map((i) => [i.counts.high, i.counts.low]);
    assert.deepEqual(
      order,
      [...order].sort((a, b) => b[0]! - a[0]! || b[1]! - a[1]!),
    );
    assert.ok(risky.every((i) => i.counts.critical === 0 && i.counts.medium === 0));
    const critical = await call<ImagesResponse>('/api/v1/images?severity=critical&limit=200');
    const [n] = await sql<{ n: string }>(`select count(*) as n from strata.images where critical > 0`);
    assert.equal(critical.json.items.length, Number(n!.n));
    assert.ok(critical.json.items.every((i) => i.counts.critical > 0 && i.counts.high === 0));
  });

  test('image page: platforms of the index, layers with size and created_by, packages by layer, findings with layers', async () => {
    const first = images[0]!;
    const detail = await call<ImageDetail>(`/api/v1/images/${first.manifestDigest}`);
    assert.equal(detail.status, 200, detail.text);
    assert.deepEqual(detail.json.platforms.map((p) => p.platform?.architecture).sort(), ['amd64', 'arm64']);
    assert.deepEqual(
      detail.json.layers.map((l) => [l.index, l.diffId, l.size, l.createdBy, l.packages]),
      first.inventory.layers.map((l, i) => [i, l.diffId, l.size, l.createdBy, 2]),
    );
    assert.equal(detail.json.reportAvailable, true);
    assert.deepEqual(
      detail.json.refs.map((r) => r.imageRef),
      [first.imageRef],
    );
    const pkgs = await call<PackagesResponse>(`/api/v1/images/${first.manifestDigest}/packages?limit=3`);
    assert.equal(pkgs.json.items.length, 3);
    const rest = await call<PackagesResponse>(`/api/v1/images/${first.manifestDigest}/packages?limit=3&cursor=${pkgs.json.nextCursor}`);
    assert.deepEqual(
      [...pkgs.json.items, ...rest.json.items].map((p) => [p.layerIndex, p.name]),
      [
        [0, 'libc6'],
        [0, 'openssl'],
        [1, 'app-0'],
        [1, 'zlib1g'],
      ],
    );
    const top = first.inventory.layers[1]!.diffId;
    const onTop = await call<PackagesResponse>(`/api/v1/images/${first.manifestDigest}/packages?layer=${top}`);
    assert.deepEqual(
      onTop.json.items.map((p) => p.name),
      ['app-0', 'zlib1g'],
    );
    const findings = await call<FindingsResponse>(`/api/v1/images/${first.manifestDigest}/findings?limit=500`);
    const state = await sql<{ vulnerability_id: string; package_name: string }>(
      'select vulnerability_id, package_name from strata.findings_current where manifest_digest = $1',
      [first.manifestDigest],
    );
    assert.equal(findings.json.items.length, state.length);
    assert.equal(findings.json.advisoryDbVersion, 'db-2');
    for (const f of findings.json.items) {
      const holder = first.inventory.osPackages.find((p) => p.name === f.packageName)!;
      assert.deepEqual(f.layers, [{ index: holder.layer === base ? 0 : 1, diffId: holder.layer.diffId, path: 'var/lib/dpkg/status' }]);
    }
    const ranks = findings.json.items.map((f) => SEVERITIES.indexOf(f.severity));
    assert.deepEqual(
      ranks,
      [...ranks].sort((a, b) => a - b),
    );
    const topFindings = await call<FindingsResponse>(`/api/v1/images/${first.manifestDigest}/findings?layer=${top}`);
    assert.ok(topFindings.json.items.every((f) => ['app-0', 'zlib1g'].includes(f.packageName)));
  });

  test('report download equals the gateway GetReport content', async () => {
    const first = images[0]!;
    const download = await call(`/api/v1/images/${first.manifestDigest}/report?format=json`);
    assert.equal(download.status, 200, download.text);
    assert.match(String(download.headers['content-disposition']), /^attachment; filename="sha256-[0-9a-f]{64}\.json"$/);
    const grpc = await gateway.scans.getReport(
      create(GetReportRequestSchema, { selector: { case: 'manifestDigest', value: first.manifestDigest }, format: ReportFormat.JSON }),
    );
    assert.equal(download.text, Buffer.from(grpc.content!).toString('utf8'));
    assert.equal((await call(`/api/v1/images/${first.manifestDigest}/report?format=pdf`)).status, 400);
    assert.equal((await call(`/api/v1/images/${images[1]!.manifestDigest}/report`)).status, 404);
  });

  test('vulnerability page: every image and package it affects (= SQL), pages, locations, fixed versions', async () => {
    const id = 'CVE-2024-1001';
    const expected = await sql<{ manifest_digest: string; package_name: string; fixed_version: string }>(
      'select manifest_digest, package_name, fixed_version from strata.findings_current where vulnerability_id = $1 order by 1, 2',
      [id],
    );
    const got: [string, string, string][] = [];
    let cursor: string | undefined;
    let total = 0;
    do {
      const page = await call<VulnerabilityResponse>(`/api/v1/vulnerabilities/${id}?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(page.status, 200, page.text);
      total = page.json.totalPlatforms;
      assert.deepEqual(page.json.fixedVersions, [...new Set(expected.map((e) => e.fixed_version).filter(Boolean))].sort());
      for (const image of page.json.items)
        for (const p of image.packages) {
          got.push([image.manifestDigest, p.name, p.fixedVersion]);
          assert.ok(p.locations.length > 0 && p.locations.every((l) => l.path === 'var/lib/dpkg/status' && l.layerDiffId.startsWith('sha256:')));
        }
      cursor = page.json.nextCursor;
    } while (cursor);
    assert.deepEqual(
      got,
      expected.map((e) => [e.manifest_digest, e.package_name, e.fixed_version]),
    );
    assert.equal(total, new Set(expected.map((e) => e.manifest_digest)).size);
    // the totals from the in-memory summary equal the SQL path's
    const sqlOnly = await consoleWith({ summary: false });
    try {
      for (const vuln of ['CVE-2024-1001', 'CVE-2024-1003']) {
        const a = await call<VulnerabilityResponse>(`/api/v1/vulnerabilities/${vuln}`);
        const b = (await fetch(`${sqlOnly.url}/api/v1/vulnerabilities/${vuln}`, { headers: { authorization: `Bearer ${TOKEN}` } }).then((r) =>
          r.json(),
        )) as VulnerabilityResponse;
        assert.deepEqual(a.json, b, vuln);
      }
    } finally {
      await sqlOnly.close();
    }
    const none = await call<VulnerabilityResponse>('/api/v1/vulnerabilities/CVE-1999-0001');
    assert.deepEqual([none.status, none.json.items.length, none.json.totalPlatforms], [200, 0, 0]);
  });

  test('scan form: POST /api/v1/scans publishes scan.requested like ScanImage; GET /api/v1/scans/<id> shows the stages', async () => {
    const reference = `127.0.0.1:15000/strata/${runId}:v1`;
    const accepted = await call<{ scanId: string; status: string }>('/api/v1/scans', {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin },
      body: JSON.stringify({ reference }),
    });
    assert.equal(accepted.status, 202, accepted.text);
    assert.equal(accepted.json.status, 'QUEUED');
    const info = await call<{ status: string; stages: { stage: string; state: string }[]; imageRef: string }>(`/api/v1/scans/${accepted.json.scanId}`);
    assert.equal(info.status, 200, info.text);
    assert.equal(info.json.imageRef, reference);
    assert.deepEqual(info.json.stages.slice(0, 2), [
      { stage: 'SUBMIT', state: 'running' },
      { stage: 'RESOLVE', state: 'pending' },
    ]);
    assert.equal((await call('/api/v1/scans/no-such-scan')).status, 404);
    const list = await call<{ items: { scanId: string }[] }>('/api/v1/scans');
    assert.ok(list.json.items.some((i) => i.scanId === accepted.json.scanId));
  });

  test('live events: a findings delta published on the findings topic arrives on the event stream (repo filter applied)', async () => {
    const events: FindingsEvent[] = [];
    const controller = new AbortController();
    const res = await fetch(`${origin}/api/v1/events?repo=*team-b*`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: controller.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const reader = res.body!.getReader();
    let buffer = '';
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += Buffer.from(value).toString('utf8');
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const name = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (name === 'findings' && data) events.push(JSON.parse(data) as FindingsEvent);
        }
      }
    })().catch(() => undefined);
    const publish = (imageRef: string, vulnerabilityId: string) => {
      const { key, value } = encodeKeyedEvent(Topics.findings, {
        imageRef,
        manifestDigest: hex(500, 'b'),
        advisoryDbVersion: 'db-3',
        previousAdvisoryDbVersion: 'db-2',
        kind: FindingsKind.DELTA,
        counts: { high: 1 },
        added: [
          {
            vulnerabilityId,
            packageName: 'openssl',
            installedVersion: '3.0.11-1',
            fixedVersion: '3.0.15-1',
            severity: ProtoSeverity.HIGH,
            ecosystem: 'debian:12',
          },
        ],
      });
      return bus.publish(topic(Topics.findings), [{ key, value }]);
    };
    // the gateway's group may still be joining: publish until one arrives
    const until = Date.now() + 60_000;
    while (!events.some((e) => e.added[0]?.vulnerabilityId === 'CVE-2025-7777') && Date.now() < until) {
      await publish('127.0.0.1:15000/team-a/api:live', 'CVE-2025-0000');
      await publish('127.0.0.1:15000/team-b/db:live', 'CVE-2025-7777');
      await new Promise((r) => setTimeout(r, 1000));
    }
    controller.abort();
    await reading;
    const delta = events.find((e) => e.added[0]?.vulnerabilityId === 'CVE-2025-7777');
    assert.ok(delta, 'no findings event arrived');
    assert.deepEqual(
      [delta.kind, delta.repository, delta.added[0]!.severity, delta.added[0]!.fixedVersion],
      ['DELTA', '127.0.0.1:15000/team-b/db', 'HIGH', '3.0.15-1'],
    );
    assert.ok(!events.some((e) => e.repository.includes('team-a')), 'the repo filter let another repository through');
  });

  test('the in-memory overview follows new findings states (a new image in a new repository)', async () => {
    const f = images[2]!;
    const digest = hex(777, 'b');
    await db.putImage({
      manifestDigest: digest,
      imageRef: `127.0.0.1:15000/team-c/new:${runId}`,
      platform: f.platform,
      inventoryDigest: (await db.putInventory(f.inventory)).inventoryDigest,
    });
    await db.setFindings(digest, {
      kind: 'FULL',
      advisoryDbVersion: 'db-2',
      findings: [
        { vulnerabilityId: 'CVE-2025-4242', ecosystem: 'debian:12', packageName: 'libc6', installedVersion: '2.36-9', fixedVersion: '', severity: 'CRITICAL' },
      ],
    });
    const until = Date.now() + 20_000;
    let o: OverviewResponse | undefined;
    while (Date.now() < until) {
      o = (await call<OverviewResponse>('/api/v1/overview?repo=*team-c*')).json;
      if (o.platforms === 1) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.deepEqual(
      [o?.platforms, o?.findings.critical, o?.topVulnerabilities.map((v) => v.vulnerabilityId), o?.topRepositories.map((r) => r.repository)],
      [1, 1, ['CVE-2025-4242'], ['127.0.0.1:15000/team-c/new']],
    );
  });
});

/** A GET with headers fetch will not send (Host). */
function rawRequest(origin: string, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const url = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, method: 'GET', headers, setHost: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A GET sent with the path exactly as given (fetch would normalise `..`). */
function rawGet(origin: string, path: string): Promise<{ status: number; body: string }> {
  const url = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('console globs and login backoff (no infra)', () => {
  test('globMatcher equals the glob semantics and stays linear on hostile globs', () => {
    const cases: [string, string, boolean][] = [
      ['team-a/*', 'team-a/app', true],
      ['team-a/*', 'team-b/app', false],
      ['*/app', 'x/y/app', true],
      ['te?m-*', 'team-c', true],
      ['a.b', 'aXb', false],
      ['*', '', true],
      ['?', '', false],
      ['*a*b*c', 'xxaxxbxxc', true],
      ['*a*b*c', 'xxaxxbxx', false],
    ];
    for (const [glob, name, expected] of cases) assert.equal(globMatcher(glob)(name), expected, `${glob} ~ ${name}`);
    // a RegExp of these took minutes; the matcher is O(glob x name)
    assert.equal(globMatcher(`${'*'.repeat(255)}a`)('b'.repeat(1000)), false);
    assert.equal(globMatcher(`${'*a'.repeat(127)}b`)('a'.repeat(1000)), false);
  });

  test('loginThrottle: free tries, then doubling waits up to the cap, reset by a right token, bounded memory', () => {
    let clock = 0;
    const t = loginThrottle({ free: 2, firstWaitMs: 1000, maxWaitMs: 4000, maxAddresses: 3, now: () => clock });
    t.failed('a');
    t.failed('a');
    assert.equal(t.blocked('a'), 0);
    t.failed('a');
    assert.equal(t.blocked('a'), 1);
    clock += 1000;
    t.failed('a');
    assert.equal(t.blocked('a'), 2);
    clock += 2000;
    t.failed('a');
    t.failed('a');
    assert.equal(t.blocked('a'), 4);
    t.succeeded('a');
    assert.equal(t.blocked('a'), 0);
    for (const remote of ['b', 'c', 'd', 'e']) for (let i = 0; i < 3; i++) t.failed(remote);
    assert.equal(t.blocked('b'), 0); // forgotten: at most 3 addresses kept
    assert.ok(t.blocked('e') > 0);
  });
});

describe('console session cookies and bind addresses (no infra)', () => {
  const request = (cookie?: string, authorization?: string) =>
    ({ headers: { ...(cookie ? { cookie } : {}), ...(authorization ? { authorization } : {}) } }) as never;

  test('forged, expired, truncated and empty-token cookies are refused; a good one is accepted', () => {
    let clock = 1_000_000;
    const auth = consoleAuth(TOKEN, () => clock);
    const good = auth.login(TOKEN) as string;
    assert.ok(auth.authenticated(request(`${SESSION_COOKIE}=${good}`)));
    const [expiry, nonce, mac] = good.split('.') as [string, string, string];
    const forged = consoleAuth('other-token', () => clock).login('other-token') as string;
    const emptySigned = consoleAuth('', () => clock).login('') as string;
    for (const value of [
      forged,
      emptySigned,
      `${expiry}.${nonce}`,
      `${expiry}.${nonce}.${mac.slice(0, -1)}`,
      `${expiry}.${nonce}.${mac}.x`,
      `${Number(expiry) + 1}.${nonce}.${mac}`,
      `${expiry}.${nonce}.${'A'.repeat(300)}`,
      '',
      '..',
    ])
      assert.equal(auth.authenticated(request(`${SESSION_COOKIE}=${value}`)), false, value);
    assert.equal(auth.authenticated(request(undefined, 'Bearer ')), false);
    assert.equal(auth.authenticated(request(undefined, `Bearer ${TOKEN}x`)), false);
    assert.equal(auth.authenticated(request(undefined, `Bearer ${TOKEN}`)), true);
    clock += 12 * 60 * 60 * 1000 + 1;
    assert.equal(auth.authenticated(request(`${SESSION_COOKIE}=${good}`)), false, 'expired');
  });

  test('open mode only on loopback bind addresses', () => {
    for (const host of ['127.0.0.1', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1', '127.1.2.3']) assert.equal(isLoopback(host), true, host);
    for (const host of ['0.0.0.0', '::', '[::]', '::ffff:10.0.0.1', '10.0.0.1', '127.0.0.1.evil.example', '', 'example.com'])
      assert.equal(isLoopback(host), false, host);
  });
});
