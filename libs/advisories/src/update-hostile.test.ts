// `strata db update` against a hostile mirror on loopback: huge or endless bodies, stalls,
// redirects out of the mirror, Content-Length lies, a page served as the zip, and a dump with
// unsafe entry names. Each fails that ecosystem alone with a clear error and keeps its old dump.
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openAdvisoryIndex, updateDatabase } from './index.js';
import { zeroBomb, zip } from '@strata/testing';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const routes = new Map<string, Handler>();
const hits = new Map<string, number>();
const sockets = new Set<Socket>();
let server: Server;
let other: Server;
let raw: TcpServer;
let base = '';
let otherBase = '';
let rawBase = '';
let rawReply: Buffer = Buffer.alloc(0);
const temps: string[] = [];

function listen(s: Server | TcpServer): Promise<number> {
  s.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)));
}

before(async () => {
  const handler =
    (name: string): Handler =>
    (req, res) => {
      const key = `${name}${req.url ?? ''}`;
      hits.set(key, (hits.get(key) ?? 0) + 1);
      const route = routes.get(key);
      if (route) route(req, res);
      else res.writeHead(404).end('not found');
    };
  server = createHttpServer(handler('mirror'));
  other = createHttpServer(handler('other'));
  // Answers every request with rawReply, byte for byte: for replies no HTTP library would write.
  raw = createTcpServer((socket) => {
    socket.once('data', () => socket.end(rawReply));
    socket.on('error', () => undefined);
  });
  base = `http://127.0.0.1:${await listen(server)}`;
  // "localhost" is another origin than "127.0.0.1", though the same machine.
  otherBase = `http://localhost:${await listen(other)}`;
  rawBase = `http://127.0.0.1:${await listen(raw)}`;
});
after(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all([server, other, raw].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  for (const d of temps) await rm(d, { recursive: true, force: true });
});

const record = (id: string, name: string) => ({
  id,
  modified: '2024-01-01T00:00:00Z',
  affected: [{ package: { ecosystem: 'npm', name }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.0.0' }] }] }],
});
const goodZip = zip([{ name: 'GHSA-old.json', content: JSON.stringify(record('GHSA-old', 'old-pkg')) }]);

/** A db folder holding a previous npm dump, which every failure below must leave in place. */
async function dbWithOldDump(): Promise<string> {
  const db = await mkdtemp(join(tmpdir(), 'strata-update-hostile-'));
  temps.push(db);
  await mkdir(join(db, 'npm'));
  await writeFile(join(db, 'npm/all.zip'), goodZip);
  return db;
}

async function expectFailure(db: string, baseUrl: string, limits: Parameters<typeof updateDatabase>[0]['limits'], pattern: RegExp): Promise<void> {
  const result = await updateDatabase({ dbDir: db, baseUrl, ecosystems: ['npm'], ...(limits ? { limits } : {}) });
  assert.deepEqual(result.failed, ['npm'], JSON.stringify(result.results));
  const error = result.results[0]?.error ?? '';
  assert.match(error, pattern);
  assert.match(error, /previous dump is kept/);
  assert.ok(!error.includes('\n    at '), 'no stack trace');
  assert.deepEqual(await readFile(join(db, 'npm/all.zip')), goodZip);
  assert.deepEqual(await readdir(join(db, 'npm')), ['all.zip'], 'no temp file left behind');
}

test('a body past maxDownloadBytes is refused: when announced, before reading; when not, as it arrives', async () => {
  const db = await dbWithOldDump();
  routes.set('mirror/npm/all.zip', (_req, res) => {
    res.writeHead(200, { 'content-length': String(5 * 1024 * 1024) });
    res.end(Buffer.alloc(5 * 1024 * 1024));
  });
  await expectFailure(db, base, { maxDownloadBytes: 1024 * 1024 }, /announces 5242880 bytes, more than maxDownloadBytes \(1048576\)/);
  // Chunked, no Content-Length, and never ending: stopped at the bound.
  routes.set('mirror/npm/all.zip', (_req, res) => {
    res.writeHead(200);
    const chunk = Buffer.alloc(64 * 1024);
    const pump = (): void => {
      while (!res.destroyed && res.write(chunk));
      if (!res.destroyed) res.once('drain', pump);
    };
    pump();
  });
  await expectFailure(db, base, { maxDownloadBytes: 1024 * 1024 }, /passed maxDownloadBytes \(1048576\)/);
});

test('a stalled or endless response is abandoned after downloadIdleTimeoutMs or downloadTimeoutMs', async () => {
  const db = await dbWithOldDump();
  // Headers never come.
  routes.set('mirror/npm/all.zip', () => undefined);
  await expectFailure(db, base, { downloadIdleTimeoutMs: 300 }, /no data from the server for 300 ms \(downloadIdleTimeoutMs\)/);
  // Headers and a few bytes, then silence.
  routes.set('mirror/npm/all.zip', (_req, res) => {
    res.writeHead(200, { 'content-length': '100000' });
    res.write(Buffer.alloc(1000));
  });
  await expectFailure(db, base, { downloadIdleTimeoutMs: 300 }, /no data from the server for 300 ms/);
  // A byte every 20 ms, forever: never idle, but never done.
  routes.set('mirror/npm/all.zip', (_req, res) => {
    res.writeHead(200);
    const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write('x')), 20);
    res.on('close', () => clearInterval(timer));
  });
  await expectFailure(db, base, { downloadTimeoutMs: 800, downloadIdleTimeoutMs: 5000 }, /download took longer than 800 ms \(downloadTimeoutMs\)/);
});

test('redirects are followed within the mirror only, and only maxRedirects of them', async () => {
  const db = await dbWithOldDump();
  routes.set('mirror/npm/all.zip', (_req, res) => res.writeHead(302, { location: `${otherBase}/npm/all.zip` }).end());
  routes.set('other/npm/all.zip', (_req, res) => res.writeHead(200).end(goodZip));
  await expectFailure(db, base, undefined, /redirected to http:\/\/localhost:\d+, outside http:\/\/127\.0\.0\.1:\d+: refused/);
  assert.equal(hits.get('other/npm/all.zip'), undefined, 'the other host was never asked');

  routes.set('mirror/npm/all.zip', (_req, res) => res.writeHead(301, { location: '/npm/all.zip' }).end());
  await expectFailure(db, base, { maxRedirects: 3 }, /more than 3 redirects \(maxRedirects\)/);

  // Within the origin: followed.
  const fresh = zip([{ name: 'GHSA-new.json', content: JSON.stringify(record('GHSA-new', 'new-pkg')) }]);
  routes.set('mirror/npm/all.zip', (_req, res) => res.writeHead(307, { location: '/mirror-2/npm/all.zip' }).end());
  routes.set('mirror/mirror-2/npm/all.zip', (_req, res) => res.writeHead(200, { 'content-length': String(fresh.length) }).end(fresh));
  const ok = await updateDatabase({ dbDir: db, baseUrl: base, ecosystems: ['npm'] });
  assert.deepEqual(ok.updated, ['npm']);
  assert.deepEqual(await readFile(join(db, 'npm/all.zip')), fresh);
});

test('Content-Length lies: a short body and a long body both fail; a page served as the zip fails', async () => {
  const db = await dbWithOldDump();
  const head = (length: number): string => `HTTP/1.1 200 OK\r\ncontent-type: application/zip\r\ncontent-length: ${length}\r\nconnection: close\r\n\r\n`;
  // Announces the whole zip, sends half, closes.
  rawReply = Buffer.concat([Buffer.from(head(goodZip.length)), goodZip.subarray(0, goodZip.length >> 1)]);
  await expectFailure(db, rawBase, undefined, /download truncated|terminated|closed/);
  // Announces half, sends the whole zip: the bytes past the announced length are not part of the body.
  rawReply = Buffer.concat([Buffer.from(head(goodZip.length >> 1)), goodZip]);
  await expectFailure(db, rawBase, undefined, /not a usable OSV dump/);
  routes.set('mirror/npm/all.zip', (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>Welcome to the captive portal</html>'));
  await expectFailure(db, base, undefined, /not a usable OSV dump/);
});

test('a served dump with a ../ entry is installed without that entry, with a warning', async () => {
  const db = await dbWithOldDump();
  const dump = zip([
    { name: 'GHSA-a.json', content: JSON.stringify(record('GHSA-a', 'a')) },
    { name: '../../escape.json', content: JSON.stringify(record('GHSA-escape', 'escape')) },
    { name: 'GHSA-b.json', content: JSON.stringify(record('GHSA-b', 'b')) },
  ]);
  routes.set('mirror/npm/all.zip', (_req, res) => res.writeHead(200).end(dump));
  const result = await updateDatabase({ dbDir: db, baseUrl: base, ecosystems: ['npm'] });
  assert.deepEqual(result.updated, ['npm']);
  assert.equal(result.results[0]?.records, 2);
  assert.deepEqual(result.results[0]?.warnings, ['../../escape.json: entry skipped: unsafe name (invalid relative path: ../../escape.json)']);
  const { index, warnings } = await openAdvisoryIndex({ dbDir: db });
  assert.deepEqual(Object.keys(index.manifest.records).sort(), ['GHSA-a', 'GHSA-b']);
  assert.deepEqual(
    warnings.map((w) => w.path),
    ['npm/all.zip!../../escape.json'],
  );
  await assert.rejects(readFile(join(db, '..', 'escape.json')));
});

test('a served dump holding a zip bomb is installed without the bomb entry, with a warning', async () => {
  const db = await dbWithOldDump();
  const dump = zip([
    { name: 'bomb.json', deflated: zeroBomb(3 * 1024) },
    { name: 'GHSA-a.json', content: JSON.stringify(record('GHSA-a', 'a')) },
  ]);
  routes.set('mirror/npm/all.zip', (_req, res) => res.writeHead(200, { 'content-length': String(dump.length) }).end(dump));
  const result = await updateDatabase({ dbDir: db, baseUrl: base, ecosystems: ['npm'] });
  assert.deepEqual(result.updated, ['npm']);
  assert.equal(result.results[0]?.records, 1);
  assert.deepEqual(result.results[0]?.warnings, ['bomb.json: entry skipped: claims 3221225472 bytes inflated, more than maxRecordBytes (16777216)']);
  const { index, warnings } = await openAdvisoryIndex({ dbDir: db });
  assert.deepEqual(Object.keys(index.manifest.records), ['GHSA-a']);
  assert.deepEqual(
    warnings.map((w) => w.path),
    ['npm/all.zip!bomb.json'],
  );
});

test('a gzip-encoded response is decoded and bounded by its decoded size', async () => {
  const db = await dbWithOldDump();
  const fresh = zip([{ name: 'GHSA-gz.json', content: JSON.stringify(record('GHSA-gz', 'gz')) }]);
  const encoded = gzipSync(fresh);
  routes.set('mirror/npm/all.zip', (_req, res) => res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': String(encoded.length) }).end(encoded));
  const ok = await updateDatabase({ dbDir: db, baseUrl: base, ecosystems: ['npm'] });
  assert.deepEqual(ok.updated, ['npm'], JSON.stringify(ok.results));
  assert.deepEqual(await readFile(join(db, 'npm/all.zip')), fresh);
  // A gzip bomb: 1 MiB on the wire, 64 MiB decoded.
  const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
  routes.set('mirror/npm/all.zip', (_req, res) => res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': String(bomb.length) }).end(bomb));
  const refused = await updateDatabase({ dbDir: db, baseUrl: base, ecosystems: ['npm'], limits: { maxDownloadBytes: 8 * 1024 * 1024 } });
  assert.deepEqual(refused.failed, ['npm']);
  assert.match(refused.results[0]?.error ?? '', /passed maxDownloadBytes \(8388608\)/);
  assert.deepEqual(await readFile(join(db, 'npm/all.zip')), fresh);
});
