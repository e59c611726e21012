// The strata CLI as a user runs it: a real process, the demo image, the sample advisories.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import test from 'node:test';
import { openAdvisoryIndex } from '@strata/advisories';
import { runStrata } from './testing/index.js';
import { closedLoopbackPort, repoRoot } from '@strata/testing';

const work = mkdtempSync(join(tmpdir(), 'strata-cli-'));
const imageDir = join(work, 'image');
execFileSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'fixtures/demo/build-image.ts'), imageDir], { stdio: 'ignore' });
const db = join(repoRoot, 'fixtures/advisories');
const cacheDir = join(work, 'cache');
const image = `oci:${imageDir}:demo`;
test.after(() => rmSync(work, { recursive: true, force: true }));

const strata = (...args: string[]) => runStrata(work, args);

interface JsonReport {
  SchemaVersion: number;
  ArtifactName: string;
  ArtifactType: string;
  Metadata: {
    OS?: { Family: string; Name: string };
    DiffIDs: string[];
    Layers: Array<{ DiffID: string; CreatedBy?: string }>;
    AdvisoryDB?: { Path: string; Kind: string; Version: string; Records: number; Dumps: string[]; JsonFiles: number };
  };
  Results: Array<{
    Target: string;
    Class: string;
    Packages: Array<{ Name: string; Layer: { DiffID: string } }>;
    Vulnerabilities?: Array<{ VulnerabilityID: string; Severity: string; Status: string; PkgName: string; Layer: { DiffID: string } }>;
  }>;
}
const vulnerabilities = (report: JsonReport) => report.Results.flatMap((r) => r.Vulnerabilities ?? []);

test('--format json is Trivy schema v2 with packages, layers and findings', async () => {
  const run = strata('image', image, '--db', db, '--cache-dir', cacheDir, '--format', 'json');
  assert.equal(run.status, 0, run.stderr);
  const report = JSON.parse(run.stdout) as JsonReport;
  assert.equal(report.SchemaVersion, 2);
  assert.equal(report.ArtifactName, image);
  assert.equal(report.ArtifactType, 'container_image');
  assert.deepEqual(report.Metadata.OS && [report.Metadata.OS.Family, report.Metadata.OS.Name], ['debian', '12']);
  assert.equal(report.Metadata.Layers.length, 3);
  assert.deepEqual(
    report.Metadata.Layers.map((l) => l.DiffID),
    report.Metadata.DiffIDs,
  );
  const os = report.Results.find((r) => r.Class === 'os-pkgs');
  assert.ok(os && os.Packages.some((p) => p.Name === 'libc6'), 'OS packages are always listed');
  assert.ok(!os.Packages.some((p) => p.Name === 'libsqlite3-0'), 'removed in the top layer');
  const ids = vulnerabilities(report)
    .map((v) => `${v.PkgName}:${v.VulnerabilityID}:${v.Status}`)
    .sort();
  assert.deepEqual(ids, ['libpcre2-8-0:CVE-2026-103111:fixed', 'libuuid1:CVE-2022-0563:affected', 'lodash:CVE-2020-8203:fixed']);
  assert.ok(vulnerabilities(report).every((v) => report.Metadata.DiffIDs.includes(v.Layer.DiffID)));
  // The advisory DB it matched with, as the index library reads it (the oracle).
  const { index } = await openAdvisoryIndex({ dbDir: db });
  assert.deepEqual(report.Metadata.AdvisoryDB, {
    Path: db,
    Kind: 'osv-json',
    Version: index.version,
    Records: index.manifest.counts.records,
    Dumps: [],
    JsonFiles: index.manifest.sources.length,
  });
});

test('--severity, --ignore-unfixed and --ignorefile filter; --exit-code reports what remains', () => {
  const high = strata('image', image, '--db', db, '--cache-dir', cacheDir, '--format', 'json', '--severity', 'HIGH', '--exit-code', '3');
  assert.equal(high.status, 3);
  assert.deepEqual(
    vulnerabilities(JSON.parse(high.stdout)).map((v) => v.Severity),
    ['HIGH', 'HIGH'],
  );

  const fixedOnly = strata('image', image, '--db', db, '--cache-dir', cacheDir, '--format', 'json', '--ignore-unfixed');
  assert.ok(vulnerabilities(JSON.parse(fixedOnly.stdout)).every((v) => v.Status === 'fixed'));

  const ignore = join(work, 'ignore');
  writeFileSync(ignore, '# comment\nCVE-2020-8203\nCVE-2026-103111 exp:2000-01-01\nCVE-2022-0563 exp:2999-12-31\n');
  const ignored = strata('image', image, '--db', db, '--cache-dir', cacheDir, '--format', 'json', '--ignorefile', ignore, '--exit-code', '5');
  assert.equal(ignored.status, 5, 'the expired rule ignores nothing, so one finding remains');
  assert.deepEqual(
    vulnerabilities(JSON.parse(ignored.stdout)).map((v) => v.VulnerabilityID),
    ['CVE-2026-103111'],
  );

  const none = strata('image', image, '--db', db, '--cache-dir', cacheDir, '--severity', 'CRITICAL', '--exit-code', '5');
  assert.equal(none.status, 0, 'nothing left after filtering: exit 0');
  assert.match(none.stdout, /Total: 0 \(UNKNOWN: 0, LOW: 0, MEDIUM: 0, HIGH: 0, CRITICAL: 0\)/);
});

test('the table format prints the Trivy-style header and totals; --output writes a file', () => {
  const out = join(work, 'report.txt');
  const run = strata('image', image, '--db', db, '--cache-dir', cacheDir, '--output', out);
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout, '');
  const text = readFileSync(out, 'utf8');
  assert.match(text, new RegExp(`${image.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(debian 12\\)`));
  assert.match(text, /Total: 2 \(UNKNOWN: 0, LOW: 1, MEDIUM: 0, HIGH: 1, CRITICAL: 0\)/);
  assert.doesNotMatch(text, /\x1b\[/, 'no colour when not on a TTY');
  assert.match(
    text,
    new RegExp(`^\\nAdvisory DB: ${db.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(OSV JSON folder, \\d+ records, version sha256:[0-9a-f]{12}\\)\n`),
  );
});

test('sarif, cyclonedx and spdx-json are JSON documents of their standards, and name the advisory DB', async () => {
  const { version } = (await openAdvisoryIndex({ dbDir: db })).index;
  const sarif = JSON.parse(strata('image', image, '--db', db, '--cache-dir', cacheDir, '--format', 'sarif').stdout);
  assert.equal(sarif.version, '2.1.0');
  assert.deepEqual([sarif.runs[0].properties.advisoryDb.path, sarif.runs[0].properties.advisoryDbVersion], [db, version]);
  const cdx = JSON.parse(strata('image', image, '--db', db, '--cache-dir', cacheDir, '--format', 'cyclonedx').stdout);
  assert.equal(cdx.bomFormat, 'CycloneDX');
  assert.equal(cdx.specVersion, '1.6');
  const cdxProps = new Map((cdx.metadata.properties as Array<{ name: string; value: string }>).map((p) => [p.name, p.value]));
  assert.deepEqual([cdxProps.get('strata:AdvisoryDBPath'), cdxProps.get('strata:AdvisoryDBVersion')], [db, version]);
  const spdx = JSON.parse(strata('image', image, '--db', db, '--cache-dir', cacheDir, '--format', 'spdx-json').stdout);
  assert.equal(spdx.spdxVersion, 'SPDX-2.3');
  assert.ok(spdx.creationInfo.comment.startsWith(`Advisory DB: ${db} (`) && spdx.creationInfo.comment.endsWith(version), spdx.creationInfo.comment);
});

test('an empty advisory db and a bad reference give clear errors and exit 1', () => {
  const emptyDb = join(work, 'empty-db');
  mkdirSync(emptyDb, { recursive: true });
  const empty = strata('image', image, '--db', emptyDb, '--cache-dir', cacheDir);
  assert.equal(empty.status, 1);
  assert.match(empty.stderr, /strata db update/);
  assert.doesNotMatch(empty.stderr, /\n\s+at /, 'no stack trace for a user error');

  const bad = strata('image', 'oci:/no/such/layout:x', '--db', db, '--cache-dir', cacheDir);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /\/no\/such\/layout/);
});

test('strata affected: an advisory id or --package is required, --package needs <ecosystem>/<name>, and an absent gateway is named', () => {
  const none = strata('affected', '--server', '127.0.0.1:1');
  assert.equal(none.status, 2);
  assert.match(none.stderr, /give an advisory id, or --package <ecosystem>\/<name>/);
  const bad = strata('affected', '--package', 'lodash', '--server', '127.0.0.1:1');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--package takes <ecosystem>\/<name>/);
  const away = strata('affected', 'CVE-2024-0001', '--server', '127.0.0.1:1');
  assert.equal(away.status, 1);
  assert.equal(away.stderr, 'strata: cannot reach the Strata gateway at 127.0.0.1:1: connection refused (is the gateway running there?)\n');
});

const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
const lines = (text: string) => text.split('\n').filter(Boolean);

test('strata --version prints the version; the bin answers it without loading the CLI', () => {
  for (const flag of ['--version', '-V']) {
    const run = strata(flag);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, `${version}\n`);
  }
  // Every module the bin loads, reported by a module hook: only itself and node: builtins.
  const hook = join(work, 'log-loads.mjs');
  writeFileSync(
    hook,
    "import { registerHooks } from 'node:module';\nregisterHooks({ load(url, context, next) { process.stderr.write(`load ${url}\\n`); return next(url, context); } });\n",
  );
  const bin = join(repoRoot, 'apps/cli/bin/strata.mjs');
  const run = spawnSync(process.execPath, ['--import', hook, bin, '--version'], {
    encoding: 'utf8',
    cwd: work,
    env: { ...process.env, STRATA_CACHE_DIR: join(work, 'strata-cache') },
  });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout, `${version}\n`);
  const loaded = lines(run.stderr)
    .map((l) => l.replace(/^load /, ''))
    .filter((url) => !url.startsWith('node:'));
  assert.deepEqual(loaded, [pathToFileURL(bin).href]);
});

test('the bin keeps Node compile cache in the Strata cache folder', () => {
  const strataCache = join(work, 'compile-cache-home');
  const bin = join(repoRoot, 'apps/cli/bin/strata.mjs');
  const { NODE_DISABLE_COMPILE_CACHE: _off, ...env } = process.env; // set, even empty, it turns the cache off
  const run = spawnSync(process.execPath, [bin, 'image', '--help'], { encoding: 'utf8', cwd: work, env: { ...env, STRATA_CACHE_DIR: strataCache } });
  assert.equal(run.status, 0, run.stderr);
  assert.ok(existsSync(join(strataCache, 'node-compile-cache')), 'node-compile-cache folder made');
});

test('usage errors are one line and exit 2: --exit-code abc, --db with --server, a missing --ignorefile or --db, --input dir:tag', () => {
  const badCode = strata('image', image, '--exit-code', 'abc');
  assert.equal(badCode.status, 2);
  assert.deepEqual(lines(badCode.stderr), ["strata: option '--exit-code <n>' argument 'abc' is invalid. must be a whole number"]);

  const both = strata('image', 'alpine:3.20', '--db', db, '--server', '127.0.0.1:1');
  assert.equal(both.status, 2);
  assert.equal(lines(both.stderr).length, 1, both.stderr);
  assert.match(both.stderr, /^strata: --db cannot be used with --server: the gateway matches with its own advisory DB/);

  const ignore = join(work, 'no-such.trivyignore');
  const noIgnore = strata('image', image, '--db', db, '--cache-dir', cacheDir, '--ignorefile', ignore);
  assert.equal(noIgnore.status, 2);
  assert.deepEqual(lines(noIgnore.stderr), [`strata: --ignorefile ${ignore} does not exist`]);

  const missingDb = join(work, 'no-such-db');
  const noDb = strata('image', image, '--db', missingDb, '--cache-dir', cacheDir);
  assert.equal(noDb.status, 2);
  assert.equal(lines(noDb.stderr).length, 1, noDb.stderr);
  assert.match(noDb.stderr, new RegExp(`^strata: --db ${missingDb} does not exist: download advisories into it with "strata db update --db ${missingDb}"`));
  assert.doesNotMatch(noDb.stderr, /no usable OSV records/);

  const tagged = strata('image', '--input', `${imageDir}:demo`, '--db', db, '--cache-dir', cacheDir);
  assert.equal(tagged.status, 2);
  assert.deepEqual(lines(tagged.stderr), [
    `strata: --input ${imageDir}:demo does not exist; to pick a tag from an OCI layout, give it as the reference: strata image oci:${imageDir}:demo`,
  ]);
});

test('an unreachable gateway or registry is one line naming it once, without gRPC internals', async () => {
  const port = await closedLoopbackPort();
  const refused = strata('image', 'alpine:3.20', '--server', `127.0.0.1:${port}`);
  assert.equal(refused.status, 1);
  assert.deepEqual(lines(refused.stderr), [`strata: cannot reach the Strata gateway at 127.0.0.1:${port}: connection refused (is the gateway running there?)`]);
  const unknown = strata('image', 'alpine:3.20', '--server', 'gateway.invalid:50051');
  assert.equal(unknown.status, 1);
  assert.deepEqual(lines(unknown.stderr), ['strata: cannot reach the Strata gateway at gateway.invalid:50051: host name not found']);

  const registry = strata('registry', `127.0.0.1:${port}`, '--db', db, '--cache-dir', cacheDir);
  assert.equal(registry.status, 1);
  assert.equal(lines(registry.stderr).length, 1, registry.stderr);
  assert.match(registry.stderr, /^strata: cannot reach registry 127\.0\.0\.1:\d+ after \d+ attempt\(s\): ECONNREFUSED$/m);
  assert.equal(registry.stderr.split(`127.0.0.1:${port}`).length - 1, 1, 'the registry is named once');
});

test('db update with the OSV server unreachable names the cause once and leaves no folders', async () => {
  const port = await closedLoopbackPort();
  for (const [baseUrl, says] of [
    [`http://127.0.0.1:${port}`, `cannot reach 127.0.0.1:${port} (connection refused): nothing was downloaded`],
    ['http://osv.invalid', 'cannot reach osv.invalid (host name not found): nothing was downloaded'],
  ] as const) {
    const fresh = join(work, `fresh-db-${port}-${baseUrl.length}`);
    const run = strata('db', 'update', '--db', fresh, '--cache-dir', cacheDir, '--base-url', baseUrl);
    assert.equal(run.status, 1);
    const out = lines(run.stderr);
    assert.equal(out.filter((l) => l.includes('cannot reach')).length, 1, run.stderr);
    assert.equal(out[0], says);
    assert.doesNotMatch(run.stderr, /kept|keep/, 'there was no old data to keep');
    assert.match(run.stderr, /holds no advisory data yet/);
    assert.equal(existsSync(fresh), false, 'no db folder with empty ecosystem folders');
  }
});
