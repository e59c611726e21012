// The strata CLI as a user runs it: a real process, the demo image, the sample advisories.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { runStrata } from './test-support.js';
import { repoRoot } from '@strata/testing';

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
  Metadata: { OS?: { Family: string; Name: string }; DiffIDs: string[]; Layers: Array<{ DiffID: string; CreatedBy?: string }> };
  Results: Array<{ Target: string; Class: string; Packages: Array<{ Name: string; Layer: { DiffID: string } }>; Vulnerabilities?: Array<{ VulnerabilityID: string; Severity: string; Status: string; PkgName: string; Layer: { DiffID: string } }> }>;
}
const vulnerabilities = (report: JsonReport) => report.Results.flatMap((r) => r.Vulnerabilities ?? []);

test('--format json is Trivy schema v2 with packages, layers and findings', () => {
  const run = strata('image', image, '--db', db, '--cache-dir', cacheDir, '--format', 'json');
  assert.equal(run.status, 0, run.stderr);
  const report = JSON.parse(run.stdout) as JsonReport;
  assert.equal(report.SchemaVersion, 2);
  assert.equal(report.ArtifactName, image);
  assert.equal(report.ArtifactType, 'container_image');
  assert.deepEqual(report.Metadata.OS && [report.Metadata.OS.Family, report.Metadata.OS.Name], ['debian', '12']);
  assert.equal(report.Metadata.Layers.length, 3);
  assert.deepEqual(report.Metadata.Layers.map((l) => l.DiffID), report.Metadata.DiffIDs);
  const os = report.Results.find((r) => r.Class === 'os-pkgs');
  assert.ok(os && os.Packages.some((p) => p.Name === 'libc6'), 'OS packages are always listed');
  assert.ok(!os.Packages.some((p) => p.Name === 'libsqlite3-0'), 'removed in the top layer');
  const ids = vulnerabilities(report).map((v) => `${v.PkgName}:${v.VulnerabilityID}:${v.Status}`).sort();
  assert.deepEqual(ids, ['libpcre2-8-0:CVE-2026-103111:fixed', 'libuuid1:CVE-2022-0563:affected', 'lodash:CVE-2020-8203:fixed']);
  assert.ok(vulnerabilities(report).every((v) => report.Metadata.DiffIDs.includes(v.Layer.DiffID)));
});

test('--severity, --ignore-unfixed and --ignorefile filter; --exit-code reports what remains', () => {
  const high = strata('image', image, '--db', db, '--cache-dir', cacheDir, '--format', 'json', '--severity', 'HIGH', '--exit-code', '3');
  assert.equal(high.status, 3);
  assert.deepEqual(vulnerabilities(JSON.parse(high.stdout)).map((v) => v.Severity), ['HIGH', 'HIGH']);

  const fixedOnly = strata('image', image, '--db', db, '--cache-dir', cacheDir, '--format', 'json', '--ignore-unfixed');
  assert.ok(vulnerabilities(JSON.parse(fixedOnly.stdout)).every((v) => v.Status === 'fixed'));

  const ignore = join(work, 'ignore');
  writeFileSync(ignore, '# comment\nCVE-2020-8203\nCVE-2026-103111 exp:2000-01-01\nCVE-2022-0563 exp:2999-12-31\n');
  const ignored = strata('image', image, '--db', db, '--cache-dir', cacheDir, '--format', 'json', '--ignorefile', ignore, '--exit-code', '5');
  assert.equal(ignored.status, 5, 'the expired rule ignores nothing, so one finding remains');
  assert.deepEqual(vulnerabilities(JSON.parse(ignored.stdout)).map((v) => v.VulnerabilityID), ['CVE-2026-103111']);

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
});

test('sarif, cyclonedx and spdx-json are JSON documents of their standards', () => {
  const sarif = JSON.parse(strata('image', image, '--db', db, '--cache-dir', cacheDir, '--format', 'sarif').stdout);
  assert.equal(sarif.version, '2.1.0');
  const cdx = JSON.parse(strata('image', image, '--db', db, '--cache-dir', cacheDir, '--format', 'cyclonedx').stdout);
  assert.equal(cdx.bomFormat, 'CycloneDX');
  assert.equal(cdx.specVersion, '1.6');
  const spdx = JSON.parse(strata('image', image, '--db', db, '--cache-dir', cacheDir, '--format', 'spdx-json').stdout);
  assert.equal(spdx.spdxVersion, 'SPDX-2.3');
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
  assert.equal(none.status, 1);
  assert.match(none.stderr, /give an advisory id, or --package <ecosystem>\/<name>/);
  const bad = strata('affected', '--package', 'lodash', '--server', '127.0.0.1:1');
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--package takes <ecosystem>\/<name>/);
  const away = strata('affected', 'CVE-2024-0001', '--server', '127.0.0.1:1');
  assert.equal(away.status, 1);
  assert.match(away.stderr, /gateway 127\.0\.0\.1:1: UNAVAILABLE/);
});
