// Incremental `strata db update` against a local HTTP server serving an OSV bucket folder
// (<Ecosystem>/all.zip, modified_id.csv, <id>.json), with a request log and injected failures.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { skipUnless, tempDirs } from '@strata/testing';
import { openAdvisoryIndex, updateDatabase, type OsvRecord } from './index.js';
import { writeZip } from './testing/zip.js';

let server: Server;
let baseUrl = '';
let bucket = '';
const requests: string[] = [];
const failing = new Set<string>();

const tempDir = tempDirs('strata-incremental');

before(async () => {
  bucket = await tempDir();
  server = createServer((req, res) => {
    const path = decodeURIComponent(req.url ?? '');
    requests.push(path);
    if (failing.has(path)) {
      res.writeHead(503).end('unavailable');
      return;
    }
    readFile(join(bucket, path)).then(
      (body) => res.writeHead(200, { 'content-length': String(body.length) }).end(body),
      () => res.writeHead(404).end('not found'),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const record = (n: number, modified: string, fixed = '1.0.0'): OsvRecord => ({
  id: `GHSA-test-${n}`,
  modified,
  aliases: [`CVE-2099-${1000 + n}`],
  affected: [{ package: { ecosystem: 'npm', name: `pkg-${n % 3}` }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }] }],
});

/** Publishes records as the bucket does: all.zip, the listing (newest first) and one file per record. */
async function publish(records: OsvRecord[]): Promise<void> {
  const dir = join(bucket, 'npm');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  writeZip(
    join(dir, 'all.zip'),
    records.map((r) => ({ name: `${r.id}.json`, content: JSON.stringify(r) })),
  );
  const sorted = [...records].sort((a, b) => (a.modified < b.modified ? 1 : -1));
  await writeFile(join(dir, 'modified_id.csv'), sorted.map((r) => `${r.modified},${r.id}\n`).join(''));
  for (const r of records) await writeFile(join(dir, `${r.id}.json`), JSON.stringify(r));
}

async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string, prefix: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(d, e.name), `${prefix}${e.name}/`);
      else out[`${prefix}${e.name}`] = (await readFile(join(d, e.name))).toString('base64');
    }
  };
  await walk(dir, '');
  return out;
}

test('db update fetches only what modified_id.csv says changed; records gone from it are withdrawn; a failure part-way keeps the old data', {
  skip: skipUnless('tool:python3'),
}, async () => {
  const db = await tempDir();
  const cacheDir = await tempDir();
  const base = Array.from({ length: 40 }, (_, i) => record(i, `2024-01-${String(1 + (i % 28)).padStart(2, '0')}T00:00:00Z`));
  await publish(base);

  // First update: no local copy, so all.zip (and the listing saved with it).
  const first = await updateDatabase({ dbDir: db, baseUrl, ecosystems: ['npm'], cacheDir });
  assert.deepEqual(first.failed, []);
  assert.equal(first.results[0]?.incremental, undefined);
  assert.ok(requests.includes('/npm/all.zip'));
  const v1 = (await openAdvisoryIndex({ dbDir: db, cacheDir })).index;
  assert.equal(v1.manifest.counts.records, 40);

  // One record changed, one added, one gone from the bucket.
  const next = base.filter((r) => r.id !== 'GHSA-test-7').map((r) => (r.id === 'GHSA-test-3' ? record(3, '2025-06-01T00:00:00Z', '2.0.0') : r));
  next.push(record(40, '2025-06-02T00:00:00Z'));
  await publish(next);
  requests.length = 0;
  const second = await updateDatabase({ dbDir: db, baseUrl, ecosystems: ['npm'], cacheDir });
  assert.deepEqual(second.failed, []);
  assert.deepEqual(second.results[0]?.incremental && { fetched: second.results[0].incremental.fetched, withdrawn: second.results[0].incremental.withdrawn }, {
    fetched: 2,
    withdrawn: 1,
  });
  assert.deepEqual(requests.sort(), ['/npm/GHSA-test-3.json', '/npm/GHSA-test-40.json', '/npm/modified_id.csv']);
  assert.deepEqual(second.diff && [second.diff.added, second.diff.changed, second.diff.withdrawn], [['GHSA-test-40'], ['GHSA-test-3'], ['GHSA-test-7']]);
  const v2 = (await openAdvisoryIndex({ dbDir: db, cacheDir })).index;
  assert.equal(v2.version, second.dbVersion);
  assert.equal(v2.manifest.counts.records, 40);
  assert.ok(v2.manifestRecord('GHSA-test-7')?.withdrawn);
  assert.equal(v2.lookup('npm', 'pkg-0').find((a) => a.recordId === 'GHSA-test-3')?.ranges[0]?.events[1]?.fixed, '2.0.0');
  // The same records read from a fresh full dump give the same active set.
  const full = await tempDir();
  await mkdir(join(full, 'npm'));
  writeZip(
    join(full, 'npm/all.zip'),
    next.map((r) => ({ name: `${r.id}.json`, content: JSON.stringify(r) })),
  );
  const reference = (await openAdvisoryIndex({ dbDir: full })).index;
  const active = (index: typeof v2): string[] => [...index.manifestRecords()].filter(([, m]) => !m.withdrawn).map(([id]) => id);
  assert.deepEqual(active(v2), active(reference));

  // Two more changes, and the second record's fetch fails: nothing of this update is kept.
  const third = next.map((r) =>
    r.id === 'GHSA-test-5' ? record(5, '2025-07-01T00:00:00Z', '3.0.0') : r.id === 'GHSA-test-9' ? record(9, '2025-07-02T00:00:00Z', '3.0.0') : r,
  );
  await publish(third);
  failing.add('/npm/GHSA-test-9.json');
  const before = await snapshot(db);
  const failed = await updateDatabase({ dbDir: db, baseUrl, ecosystems: ['npm'], cacheDir });
  failing.clear();
  assert.deepEqual(failed.failed, ['npm']);
  assert.match(failed.results[0]?.error ?? '', /GHSA-test-9\.json/);
  assert.deepEqual(await snapshot(db), before, 'the db folder is as it was');
  assert.equal(failed.dbVersion, v2.version);
  // And the next attempt picks both up.
  const retried = await updateDatabase({ dbDir: db, baseUrl, ecosystems: ['npm'], cacheDir });
  assert.deepEqual(retried.failed, []);
  assert.deepEqual(retried.diff?.changed, ['GHSA-test-5', 'GHSA-test-9']);
});
