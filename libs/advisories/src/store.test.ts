// The on-disk store against an index made here straight from the records (the JSON-shard index's
// rules: records grouped by ecosystem key and normalised name, in id order, withdrawn ones left
// out), on every shared-data OSV folder; and a rebuild while readers hold the old store.
import assert from 'node:assert/strict';
import { cp, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { sharedDataDir, skipUnless, tempDirs } from '@strata/testing';
import { ecosystemKey, indexCacheDir, listSources, normalizePackageName, openAdvisoryIndex, STORE_FILE, type OsvRecord } from './index.js';
import { incrementalSources } from './store.js';

const tempDir = tempDirs('strata-store');

async function readFolder(dir: string): Promise<OsvRecord[]> {
  const out: OsvRecord[] = [];
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.json')).sort()) {
    const value = JSON.parse(await readFile(join(dir, name), 'utf8')) as OsvRecord | OsvRecord[];
    out.push(...(Array.isArray(value) ? value : [value]));
  }
  return out;
}

/** (key, name) -> [record id, ecosystem, name, fixed versions] per affected entry, the old index's order. */
function referenceIndex(records: OsvRecord[]): Map<string, [string, string, string, string[]][]> {
  const out = new Map<string, [string, string, string, string[]][]>();
  for (const r of [...records].filter((x) => !x.withdrawn).sort((a, b) => (a.id < b.id ? -1 : 1))) {
    for (const a of r.affected ?? []) {
      const ranges = (a.ranges ?? []).filter((x) => x.type === 'ECOSYSTEM' || x.type === 'SEMVER');
      if (ranges.length === 0 && !(a.versions && a.versions.length > 0)) continue;
      const key = `${ecosystemKey(a.package.ecosystem)}\u0000${normalizePackageName(a.package.ecosystem, a.package.name)}`;
      const fixed = ranges.flatMap((x) => x.events.flatMap((e) => (e.fixed ? [e.fixed] : []))).sort();
      const list = out.get(key) ?? [];
      list.push([r.id, a.package.ecosystem, a.package.name, fixed]);
      out.set(key, list);
    }
  }
  return out;
}

for (const folder of ['alpine', 'ghsa', 'go']) {
  test(`store = reference index on shared data osv/${folder}: every package, in order, with its ranges`, { skip: skipUnless('data') }, async () => {
    const dir = join(sharedDataDir() as string, 'osv', folder);
    const records = await readFolder(dir);
    const reference = referenceIndex(records);
    const cacheDir = await tempDir();
    const built = await openAdvisoryIndex({ dbDir: dir, cacheDir });
    const reopened = await openAdvisoryIndex({ dbDir: dir, cacheDir });
    assert.equal(reopened.rebuilt, false);
    for (const { index } of [built, reopened]) {
      for (const [key, expected] of reference) {
        const [eco, name] = key.split('\u0000') as [string, string];
        const got = index
          .lookup(eco, name)
          .map((a) => [a.recordId, a.ecosystem, a.name, a.ranges.flatMap((x) => x.events.flatMap((e) => (e.fixed ? [e.fixed] : []))).sort()]);
        assert.deepEqual(got, expected, `${eco} ${name}`);
        for (const a of index.lookup(eco, name)) assert.equal(a.record.id, a.recordId);
      }
      assert.equal(index.manifest.counts.records, records.filter((r) => !r.withdrawn).length);
      assert.equal([...index.manifestRecords()].length, records.length);
      // Every alias and CVE resolves to the active records naming it.
      for (const r of records.filter((x) => !x.withdrawn)) {
        for (const alias of [...(r.aliases ?? []), ...(r.upstream ?? [])]) assert.ok(index.recordIds(alias).includes(r.id), `${alias} -> ${r.id}`);
        assert.deepEqual(index.recordIds(r.id).includes(r.id), true);
      }
    }
  });
}

test('a rebuild while readers hold the store: they keep reading the old data, new opens see the new', { skip: skipUnless('data') }, async () => {
  const db = await tempDir();
  const cacheDir = await tempDir();
  await cp(join(sharedDataDir() as string, 'osv/alpine'), db, { recursive: true });
  const key = ecosystemKey('Alpine:v3.20');
  const old = await openAdvisoryIndex({ dbDir: db, cacheDir });
  const before = old.index.lookup(key, 'openssl').map((a) => a.recordId);
  assert.ok(before.length > 0);

  const added: OsvRecord = {
    id: 'ALPINE-CVE-2099-7777',
    modified: '2026-12-01T00:00:00Z',
    upstream: ['CVE-2099-7777'],
    affected: [
      { package: { ecosystem: 'Alpine:v3.20', name: 'openssl' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '9.9.9-r0' }] }] },
    ],
  };
  await writeFile(join(db, `${added.id}.json`), JSON.stringify(added));
  const later = new Date(Date.now() + 60_000);
  await utimes(join(db, `${added.id}.json`), later, later);

  // Readers go on while the rebuild streams the folder and renames the new store into place.
  const rebuilding = openAdvisoryIndex({ dbDir: db, cacheDir });
  let reads = 0;
  let done = false;
  void rebuilding.finally(() => (done = true));
  while (!done) {
    assert.deepEqual(
      old.index.lookup(key, 'openssl').map((a) => a.recordId),
      before,
    );
    reads++;
    await new Promise((r) => setImmediate(r));
  }
  const fresh = await rebuilding;
  assert.ok(reads > 0);
  assert.equal(fresh.rebuilt, true);
  assert.ok(fresh.index.lookup(key, 'openssl').some((a) => a.recordId === added.id));
  // The old handle still answers from the file it opened, uncached lookups and records included.
  assert.ok(!old.index.lookup(key, 'zlib').some((a) => a.recordId === added.id));
  assert.equal(old.index.record(added.id), undefined);
  assert.equal(old.index.manifestRecord(added.id), undefined);
  assert.deepEqual(
    old.index.lookup(key, 'openssl').map((a) => a.recordId),
    before,
  );
  assert.notEqual(fresh.index.version, old.index.version);
  // One instance per store file and process: an unchanged store opens to the same handle.
  const again = await openAdvisoryIndex({ dbDir: db, cacheDir });
  assert.equal(again.rebuilt, false);
  assert.equal(again.index, fresh.index);
});

test('a store updated in place from rewritten and added record files equals one built from scratch', { skip: skipUnless('data') }, async () => {
  const db = await tempDir();
  const cacheDir = await tempDir();
  await cp(join(sharedDataDir() as string, 'osv/alpine'), db, { recursive: true });
  await openAdvisoryIndex({ dbDir: db, cacheDir });
  const names = (await readdir(db)).filter((n) => n.endsWith('.json')).sort();
  const edit = async (name: string, change: (r: OsvRecord) => OsvRecord): Promise<void> => {
    const r = JSON.parse(await readFile(join(db, name), 'utf8')) as OsvRecord;
    await writeFile(join(db, name), JSON.stringify(change(r)));
    const later = new Date(Date.now() + 120_000);
    await utimes(join(db, name), later, later);
  };
  await edit(names[0] as string, (r) => ({ ...r, modified: '2027-01-01T00:00:00Z', summary: 'changed' }));
  await edit(names[1] as string, (r) => ({ ...r, modified: '2027-01-01T00:00:00Z', withdrawn: '2027-01-01T00:00:00Z' }));
  // A file rewritten to hold another record: the one it held before is gone.
  await edit(names[2] as string, (r) => ({ ...r, id: 'ALPINE-CVE-2099-0002', modified: '2027-01-01T00:00:00Z' }));
  // A record moved to a package and a release no other record has: counts per key go up and down.
  await edit(names[3] as string, (r) => ({
    ...r,
    modified: '2027-01-01T00:00:00Z',
    affected: [{ package: { ecosystem: 'Alpine:v9.99', name: 'only-here' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }] }],
  }));
  await writeFile(
    join(db, 'updates-new.json'),
    JSON.stringify({
      id: 'ALPINE-CVE-2099-0003',
      modified: '2027-01-01T00:00:00Z',
      affected: [{ package: { ecosystem: 'Alpine:v3.20', name: 'zlib' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '9.0-r0' }] }] }],
    }),
  );
  // Only the four files are read again, on a copy of the store.
  const changed = incrementalSources(join(indexCacheDir(cacheDir, db), STORE_FILE), await listSources(db), undefined);
  assert.deepEqual(changed?.map((f) => f.path).sort(), [names[0], names[1], names[2], names[3], 'updates-new.json'].sort());
  const updated = await openAdvisoryIndex({ dbDir: db, cacheDir });
  assert.equal(updated.rebuilt, true);
  const scratch = (await openAdvisoryIndex({ dbDir: db })).index;
  assert.equal(updated.index.version, scratch.version);
  assert.deepEqual([...updated.index.manifestRecords()], [...scratch.manifestRecords()]);
  assert.deepEqual(updated.index.manifest.counts, scratch.manifest.counts);
  assert.deepEqual(updated.index.manifest.shards, scratch.manifest.shards);
  for (const [, m] of scratch.manifestRecords()) {
    for (const [key, name] of m.packages) assert.deepEqual(updated.index.lookup(key, name), scratch.lookup(key, name), `${key} ${name}`);
  }
  for (const [id] of scratch.manifestRecords()) {
    const r = scratch.record(id);
    for (const alias of [id, ...(r?.aliases ?? []), ...(r?.upstream ?? []), ...(r?.cves ?? [])])
      assert.deepEqual(updated.index.recordIds(alias), scratch.recordIds(alias), alias);
  }
  for (const name of names.slice(0, 4)) {
    const old = JSON.parse(await readFile(join(db, name), 'utf8')) as OsvRecord;
    for (const alias of [...(old.aliases ?? []), ...(old.upstream ?? [])]) assert.deepEqual(updated.index.recordIds(alias), scratch.recordIds(alias), alias);
  }
  assert.ok(updated.index.hasEcosystem(ecosystemKey('Alpine:v9.99')));
  assert.equal(updated.index.recordIds('CVE-2099-0003').length, 0);
  assert.ok(updated.index.lookup(ecosystemKey('Alpine:v3.20'), 'zlib').some((a) => a.recordId === 'ALPINE-CVE-2099-0003'));
});

test('one id in two files of a full build: the newer copy wins, and none of the older copy’s rows stay (packages, aliases, counts)', async () => {
  const db = await tempDir();
  const record = (modified: string, ecosystem: string, name: string, cve: string): string =>
    JSON.stringify({
      id: 'GHSA-dup1-dup1-dup1',
      modified,
      aliases: [cve],
      affected: [{ package: { ecosystem, name }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '2.0.0' }] }] }],
    });
  await writeFile(join(db, 'a.json'), record('2024-01-01T00:00:00Z', 'npm', 'older-pkg', 'CVE-2024-0001'));
  await writeFile(join(db, 'b.json'), record('2025-01-01T00:00:00Z', 'PyPI', 'newer-pkg', 'CVE-2025-0002'));
  await writeFile(
    join(db, 'c.json'),
    JSON.stringify({
      id: 'GHSA-othe-othe-othe',
      modified: '2024-01-01T00:00:00Z',
      affected: [{ package: { ecosystem: 'npm', name: 'other' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }] }],
    }),
  );
  const { index } = await openAdvisoryIndex({ dbDir: db });
  assert.deepEqual(index.lookup('npm', 'older-pkg'), []);
  assert.deepEqual(
    index.lookup('pypi', 'newer-pkg').map((e) => [e.recordId, e.record.modified]),
    [['GHSA-dup1-dup1-dup1', '2025-01-01T00:00:00Z']],
  );
  assert.deepEqual(index.recordIds('CVE-2024-0001'), []);
  assert.deepEqual(index.recordIds('CVE-2025-0002'), ['GHSA-dup1-dup1-dup1']);
  assert.equal(index.manifest.counts.records, 2);
  assert.deepEqual({ ...index.manifest.shards }, { npm: { file: STORE_FILE, records: 1, packages: 1 }, pypi: { file: STORE_FILE, records: 1, packages: 1 } });
});
