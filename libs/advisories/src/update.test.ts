import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { closedLoopbackPort, sharedDataDir, skipUnless, tempDirs } from '@strata/testing';
import { openAdvisoryIndex, updateDatabase, type UpdateProgress } from './index.js';
import { writeZip } from './testing/zip.js';

// A local stand-in for the OSV bucket: /<ecosystem>/all.zip, with per-test overrides.
const routes = new Map<string, { status: number; body: Buffer; contentLength?: number }>();
let server: Server;
let baseUrl = '';

const tempDir = tempDirs('strata-update');

before(async () => {
  server = createServer((req, res) => {
    const route = routes.get(decodeURIComponent(req.url ?? ''));
    if (!route) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(route.status, { 'content-type': 'application/zip', 'content-length': String(route.contentLength ?? route.body.length) });
    // A short body with a longer Content-Length simulates a connection dropped mid-download.
    if (route.contentLength !== undefined && route.contentLength > route.body.length) {
      res.write(route.body);
      res.socket?.destroy();
      return;
    }
    res.end(route.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** A real dump built from shared records: the bytes the server will serve. */
async function dumpOf(folder: string, count?: number): Promise<Buffer> {
  const dir = await tempDir();
  const src = join(sharedDataDir() as string, 'osv', folder);
  const names = (await readdir(src))
    .filter((n) => n.endsWith('.json'))
    .sort()
    .slice(0, count);
  const path = join(dir, 'all.zip');
  writeZip(path, await Promise.all(names.map(async (n) => ({ name: n, content: await readFile(join(src, n)) }))));
  return readFile(path);
}

test('db update downloads each ecosystem atomically, reports progress, and keeps old data on failure', {
  skip: skipUnless('data', 'tool:python3'),
}, async () => {
  const db = await tempDir();
  const alpine = await dumpOf('alpine');
  const go = await dumpOf('go', 400);
  routes.set('/Alpine/all.zip', { status: 200, body: alpine });
  routes.set('/Go/all.zip', { status: 200, body: go });

  const progress: UpdateProgress[] = [];
  const first = await updateDatabase({ dbDir: db, baseUrl, ecosystems: ['Alpine', 'Go'], onProgress: (p) => progress.push(p) });
  assert.deepEqual(first.updated, ['Alpine', 'Go']);
  assert.deepEqual(first.failed, []);
  assert.deepEqual(await readFile(join(db, 'Alpine/all.zip')), alpine);
  assert.deepEqual(await readFile(join(db, 'Go/all.zip')), go);
  assert.equal(first.results.find((r) => r.ecosystem === 'Go')?.records, 400);
  const goPhases = progress.filter((p) => p.ecosystem === 'Go').map((p) => p.phase);
  assert.equal(goPhases[0], 'start');
  assert.ok(goPhases.includes('verify'));
  assert.equal(goPhases.at(-1), 'done');
  const goDone = progress.find((p) => p.ecosystem === 'Go' && p.phase === 'done');
  assert.equal(goDone?.receivedBytes, go.length);
  // The body is large enough to be reported in steps while it downloads.
  assert.ok(go.length > 256 * 1024);
  assert.ok(goPhases.includes('download'));

  const opened = await openAdvisoryIndex({ dbDir: db });
  assert.equal(opened.index.manifest.counts.records + opened.index.manifest.counts.withdrawn, 110 + 400);
  assert.equal(first.dbVersion, opened.index.version);
  assert.equal(first.diff, undefined, 'the first import has nothing to diff against');
  const before = await stat(join(db, 'Alpine/all.zip'));

  // Now the bucket misbehaves: a corrupt zip for Alpine, a 500 for Go, a truncated body for npm.
  routes.set('/Alpine/all.zip', { status: 200, body: Buffer.concat([alpine.subarray(0, 1000), Buffer.alloc(5000, 7)]) });
  routes.set('/Go/all.zip', { status: 500, body: Buffer.from('internal error') });
  routes.set('/npm/all.zip', { status: 200, body: go.subarray(0, 1000), contentLength: go.length });
  const failed: UpdateProgress[] = [];
  const second = await updateDatabase({ dbDir: db, baseUrl, ecosystems: ['Alpine', 'Go', 'npm'], onProgress: (p) => p.phase === 'failed' && failed.push(p) });
  assert.deepEqual(second.updated, []);
  assert.deepEqual(second.failed, ['Alpine', 'Go', 'npm']);
  assert.match(second.results[0]?.error ?? '', /not a usable OSV dump/);
  assert.match(second.results[0]?.error ?? '', /previous dump is kept/);
  assert.match(second.results[1]?.error ?? '', /HTTP 500/);
  assert.ok(second.results[1]?.error?.includes(`${baseUrl}/Go/all.zip`));
  assert.ok(second.results[2]?.error);
  assert.deepEqual(
    failed.map((p) => p.ecosystem),
    ['Alpine', 'Go', 'npm'],
  );
  // Old data untouched, no temp files left behind, nothing created for npm.
  assert.deepEqual(await readFile(join(db, 'Alpine/all.zip')), alpine);
  assert.equal((await stat(join(db, 'Alpine/all.zip'))).mtimeMs, before.mtimeMs);
  assert.deepEqual(await readFile(join(db, 'Go/all.zip')), go);
  for (const folder of ['Alpine', 'Go', 'npm']) {
    const left = await readdir(join(db, folder)).catch(() => []);
    assert.deepEqual(
      left.filter((n) => n !== 'all.zip'),
      [],
      `no temp files in ${folder}`,
    );
  }
  const reopened = await openAdvisoryIndex({ dbDir: db });
  assert.equal(reopened.index.version, opened.index.version);
  assert.equal(second.dbVersion, opened.index.version);
  assert.deepEqual(second.diff && [second.diff.added, second.diff.changed, second.diff.withdrawn], [[], [], []]);

  // A smaller Alpine dump: the records it no longer has are reported withdrawn, with their packages.
  routes.set('/Alpine/all.zip', { status: 200, body: await dumpOf('alpine', 100) });
  const third = await updateDatabase({ dbDir: db, baseUrl, ecosystems: ['Alpine'] });
  const now = await openAdvisoryIndex({ dbDir: db });
  assert.equal(third.dbVersion, now.index.version);
  assert.notEqual(third.dbVersion, opened.index.version);
  const dropped = Object.keys(opened.index.manifest.records)
    .filter((id) => id.startsWith('ALPINE-') && !now.index.manifest.records[id])
    .sort();
  assert.equal(dropped.length, 10);
  assert.deepEqual(third.diff?.withdrawn, dropped);
  assert.deepEqual(third.diff?.added, []);
  assert.ok(third.diff?.packages.every(([ecosystem]) => ecosystem === 'alpine:3.20'));
});

test('a zip without JSON records is refused', { skip: skipUnless('tool:python3') }, async () => {
  const db = await tempDir();
  const dir = await tempDir();
  writeZip(join(dir, 'x.zip'), [{ name: 'README.txt', content: 'no records here' }]);
  routes.set('/Wolfi/all.zip', { status: 200, body: await readFile(join(dir, 'x.zip')) });
  const result = await updateDatabase({ dbDir: db, baseUrl, ecosystems: ['Wolfi'] });
  assert.deepEqual(result.failed, ['Wolfi']);
  assert.match(result.results[0]?.error ?? '', /no JSON records/);
  await assert.rejects(stat(join(db, 'Wolfi/all.zip')));
});

test('ecosystem names that would escape the db folder are refused before downloading', async () => {
  const db = await tempDir();
  await assert.rejects(updateDatabase({ dbDir: db, baseUrl, ecosystems: ['npm', '../etc'] }), /invalid ecosystem name/);
  await assert.rejects(stat(join(db, 'npm')));
});

test('an unreachable server is named once: the other ecosystems are not tried, and no empty folders stay behind', async () => {
  const port = await closedLoopbackPort();
  for (const [baseUrl, host, reason] of [
    [`http://127.0.0.1:${port}`, `127.0.0.1:${port}`, 'connection refused'],
    ['http://osv.invalid', 'osv.invalid', 'host name not found'],
  ] as const) {
    const db = join(await tempDir(), 'db');
    const events: UpdateProgress[] = [];
    const result = await updateDatabase({ dbDir: db, baseUrl, ecosystems: ['Alpine', 'npm', 'PyPI'], onProgress: (p) => events.push(p) });
    assert.deepEqual(result.unreachable, { host, reason });
    assert.deepEqual(result.failed, ['Alpine', 'npm', 'PyPI']);
    assert.deepEqual(
      result.results.map((r) => r.skipped ?? false),
      [false, true, true],
      'tried once, then the cause is known',
    );
    assert.deepEqual(
      events.map((e) => `${e.ecosystem}:${e.phase}`),
      ['Alpine:start'],
      'no per-ecosystem failure lines',
    );
    assert.equal(result.previousDbVersion, undefined, 'there was no old data to keep');
    assert.equal(result.dbVersion, undefined);
    await assert.rejects(stat(db), /ENOENT/, 'no db folder, let alone empty ecosystem folders');
  }
});

test('an unreachable server leaves existing data and says it had some', { skip: skipUnless('data', 'tool:python3') }, async () => {
  const db = await tempDir();
  routes.set('/Alpine/all.zip', { status: 200, body: await dumpOf('alpine', 5) });
  const first = await updateDatabase({ dbDir: db, baseUrl, ecosystems: ['Alpine'] });
  assert.deepEqual(first.updated, ['Alpine']);
  const result = await updateDatabase({ dbDir: db, baseUrl: `http://127.0.0.1:${await closedLoopbackPort()}`, ecosystems: ['Alpine', 'npm'] });
  assert.equal(result.unreachable?.reason, 'connection refused');
  assert.equal(result.previousDbVersion, first.dbVersion);
  assert.equal(result.dbVersion, first.dbVersion, 'nothing changed');
  assert.match(result.results[0]?.error ?? '', /connection refused; the previous dump is kept/);
  assert.deepEqual((await readdir(db)).sort(), ['Alpine'], 'no empty npm folder');
});
