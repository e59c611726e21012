import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import initSqlJs from 'sql.js';
import type { Package } from '@strata/model';
import { fixturesCacheDir, sharedDataDir, skipUnless } from '@strata/testing';
import { readSqliteHeaders, rpmAnalyzer, rpmPackagesFromHeaders } from './rpm.js';
import { DEFAULT_ANALYZER_LIMITS } from '../types.js';
import type { CollectedFile } from '../types.js';
import { run, sortLines, tempDir, tsvLines } from '../testing/index.js';

const QF = '%{NAME}\\t%{EPOCHNUM}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{SOURCERPM}\\t%{LICENSE}\\n';
const line = (p: Package): string =>
  [p.name, p.epoch ?? 0, p.version, p.release ?? '', p.arch ?? '(none)', p.srcName ? `${p.srcName}-${p.srcVersion}-${p.srcRelease}.src.rpm` : '(none)'].join(
    '\t',
  );
const withLicense = (p: Package): string => `${line(p)}\t${p.licenses?.[0] ?? '(none)'}`;

function rpmQuery(dbpath: string, root?: string): string[] {
  const args = root ? ['--root', root, '--dbpath', dbpath] : ['--dbpath', dbpath];
  return tsvLines(run('rpm', [...args, '-qa', '--qf', QF]));
}

async function parseDb(file: string): Promise<{ packages: Package[]; warnings: unknown[] }> {
  return rpmPackagesFromHeaders(await readSqliteHeaders(readFileSync(file)), file);
}

const ctx = { limits: DEFAULT_ANALYZER_LIMITS, tmpDir: '/nonexistent' };
const collected = (path: string, content: Buffer): CollectedFile => ({ path, content, size: content.length, mode: 0o644 });

test('rpm: CBL-Mariner 2.0 rpmdb.sqlite equals packages.tsv and rpm -qa', { skip: skipUnless('data') || skipUnless('tool:rpm') }, async () => {
  const dir = join(sharedDataDir() ?? '', 'rpmdb/cbl-mariner-2.0');
  const expectedTsv = sortLines(tsvLines(readFileSync(join(dir, 'packages.tsv'), 'utf8')));
  const t = tempDir('rpm-mariner');
  try {
    copyFileSync(join(dir, 'rpmdb.sqlite'), join(t.dir, 'rpmdb.sqlite'));
    const live = sortLines(rpmQuery(t.dir));
    const parsed = await parseDb(join(dir, 'rpmdb.sqlite'));
    assert.deepEqual(parsed.warnings, []);
    assert.equal(parsed.packages.length, 129);
    assert.deepEqual(sortLines(parsed.packages.map(line)), expectedTsv);
    assert.deepEqual(sortLines(parsed.packages.map(withLicense)), live);
  } finally {
    t.cleanup();
  }
});

const SPECS: Array<{ name: string; body: string }> = [
  { name: 'alpha', body: 'Name: strata-alpha\nVersion: 1.2.3\nRelease: 4.test\nEpoch: 2\nLicense: MIT AND Apache-2.0\nBuildArch: noarch\n' },
  { name: 'beta', body: 'Name: strata-beta\nVersion: 0.9~rc1\nRelease: 1%{?dist}\nLicense: GPL-2.0-or-later\n' },
  { name: 'gamma', body: 'Name: strata-gamma\nVersion: 10\nRelease: 0.1.el9_2\nEpoch: 0\nLicense: BSD-3-Clause\nBuildArch: noarch\n' },
];

/** Builds rpms with rpmbuild and installs them (--justdb) into a root with Debian's rpm: a real rpm 4.18 sqlite DB. */
function buildRpmRoot(dir: string, specs: typeof SPECS): string {
  const top = join(dir, 'top');
  mkdirSync(join(top, 'SPECS'), { recursive: true });
  for (const s of specs) {
    const spec = join(top, 'SPECS', `${s.name}.spec`);
    writeFileSync(spec, `${s.body}Summary: Strata test package ${s.name}\n%description\nStrata test package.\n%files\n`);
    run('rpmbuild', ['-bb', '--define', `_topdir ${top}`, '--define', '_build_id_links none', '--target', 'x86_64', spec]);
  }
  const rpms = readdirSync(join(top, 'RPMS'), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.rpm'))
    .map((e) => join(e.parentPath, e.name));
  const root = join(dir, 'root');
  mkdirSync(root);
  run('rpm', ['--root', root, '--dbpath', '/var/lib/rpm', '--define', '_db_backend sqlite', '-i', '--nodeps', '--justdb', ...rpms]);
  return root;
}

test('rpm: a DB built here with rpmbuild + rpm -i equals rpm -qa', { skip: skipUnless('tool:rpmbuild') || skipUnless('tool:rpm') }, async () => {
  const t = tempDir('rpm-built');
  try {
    const root = buildRpmRoot(t.dir, SPECS);
    const live = sortLines(rpmQuery('/var/lib/rpm', root));
    assert.equal(live.length, SPECS.length);
    const dbFile = join(root, 'var/lib/rpm/rpmdb.sqlite');
    const out = await rpmAnalyzer.postAnalyze([collected('var/lib/rpm/rpmdb.sqlite', readFileSync(dbFile))], ctx);
    assert.deepEqual(out?.warnings, []);
    const set = out?.packageSets?.[0];
    assert.equal(set?.path, 'var/lib/rpm/rpmdb.sqlite');
    assert.deepEqual(sortLines((set?.packages ?? []).map(withLicense)), live);
  } finally {
    t.cleanup();
  }
});

test('rpm: a corrupt sqlite file gives a warning naming it; other DB files still count', { skip: skipUnless('data') }, async () => {
  const good = readFileSync(join(sharedDataDir() ?? '', 'rpmdb/cbl-mariner-2.0/rpmdb.sqlite'));
  const noise = Buffer.alloc(64 * 1024);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
  const torn = Buffer.from(good.subarray(0, 16 * 4096)); // a header that promises pages that are not there
  const out = await rpmAnalyzer.postAnalyze(
    [collected('var/lib/rpm/rpmdb.sqlite', noise), collected('usr/lib/sysimage/rpm/rpmdb.sqlite', good), collected('usr/share/rpm/rpmdb.sqlite', torn)],
    ctx,
  );
  const warnings = out?.warnings ?? [];
  assert.ok(
    warnings.some((w) => w.path === 'var/lib/rpm/rpmdb.sqlite' && /cannot read rpm database/.test(w.message)),
    JSON.stringify(warnings),
  );
  assert.ok(
    warnings.some((w) => w.path === 'usr/share/rpm/rpmdb.sqlite'),
    JSON.stringify(warnings),
  );
  const sets = new Map((out?.packageSets ?? []).map((s) => [s.path, s.packages.length]));
  assert.equal(sets.get('usr/lib/sysimage/rpm/rpmdb.sqlite'), 129);
  assert.equal(sets.get('var/lib/rpm/rpmdb.sqlite'), 0);
});

test('rpm: one malformed header blob is skipped with a warning, the others count', { skip: skipUnless('data') }, async () => {
  const SQL = await initSqlJs();
  const db = new SQL.Database(readFileSync(join(sharedDataDir() ?? '', 'rpmdb/cbl-mariner-2.0/rpmdb.sqlite')));
  db.run("UPDATE Packages SET blob = x'0000000300000010deadbeef' WHERE hnum = (SELECT min(hnum) FROM Packages)");
  const edited = Buffer.from(db.export());
  db.close();
  const out = await rpmAnalyzer.postAnalyze([collected('var/lib/rpm/rpmdb.sqlite', edited)], ctx);
  assert.equal(out?.packageSets?.[0]?.packages.length, 128);
  assert.ok(
    out?.warnings?.some((w) => /header #1/.test(w.message)),
    JSON.stringify(out?.warnings),
  );
});

/** The Mariner headers written into a BerkeleyDB hash `Packages` by db_load, the way rpm's BDB backend keys them. */
async function marinerAsBdb(dir: string): Promise<string> {
  const SQL = await initSqlJs();
  const db = new SQL.Database(readFileSync(join(sharedDataDir() ?? '', 'rpmdb/cbl-mariner-2.0/rpmdb.sqlite')));
  let dump = 'VERSION=3\nformat=bytevalue\ntype=hash\ndb_pagesize=4096\nHEADER=END\n';
  const stmt = db.prepare('SELECT hnum, blob FROM Packages');
  while (stmt.step()) {
    const [hnum, blob] = stmt.get() as [number, Uint8Array];
    const key = Buffer.alloc(4);
    key.writeUInt32LE(hnum);
    dump += ` ${key.toString('hex')}\n ${Buffer.from(blob).toString('hex')}\n`;
  }
  stmt.free();
  db.close();
  dump += 'DATA=END\n';
  writeFileSync(join(dir, 'dump.txt'), dump);
  run('db5.3_load', ['-f', join(dir, 'dump.txt'), join(dir, 'Packages')]);
  return join(dir, 'Packages');
}

test('rpm: a BerkeleyDB Packages equals rpm -qa with the bdb_ro backend', {
  skip: skipUnless('data') || skipUnless('tool:rpm') || skipUnless('tool:db5.3_load'),
}, async () => {
  const t = tempDir('rpm-bdb');
  try {
    const file = await marinerAsBdb(t.dir);
    const live = sortLines(tsvLines(run('rpm', ['--dbpath', t.dir, '--define', '_db_backend bdb_ro', '-qa', '--qf', QF])));
    assert.equal(live.length, 129);
    const out = await rpmAnalyzer.postAnalyze([collected('var/lib/rpm/Packages', readFileSync(file))], ctx);
    assert.deepEqual(out?.warnings, []);
    assert.deepEqual(sortLines((out?.packageSets?.[0]?.packages ?? []).map(withLicense)), live);
  } finally {
    t.cleanup();
  }
});

test('rpm: a truncated BerkeleyDB Packages gives a loud warning, never a silent empty list', {
  skip: skipUnless('data') || skipUnless('tool:db5.3_load'),
}, async () => {
  const t = tempDir('rpm-bdb-bad');
  try {
    const file = await marinerAsBdb(t.dir);
    const cut = readFileSync(file).subarray(0, 64 * 1024);
    const out = await rpmAnalyzer.postAnalyze([collected('var/lib/rpm/Packages', cut)], ctx);
    assert.ok(
      out?.warnings?.some((w) => w.path === 'var/lib/rpm/Packages' && /packages are NOT in this report/.test(w.message)),
      JSON.stringify(out?.warnings),
    );
  } finally {
    t.cleanup();
  }
});

// The NDB fixture: SUSE BCI (SLE 15 SP3) `Packages.db` from go-rpmdb v0.1.1's test data, fetched
// through the Go module proxy by infra/local/install.sh into the fixtures cache (never committed).
// Debian's rpm cannot read NDB, so the oracle is the `rpm -qa` listing that go-rpmdb's own test
// expectations record for this file (rpmdb_testcase_test.go, SLE15WithNDB), read here as data.
const NDB_DIR = join(fixturesCacheDir(), 'rpm-ndb/sle15-bci');
function ndbFixture(): string | false {
  if (existsSync(join(NDB_DIR, 'Packages.db')) && existsSync(join(NDB_DIR, 'rpmdb_testcase_test.go'))) return false;
  const reason = `NDB fixture missing in ${NDB_DIR} (run infra/local/install.sh)`;
  if (process.env.STRATA_REQUIRE_INFRA === '1') throw new Error(`required for this test run but missing: ${reason}`);
  return reason;
}

/** The SLE15WithNDB rows of go-rpmdb's expectations: epoch, name, version, release, arch, source rpm, license. */
function ndbExpected(): string[] {
  const text = readFileSync(join(NDB_DIR, 'rpmdb_testcase_test.go'), 'utf8');
  const from = text.indexOf('SLE15WithNDB = func()');
  const block = text.slice(from, text.indexOf('return toPackageInfo', from));
  const rows = [...block.matchAll(/\{intRef\((\d*)\), "([^"]*)", "([^"]*)", "([^"]*)", "([^"]*)", "([^"]*)", \d+, "([^"]*)"/g)];
  return rows.map(([, epoch, name, version, release, arch, srpm, license]) => [name, epoch || 0, version, release, arch, srpm, license].join('\t'));
}

test('rpm: the SLE 15 BCI NDB Packages.db equals the rpm -qa listing recorded for it', { skip: ndbFixture() }, async () => {
  const expected = ndbExpected();
  assert.equal(expected.length, 35);
  const content = readFileSync(join(NDB_DIR, 'Packages.db'));
  const out = await rpmAnalyzer.postAnalyze([collected('usr/lib/sysimage/rpm/Packages.db', content)], ctx);
  assert.deepEqual(out?.warnings, []);
  const set = out?.packageSets?.[0];
  assert.equal(set?.path, 'usr/lib/sysimage/rpm/Packages.db');
  // same packages, same order: rpm lists NDB packages by package index
  assert.deepEqual(set?.packages.map(withLicense), expected);
  const glibc = set?.packages.find((p) => p.name === 'glibc');
  assert.equal(glibc?.purl.startsWith('pkg:rpm/'), true);
});

test('rpm: a Packages.db that is not NDB gives a loud warning, never a silent empty list', async () => {
  const out = await rpmAnalyzer.postAnalyze([collected('usr/lib/sysimage/rpm/Packages.db', Buffer.alloc(4096))], ctx);
  assert.ok(
    out?.warnings?.some((w) => /cannot read rpm database: .*not an NDB package database.*its packages are NOT in this report/.test(w.message)),
    JSON.stringify(out?.warnings),
  );
});
