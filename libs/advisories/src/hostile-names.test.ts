// Advisory data names things after Object.prototype's members: package names, record ids, aliases
// and ecosystems such as "constructor" or "__proto__". None of them may break or bend an index.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDirs } from '@strata/testing';
import { diffDatabases, ecosystemKey, openAdvisoryIndex, type OsvRecord } from './index.js';

const tempDir = tempDirs('strata-hostile-names');

const HOSTILE_NAMES = ['constructor', '__proto__', 'hasOwnProperty', 'toString', 'valueOf', '__defineGetter__', 'prototype'] as const;

const range = (fixed: string) => [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }];

/** One npm record per hostile package name, records whose ids are hostile names, and hostile ecosystems. */
function hostileRecords(): OsvRecord[] {
  const out: OsvRecord[] = [];
  for (const [i, name] of HOSTILE_NAMES.entries()) {
    out.push({
      id: `GHSA-name-${i}`,
      modified: '2024-01-01T00:00:00Z',
      aliases: [`CVE-2099-${1000 + i}`],
      affected: [{ package: { ecosystem: 'npm', name }, ranges: range('2.0.0') }],
    });
    // A record whose id, and another whose alias, is the hostile name.
    out.push({ id: name, modified: '2024-01-01T00:00:00Z', affected: [{ package: { ecosystem: 'npm', name: `pkg-id-${i}` }, ranges: range('1.0.0') }] });
    out.push({
      id: `GHSA-alias-${i}`,
      aliases: [name],
      modified: '2024-01-01T00:00:00Z',
      affected: [{ package: { ecosystem: 'npm', name: `pkg-alias-${i}` }, ranges: range('1.0.0') }],
    });
    // An ecosystem spelled as the hostile name (unknown to Strata, but indexed like any other).
    out.push({ id: `OSV-eco-${i}`, modified: '2024-01-01T00:00:00Z', affected: [{ package: { ecosystem: name, name }, ranges: range('1.0.0') }] });
  }
  out.push({ id: 'GHSA-plain', modified: '2024-01-01T00:00:00Z', affected: [{ package: { ecosystem: 'npm', name: 'lodash' }, ranges: range('4.17.21') }] });
  return out;
}

async function writeDb(records: OsvRecord[]): Promise<string> {
  const db = await tempDir();
  for (const r of records) await writeFile(join(db, `${encodeURIComponent(r.id)}.json`), JSON.stringify(r));
  return db;
}

function checkIndex(index: Awaited<ReturnType<typeof openAdvisoryIndex>>['index'], records: OsvRecord[]): void {
  assert.equal(index.manifest.counts.records, records.length);
  assert.equal(Object.keys(index.manifest.records).length, records.length);
  for (const [i, name] of HOSTILE_NAMES.entries()) {
    assert.deepEqual(
      index.lookup('npm', name).map((a) => a.recordId),
      [`GHSA-name-${i}`],
      `npm package ${name}`,
    );
    assert.equal(index.lookup('npm', name)[0]?.record.id, `GHSA-name-${i}`);
    assert.deepEqual(
      index.lookup('npm', `pkg-id-${i}`).map((a) => a.record.id),
      [name],
      `record id ${name}`,
    );
    assert.equal(index.record(name)?.id, name);
    assert.deepEqual(index.recordIds(name), [name, `GHSA-alias-${i}`].sort(), `id or alias ${name}`);
    const key = ecosystemKey(name);
    assert.ok(index.hasEcosystem(key), `ecosystem ${name}`);
    assert.deepEqual(
      index.lookup(key, name).map((a) => a.recordId),
      [`OSV-eco-${i}`],
    );
    assert.equal(index.manifest.records[name]?.withdrawn, undefined);
    assert.ok(Object.hasOwn(index.manifest.records, name));
  }
  // Names that no record uses are still absent, whatever Object.prototype holds.
  for (const name of ['isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString']) {
    assert.deepEqual(index.lookup('npm', name), []);
    assert.equal(index.hasEcosystem(name.toLowerCase()), false);
    assert.equal(index.record(name), undefined);
    assert.deepEqual(index.recordIds(name), []);
  }
  assert.deepEqual(
    index.lookup('npm', 'lodash').map((a) => a.recordId),
    ['GHSA-plain'],
  );
  assert.equal(Object.getPrototypeOf({}).polluted, undefined);
}

test('package names, ids, aliases and ecosystems named after Object.prototype members are indexed like any other', async () => {
  const records = hostileRecords();
  const db = await writeDb(records);
  const fresh = await openAdvisoryIndex({ dbDir: db });
  assert.deepEqual(fresh.warnings, []);
  checkIndex(fresh.index, records);

  // The same through the on-disk cache: built, then read back.
  const cacheDir = await tempDir();
  const built = await openAdvisoryIndex({ dbDir: db, cacheDir });
  assert.equal(built.rebuilt, true);
  checkIndex(built.index, records);
  const cached = await openAdvisoryIndex({ dbDir: db, cacheDir, preload: true });
  assert.equal(cached.rebuilt, false);
  checkIndex(cached.index, records);
  assert.equal(cached.index.version, fresh.index.version);
});

test('a database diff treats hostile ids as records: added, changed and withdrawn', async () => {
  const base = hostileRecords().filter((r) => r.id !== 'constructor' && r.id !== 'toString');
  const oldDb = await writeDb(base);
  const next = hostileRecords().map((r) =>
    r.id === '__proto__'
      ? { ...r, modified: '2025-01-01T00:00:00Z', summary: 'changed' }
      : r.id === 'hasOwnProperty'
        ? { ...r, withdrawn: '2025-01-01T00:00:00Z' }
        : r,
  );
  const newDb = await writeDb(next);
  const before = (await openAdvisoryIndex({ dbDir: oldDb })).index;
  const afterIndex = (await openAdvisoryIndex({ dbDir: newDb })).index;
  const diff = diffDatabases(before, afterIndex);
  assert.deepEqual(diff.added, ['constructor', 'toString']);
  assert.deepEqual(diff.changed, ['__proto__']);
  assert.deepEqual(diff.withdrawn, ['hasOwnProperty']);
  // A manifest read back from JSON (as services exchange them) diffs the same.
  const roundTrip = JSON.parse(JSON.stringify(before.manifest)) as typeof before.manifest;
  assert.deepEqual(diffDatabases(roundTrip, afterIndex), diff);
  // Diffing a database with itself names nothing, even for ids an ordinary object "has".
  const empty = diffDatabases(afterIndex, afterIndex);
  assert.deepEqual([empty.added, empty.changed, empty.withdrawn], [[], [], []]);
});
