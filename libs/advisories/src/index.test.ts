import assert from 'node:assert/strict';
import { cp, mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { sharedDataDir, skipUnless, tempDirs } from '@strata/testing';
import { AdvisoryDbEmptyError, diffDatabases, ecosystemKey, openAdvisoryIndex, type OsvRecord } from './index.js';
import { writeZip } from './testing/zip.js';

const tempDir = tempDirs('strata-advisories');

const data = (): string => sharedDataDir() as string;

/** Reads a folder of OSV files independently of the code under test. */
async function readFolder(dir: string): Promise<OsvRecord[]> {
  const out: OsvRecord[] = [];
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.json')).sort()) {
    out.push(JSON.parse(await readFile(join(dir, name), 'utf8')) as OsvRecord);
  }
  return out;
}

test('Go vulndb: every record loads, withdrawn ones are tracked but not indexed', { skip: skipUnless('data') }, async () => {
  const dir = join(data(), 'osv/go');
  const records = await readFolder(dir);
  const withdrawn = records
    .filter((r) => r.withdrawn)
    .map((r) => r.id)
    .sort();
  assert.ok(withdrawn.length > 0);
  const { index, warnings, rebuilt } = await openAdvisoryIndex({ dbDir: dir });
  assert.equal(rebuilt, true);
  assert.deepEqual(warnings, []);
  assert.equal(index.manifest.counts.records, records.length - withdrawn.length);
  assert.equal(index.manifest.counts.withdrawn, withdrawn.length);
  assert.equal(Object.keys(index.manifest.records).length, records.length);
  for (const id of withdrawn) {
    assert.ok(index.manifest.records[id]?.withdrawn, `${id} is marked withdrawn`);
    assert.equal(index.record(id), undefined, `${id} is not indexed`);
    for (const [key, name] of index.manifest.records[id]?.packages ?? []) {
      assert.ok(!index.lookup(key, name).some((a) => a.recordId === id), `${id} never matches ${name}`);
    }
  }
  // Every affected package of every active record can be looked up under its module path.
  for (const r of records.filter((x) => !x.withdrawn)) {
    for (const a of r.affected ?? []) {
      const hits = index.lookup(ecosystemKey(a.package.ecosystem), a.package.name);
      assert.ok(
        hits.some((h) => h.recordId === r.id),
        `${r.id} found under ${a.package.name}`,
      );
    }
  }
  const stdlib = index.lookup('go', 'stdlib');
  assert.ok(stdlib.length > 0 && stdlib.every((a) => a.record.id.startsWith('GO-')));
});

test('GHSA: PyPI names are indexed PEP 503-normalised (Jinja2 and jinja2 are one package)', { skip: skipUnless('data') }, async () => {
  const dir = join(data(), 'osv/ghsa');
  const records = await readFolder(dir);
  const jinja = records.filter((r) => r.affected?.some((a) => a.package.ecosystem === 'PyPI' && a.package.name.toLowerCase() === 'jinja2'));
  assert.ok(jinja.some((r) => r.affected?.some((a) => a.package.name === 'Jinja2')));
  assert.ok(jinja.some((r) => r.affected?.some((a) => a.package.name === 'jinja2')));
  const { index } = await openAdvisoryIndex({ dbDir: dir });
  for (const spelling of ['Jinja2', 'jinja2', 'JINJA2']) {
    assert.deepEqual([...new Set(index.lookup('pypi', spelling).map((a) => a.recordId))].sort(), jinja.map((r) => r.id).sort());
  }
  const lodash = index.lookup('npm', 'lodash');
  assert.ok(lodash.length > 0);
  assert.deepEqual(index.lookup('npm', 'Lodash'), [], 'npm names are not case-folded');
});

test('a zip dump and a folder of the same records give the same database version and lookups', { skip: skipUnless('data', 'tool:python3') }, async () => {
  const src = join(data(), 'osv/alpine');
  const root = await tempDir();
  const names = (await readdir(src)).filter((n) => n.endsWith('.json'));
  await mkdir(join(root, 'Alpine'));
  writeZip(join(root, 'Alpine/all.zip'), await Promise.all(names.map(async (n) => ({ name: n, content: await readFile(join(src, n)) }))));
  const fromDir = await openAdvisoryIndex({ dbDir: src });
  const fromZip = await openAdvisoryIndex({ dbDir: root });
  assert.equal(fromZip.index.version, fromDir.index.version);
  assert.equal(fromZip.index.manifest.counts.records, names.length);
  const key = ecosystemKey('Alpine:v3.20');
  for (const pkg of ['openssl', 'busybox', 'musl', 'zlib']) {
    assert.deepEqual(
      fromZip.index.lookup(key, pkg).map((a) => a.recordId),
      fromDir.index.lookup(key, pkg).map((a) => a.recordId),
    );
  }
  assert.match(fromZip.index.lookup(key, 'openssl')[0]?.record.origin ?? '', /^Alpine\/all\.zip!ALPINE-CVE-/);
});

test('a broken record is skipped with a warning naming its file (and zip entry); the others load', { skip: skipUnless('data', 'tool:python3') }, async () => {
  const root = await tempDir();
  const src = join(data(), 'osv/ghsa');
  await cp(src, join(root, 'ghsa'), { recursive: true });
  await writeFile(join(root, 'ghsa/GHSA-broken-json.json'), '{"id": "GHSA-xxxx", "modified": ');
  await writeFile(join(root, 'ghsa/GHSA-no-id.json'), JSON.stringify({ modified: '2024-01-01T00:00:00Z', affected: [] }));
  await writeFile(
    join(root, 'ghsa/GHSA-bad-range.json'),
    JSON.stringify({
      id: 'GHSA-bad-range',
      modified: '2024-01-01T00:00:00Z',
      affected: [{ package: { ecosystem: 'npm', name: 'x' }, ranges: [{ type: 'ECOSYSTEM' }] }],
    }),
  );
  const good = await readFile(join(src, 'GHSA-35jh-r3h4-6jhm.json'), 'utf8');
  await mkdir(join(root, 'npm'));
  writeZip(join(root, 'npm/all.zip'), [
    { name: 'GHSA-35jh-r3h4-6jhm.json', content: good },
    { name: 'GHSA-truncated.json', content: good.slice(0, 200) },
  ]);
  const { index, warnings } = await openAdvisoryIndex({ dbDir: root });
  const paths = warnings.map((w) => w.path).sort();
  assert.deepEqual(paths, ['ghsa/GHSA-bad-range.json', 'ghsa/GHSA-broken-json.json', 'ghsa/GHSA-no-id.json', 'npm/all.zip!GHSA-truncated.json']);
  assert.ok(warnings.every((w) => w.analyzer === 'advisories' && w.message.length > 0));
  assert.match(warnings.find((w) => w.path.endsWith('no-id.json'))?.message ?? '', /missing "id"/);
  const goodCount = (await readFolder(src)).length;
  assert.equal(index.manifest.counts.records, goodCount);
  assert.equal(index.manifest.counts.skipped, 4);
});

test('an empty or missing db folder gives an error that says how to get data', async () => {
  const empty = await tempDir();
  for (const dbDir of [empty, join(empty, 'does-not-exist')]) {
    await assert.rejects(openAdvisoryIndex({ dbDir }), (e: unknown) => {
      assert.ok(e instanceof AdvisoryDbEmptyError);
      assert.match(e.message, /strata db update/);
      assert.match(e.message, /--db/);
      assert.ok(e.message.includes(dbDir));
      return true;
    });
  }
  await writeFile(join(empty, 'junk.json'), '[]');
  await assert.rejects(openAdvisoryIndex({ dbDir: empty }), AdvisoryDbEmptyError);
});

test('the index is cached, rebuilt only when the source changes, and diffs name what changed', { skip: skipUnless('data') }, async () => {
  const root = await tempDir();
  const db = join(root, 'db');
  const cacheDir = join(root, 'cache');
  const src = join(data(), 'osv/alpine');
  await cp(src, db, { recursive: true });

  const first = await openAdvisoryIndex({ dbDir: db, cacheDir });
  assert.equal(first.rebuilt, true);
  assert.equal(first.previous, undefined);
  const second = await openAdvisoryIndex({ dbDir: db, cacheDir });
  assert.equal(second.rebuilt, false);
  assert.equal(second.index.version, first.index.version);
  const key = ecosystemKey('Alpine:v3.20');
  assert.deepEqual(
    second.index.lookup(key, 'openssl').map((a) => [a.recordId, a.record.cves]),
    first.index.lookup(key, 'openssl').map((a) => [a.recordId, a.record.cves]),
  );

  // Change one record, withdraw another, add a third.
  const changedId = 'ALPINE-CVE-2024-9143';
  const changed = JSON.parse(await readFile(join(db, `${changedId}.json`), 'utf8')) as OsvRecord;
  changed.modified = '2026-12-01T00:00:00Z';
  await writeFile(join(db, `${changedId}.json`), JSON.stringify(changed));
  const withdrawnId = 'ALPINE-CVE-2024-13176';
  const withdrawn = JSON.parse(await readFile(join(db, `${withdrawnId}.json`), 'utf8')) as OsvRecord;
  withdrawn.withdrawn = '2026-12-01T00:00:00Z';
  await writeFile(join(db, `${withdrawnId}.json`), JSON.stringify(withdrawn));
  const added: OsvRecord = {
    id: 'ALPINE-CVE-2099-0001',
    modified: '2026-12-01T00:00:00Z',
    upstream: ['CVE-2099-0001'],
    affected: [{ package: { ecosystem: 'Alpine:v3.20', name: 'zlib' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.3.1-r2' }] }] }],
  };
  await writeFile(join(db, `${added.id}.json`), JSON.stringify(added));
  // The fingerprint is path/size/mtime: make sure the edit is visible even within one mtime tick.
  const later = new Date(Date.now() + 60_000);
  await utimes(join(db, `${changedId}.json`), later, later);

  const third = await openAdvisoryIndex({ dbDir: db, cacheDir });
  assert.equal(third.rebuilt, true);
  assert.ok(third.previous);
  assert.notEqual(third.index.version, first.index.version);
  const diff = diffDatabases(third.previous, third.index);
  assert.deepEqual(diff.added, [added.id]);
  assert.deepEqual(diff.changed, [changedId]);
  assert.deepEqual(diff.withdrawn, [withdrawnId]);
  assert.deepEqual(diff.packages, [
    [key, 'openssl'],
    [key, 'zlib'],
  ]);
  assert.equal(diff.fromVersion, first.index.version);
  assert.equal(diff.toVersion, third.index.version);
  assert.ok(!third.index.lookup(key, 'openssl').some((a) => a.recordId === withdrawnId));
  assert.deepEqual(diffDatabases(third.index, third.index), { ...diff, fromVersion: third.index.version, added: [], changed: [], withdrawn: [], packages: [] });

  const fourth = await openAdvisoryIndex({ dbDir: db, cacheDir });
  assert.equal(fourth.rebuilt, false);
  assert.equal(fourth.index.version, third.index.version);
});

test('an index cache kept inside the db folder is not read as records', { skip: skipUnless('data') }, async () => {
  const db = await tempDir();
  await cp(join(data(), 'osv/alpine'), db, { recursive: true });
  const cacheDir = join(db, 'cache');
  const first = await openAdvisoryIndex({ dbDir: db, cacheDir });
  const second = await openAdvisoryIndex({ dbDir: db, cacheDir });
  assert.equal(second.rebuilt, false);
  assert.deepEqual(second.warnings, []);
  assert.equal(second.index.version, first.index.version);
  assert.ok(second.index.manifest.sources.every((s) => !s.path.startsWith('cache/')));
});
