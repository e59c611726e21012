// Reports of hostile images: a config nested deep or padded with unknown fields is not echoed; every
// format still renders.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Finding } from '@strata/matcher';
import type { InventoryPackage } from '@strata/model';
import type { ScanReport } from './index.js';
import { renderReport, type ReportFormat } from './index.js';

const digest = (c: string): string => `sha256:${c.repeat(64)}`;

function reportWithConfig(config: Record<string, unknown>): ScanReport {
  return {
    artifactName: 'hostile:config',
    metadata: {
      reference: 'hostile:config',
      manifestDigest: digest('1'),
      configDigest: digest('2'),
      repoTags: [],
      repoDigests: [],
      diffIds: [],
      layers: [],
      config,
    },
    inventory: { osPackages: [], applications: [], layers: [], warnings: [] },
    findings: [],
    warnings: [],
    createdAt: '2026-01-01T00:00:00Z',
  };
}

test('a config nested 100,000 deep renders in every format; ImageConfig keeps the known fields only', () => {
  let deep: unknown = 'bottom';
  for (let i = 0; i < 100_000; i++) deep = { a: deep };
  const config = {
    architecture: 'amd64',
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: [] },
    config: { Env: ['A=1'], Labels: { deep } },
    unknown: deep,
    history: [deep],
  };
  const report = reportWithConfig(config);
  const formats: ReportFormat[] = ['json', 'table', 'sarif', 'cyclonedx', 'spdx-json'];
  for (const format of formats) assert.ok(renderReport(report, format).length > 0, format);
  const out = JSON.parse(renderReport(report, 'json')) as { Metadata: { ImageConfig: unknown } };
  assert.deepEqual(out.Metadata.ImageConfig, {
    architecture: 'amd64',
    os: 'linux',
    config: { Env: ['A=1'], Labels: {} },
    rootfs: { type: 'layers', diff_ids: [] },
    history: [{}],
  });
});

function npmFinding(name: string, version: string, extra: Partial<Finding> = {}): { pkg: InventoryPackage; finding: Finding } {
  const layer = { digest: digest('3'), diffId: digest('4') };
  const pkg: InventoryPackage = {
    type: 'npm',
    name,
    version,
    purl: `pkg:npm/${encodeURIComponent(name)}@${encodeURIComponent(version)}`,
    layer,
    setPath: 'app/package-lock.json',
  };
  const finding: Finding = {
    vulnerabilityId: `CVE-2099-${name.length}`,
    vendorIds: ['GHSA-x'],
    cves: [],
    pkg,
    pkgName: name,
    pkgId: `${name}@${version}`,
    installedVersion: version,
    fixedVersion: '9.9.9',
    status: 'fixed',
    severity: 'HIGH',
    severitySource: 'database',
    layer,
    primaryUrl: 'https://osv.dev/GHSA-x',
    title: 'title',
    description: '',
    cvss: [],
    references: [],
    dataSource: { id: 'ghsa', name: 'GHSA', url: 'https://github.com/advisories' },
    target: 'app/package-lock.json',
    targetClass: 'lang-pkgs',
    targetType: 'node-pkg',
    ...extra,
  };
  return { pkg, finding };
}

test('150,000 findings render in the table and JSON formats (no spread of every row into one call)', () => {
  const made = Array.from({ length: 150_000 }, (_, i) => npmFinding(`pkg-${i}`, '1.0.0'));
  const report = reportWithConfig({});
  report.inventory.applications = [{ path: 'app/package-lock.json', analyzer: 'npm', type: 'npm', packages: made.map((m) => m.pkg) }];
  report.findings = made.map((m) => m.finding);
  const table = renderReport(report, 'table');
  assert.match(table, /Total: 150000 \(UNKNOWN: 0, LOW: 0, MEDIUM: 0, HIGH: 150000, CRITICAL: 0\)/);
  assert.ok(table.includes('│ pkg-149999 '));
  const json = JSON.parse(renderReport(report, 'json')) as { Results: { Vulnerabilities: unknown[] }[] };
  assert.equal(json.Results[0]?.Vulnerabilities.length, 150_000);
});

test('table cells from images and advisories are one line, without control characters, and bounded', () => {
  const name = `evil\x1b]0;owned\x07\x1b[2J\nname${'n'.repeat(1_000_000)}`;
  const { pkg, finding } = npmFinding(name, `1.0\r\n${'9'.repeat(500)}`, {
    primaryUrl: `https://x/${'u'.repeat(8000)}`,
    title: 'a\x1b[31mred\x1b[0m\ntitle',
    fixedVersion: '\u009b31m2.0',
  });
  const report = reportWithConfig({});
  report.inventory.applications = [{ path: 'app/package-lock.json\x1b[2J', analyzer: 'npm', type: 'npm', packages: [pkg] }];
  report.findings = [{ ...finding, target: 'app/package-lock.json\x1b[2J' }];
  const table = renderReport(report, 'table');
  assert.ok(!/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/.test(table), 'no control character but the line breaks between lines');
  const lines = table.split('\n');
  assert.ok(
    lines.every((l) => [...l].length < 1200),
    'every line bounded',
  );
  assert.ok(lines.some((l) => l.includes('evil ]0;owned [2J name')));
});
