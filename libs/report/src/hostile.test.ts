// Reports of hostile images: a config nested deep or padded with unknown fields is not echoed; every
// format still renders.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ScanReport } from './index.js';
import { renderReport, type ReportFormat } from './index.js';

const digest = (c: string): string => `sha256:${c.repeat(64)}`;

function reportWithConfig(config: Record<string, unknown>): ScanReport {
  return {
    artifactName: 'hostile:config',
    metadata: { reference: 'hostile:config', manifestDigest: digest('1'), configDigest: digest('2'), repoTags: [], repoDigests: [], diffIds: [], layers: [], config },
    inventory: { osPackages: [], applications: [], layers: [], warnings: [] },
    findings: [],
    warnings: [],
    createdAt: '2026-01-01T00:00:00Z',
  };
}

test('a config nested 100,000 deep renders in every format; ImageConfig keeps the known fields only', () => {
  let deep: unknown = 'bottom';
  for (let i = 0; i < 100_000; i++) deep = { a: deep };
  const config = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: { Env: ['A=1'], Labels: { deep } }, unknown: deep, history: [deep] };
  const report = reportWithConfig(config);
  const formats: ReportFormat[] = ['json', 'table', 'sarif', 'cyclonedx', 'spdx-json'];
  for (const format of formats) assert.ok(renderReport(report, format).length > 0, format);
  const out = JSON.parse(renderReport(report, 'json')) as { Metadata: { ImageConfig: unknown } };
  assert.deepEqual(out.Metadata.ImageConfig, { architecture: 'amd64', os: 'linux', config: { Env: ['A=1'], Labels: {} }, rootfs: { type: 'layers', diff_ids: [] }, history: [{}] });
});
