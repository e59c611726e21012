// Hostile sizes: many packages and many rewrites of one DB must merge in near-linear time, without
// spreading big arrays into calls (which overflows the stack). No timing assertion: the time is printed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LayerResult, Package } from '@strata/model';
import { mergeLayers } from './merge.js';
import type { LayerInput } from './merge.js';

const digest = (n: number): string => `sha256:${n.toString(16).padStart(64, '0')}`;

function dpkgLayer(index: number, packages: Package[]): LayerInput {
  const result: LayerResult = {
    diffId: digest(index + 1),
    analyzerSetVersion: 'test',
    packageSets: [{ path: 'var/lib/dpkg/status', analyzer: 'dpkg', type: 'dpkg', packages }],
    applications: [],
    whiteouts: [],
    opaqueDirs: [],
    warnings: [],
  };
  return { ref: { digest: digest(1000 + index), diffId: result.diffId }, result };
}

const pkgs = (n: number, version: (i: number) => string): Package[] =>
  Array.from({ length: n }, (_, i) => ({ type: 'dpkg', name: `pkg-${i}`, version: version(i), arch: 'amd64', purl: '' }));

test('merge: two layers rewriting a 60k-package dpkg status are attributed correctly (near-linear)', () => {
  const n = 60_000;
  const lower = pkgs(n, () => '1.0-1');
  // the upper layer upgrades every 10th package and keeps the rest identical
  const upper = pkgs(n, (i) => (i % 10 === 0 ? '1.0-2' : '1.0-1'));
  const started = performance.now();
  const inv = mergeLayers([dpkgLayer(0, lower), dpkgLayer(1, upper)]);
  console.log(`merge of 2 × ${n} packages: ${Math.round(performance.now() - started)} ms`);
  assert.equal(inv.osPackages.length, n);
  const wrong = inv.osPackages.filter((p) => {
    const i = Number(p.name.slice('pkg-'.length));
    return inv.layers.indexOf(p.layer) !== (i % 10 === 0 ? 1 : 0) || p.version !== (i % 10 === 0 ? '1.0-2' : '1.0-1');
  });
  assert.deepEqual(wrong.slice(0, 3), []);
});

test('merge: 200k packages in one set and 300k package sets merge without overflowing the stack', () => {
  const n = 200_000;
  const big = mergeLayers([
    dpkgLayer(
      0,
      pkgs(n, () => '1'),
    ),
  ]);
  assert.equal(big.osPackages.length, n);

  const many = dpkgLayer(0, []);
  many.result.packageSets = [];
  for (let i = 0; i < 300_000; i++)
    many.result.packageSets.push({ path: `var/lib/dpkg/status.d/p${i}`, analyzer: 'dpkg', type: 'dpkg', packages: pkgs(1, () => '1') });
  assert.equal(mergeLayers([many]).osPackages.length, 300_000);
});

test('merge: 100k whiteouts over 100k recorded symlinks and package sets stay near-linear', () => {
  const n = 100_000;
  const lower = dpkgLayer(0, []);
  lower.result.packageSets = [];
  lower.result.applications = [];
  lower.result.entries = [];
  for (let i = 0; i < n; i++) {
    lower.result.entries.push({ path: `d${i}/link`, type: 'symlink', target: `t${i}` });
    lower.result.applications.push({
      path: `d${i}/node_modules/x/package.json`,
      analyzer: 'node-pkg',
      type: 'npm',
      packages: [{ type: 'npm', name: 'x', version: '1.0.0', purl: '' }],
    });
  }
  lower.result.applications.push({
    path: 'kept/node_modules/y/package.json',
    analyzer: 'node-pkg',
    type: 'npm',
    packages: [{ type: 'npm', name: 'y', version: '1.0.0', purl: '' }],
  });
  const upper = dpkgLayer(1, []);
  upper.result.packageSets = [];
  upper.result.whiteouts = Array.from({ length: n }, (_, i) => `d${i}`);
  const started = performance.now();
  const inv = mergeLayers([lower, upper]);
  console.log(`merge of ${n} whiteouts over ${2 * n} entries: ${Math.round(performance.now() - started)} ms`);
  assert.deepEqual(
    inv.applications.map((s) => s.path),
    ['kept/node_modules/y/package.json'],
  );
});
