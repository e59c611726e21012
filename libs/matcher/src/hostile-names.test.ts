// Packages, ratings and releases named after Object.prototype members ("constructor", "__proto__",
// ...) come from images and advisory data alike: they match like any other name, and never pick
// up something inherited from Object.prototype (a severity, an end-of-life date).
import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDirs } from '@strata/testing';
import { openAdvisoryIndex, type AdvisoryIndex, type OsvRecord } from '@strata/advisories';
import { SEVERITIES, type Package } from '@strata/model';
import { eolStatus, matchInventory } from './index.js';
import { advisoryDb, appSet, osInventory, placed } from './testing/index.js';

const HOSTILE = ['constructor', '__proto__', 'hasOwnProperty', 'toString', 'valueOf'];

const tempDir = tempDirs('strata-match-hostile');
async function db(records: OsvRecord[]): Promise<AdvisoryIndex> {
  const { index, warnings } = await advisoryDb(await tempDir(), records, (_, i) => `${i}.json`);
  assert.deepEqual(warnings, []);
  return index;
}

const fixedAt = (fixed: string) => [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }];

test('npm and dpkg packages named constructor, __proto__, ... match their own records and nothing else', async () => {
  const records: OsvRecord[] = HOSTILE.flatMap((name, i) => [
    {
      id: `GHSA-npm-${i}`,
      modified: '2024-01-01T00:00:00Z',
      aliases: [`CVE-2099-${100 + i}`],
      affected: [{ package: { ecosystem: 'npm', name }, ranges: fixedAt('2.0.0') }],
    },
    {
      id: `DEBIAN-CVE-2099-${200 + i}`,
      modified: '2024-01-01T00:00:00Z',
      upstream: [`CVE-2099-${200 + i}`],
      affected: [{ package: { ecosystem: 'Debian:12', name }, ranges: fixedAt('2.0-1') }],
    },
  ]);
  records.push({
    id: 'GHSA-lodash',
    modified: '2024-01-01T00:00:00Z',
    aliases: ['CVE-2099-0999'],
    affected: [{ package: { ecosystem: 'npm', name: 'lodash' }, ranges: fixedAt('4.17.21') }],
  });
  const index = await db(records);

  // Below the fix in one copy, at the fix in another: only the first is a finding.
  const npm = appSet('npm', 'app/package-lock.json', [
    ...HOSTILE.map((name) => ({ name, version: '1.0.0' })),
    ...HOSTILE.map((name) => ({ name, version: '2.0.0' })),
    { name: 'isPrototypeOf', version: '1.0.0' },
    { name: 'lodash', version: '4.17.20' },
  ]);
  const debs: Package[] = HOSTILE.flatMap((name) => [
    { type: 'dpkg', name, version: '1.0-1', srcName: name, srcVersion: '1.0-1', purl: `pkg:deb/debian/${name}@1.0-1` },
  ]);
  const result = matchInventory(osInventory({ family: 'debian', name: '12.5' }, placed(debs, 'var/lib/dpkg/status'), [npm]), index);
  assert.deepEqual(result.warnings, []);
  const got = result.findings.map((f) => [f.targetClass, f.pkgName, f.installedVersion, f.vulnerabilityId, f.fixedVersion]).sort();
  const want = [
    ...HOSTILE.map((name, i) => ['lang-pkgs', name, '1.0.0', `CVE-2099-${100 + i}`, '2.0.0']),
    ...HOSTILE.map((name, i) => ['os-pkgs', name, '1.0-1', `CVE-2099-${200 + i}`, '2.0-1']),
    ['lang-pkgs', 'lodash', '4.17.20', 'CVE-2099-0999', '4.17.21'],
  ].sort();
  assert.deepEqual(got, want);
});

test('vendor and database ratings spelled like Object.prototype members give no severity', async () => {
  const records: OsvRecord[] = HOSTILE.map((rating, i) => ({
    id: `DEBIAN-CVE-2099-${300 + i}`,
    modified: '2024-01-01T00:00:00Z',
    upstream: [`CVE-2099-${300 + i}`],
    database_specific: { severity: rating },
    affected: [{ package: { ecosystem: 'Debian:12', name: `pkg${i}` }, ranges: fixedAt('2.0-1'), ecosystem_specific: { urgency: rating } }],
  }));
  const index = await db(records);
  const debs: Package[] = HOSTILE.map((_, i) => ({ type: 'dpkg', name: `pkg${i}`, version: '1.0-1', purl: `pkg:deb/debian/pkg${i}@1.0-1` }));
  const { findings } = matchInventory(osInventory({ family: 'debian', name: '12' }, placed(debs, 'var/lib/dpkg/status')), index);
  assert.equal(findings.length, HOSTILE.length);
  for (const f of findings) {
    assert.ok(SEVERITIES.includes(f.severity), `${f.vulnerabilityId}: ${String(f.severity)}`);
    assert.equal(f.severity, 'UNKNOWN');
    assert.equal(f.severitySource, 'none');
  }
});

test('an OS release named like an Object.prototype member has no end-of-life date', () => {
  for (const name of HOSTILE) {
    for (const family of ['debian', 'ubuntu', 'alpine', 'redhat'] as const) {
      assert.deepEqual(eolStatus({ family, name }, new Date('2026-01-01T00:00:00Z')), { endOfLife: false });
    }
  }
  assert.deepEqual(eolStatus({ family: '__proto__' as 'debian', name: '12' }), { endOfLife: false });
});

test('a version the comparator cannot cope with costs that range a warning, never the scan', async () => {
  // Build-time checks keep such versions out of an index built here; an index cache written by
  // anything else is read as it is, so the matcher must hold on its own.
  const dir = await tempDir();
  const dbDir = join(dir, 'db');
  const cacheDir = join(dir, 'cache');
  await mkdir(dbDir);
  const records: OsvRecord[] = ['a', 'b'].map((x, i) => ({
    id: `GHSA-maven-${x}`,
    modified: '2024-01-01T00:00:00Z',
    aliases: [`CVE-2099-040${i}`],
    affected: [{ package: { ecosystem: 'Maven', name: `org.example:${x}` }, ranges: fixedAt('2.0') }],
  }));
  for (const r of records) await writeFile(join(dbDir, `${r.id}.json`), JSON.stringify(r));
  await openAdvisoryIndex({ dbDir, cacheDir });
  // The Maven comparator overflows its stack comparing this version with itself.
  const hostile = `1${'.0a'.repeat(30_000)}`;
  const [shardDir] = await readdir(join(cacheDir, 'advisories'));
  // The store is tampered with through SQLite itself, as any other writer of the file could.
  const store = new DatabaseSync(join(cacheDir, 'advisories', shardDir as string, 'index.sqlite'));
  store.prepare('UPDATE affected SET body = replace(body, \'{"fixed":"2.0"}\', ?) WHERE name = \'org.example:b\'').run(`{"fixed":"${hostile}"}`);
  store.close();
  const { index, rebuilt } = await openAdvisoryIndex({ dbDir, cacheDir });
  assert.equal(rebuilt, false);
  assert.equal(index.lookup('maven', 'org.example:b')[0]?.ranges[0]?.events[1]?.fixed, hostile);
  const jars = appSet('jar', 'app/lib', [
    { name: 'org.example:a', version: '1.0' },
    { name: 'org.example:b', version: hostile },
  ]);
  const result = matchInventory({ osPackages: [], applications: [jars], layers: [], warnings: [] }, index);
  assert.deepEqual(
    result.findings.map((f) => [f.pkgName, f.vulnerabilityId]),
    [['org.example:a', 'CVE-2099-0400']],
  );
  assert.equal(result.warnings.length, 1);
  assert.match(
    result.warnings[0]?.message ?? '',
    /GHSA-maven-b: cannot compare versions \(Maximum call stack size exceeded\) in the org.example:b range; range ignored/,
  );
});
