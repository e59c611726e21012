// End to end, embedded: images and advisory databases that name things after Object.prototype
// members ("constructor", "__proto__", ...), and an image config nested 100,000 levels deep.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { renderReport } from '@strata/report';
import { scanImage } from './index.js';
import { ociImage as ociLayout } from './testing/index.js';

const work = mkdtempSync(join(tmpdir(), 'strata-hostile-advisories-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

const HOSTILE = ['constructor', '__proto__', 'hasOwnProperty', 'toString', 'valueOf'];

/** A one-layer OCI image layout tagged "test" under the work folder. */
const ociImage = (name: string, files: Record<string, string>, configText?: (diffId: string) => string): Promise<string> =>
  ociLayout(join(work, name), files, configText);

function advisoryDb(): string {
  const db = join(work, 'db');
  mkdirSync(db, { recursive: true });
  HOSTILE.forEach((name, i) => {
    const record = {
      id: `GHSA-hostile-${i}`,
      aliases: [`CVE-2099-${5000 + i}`],
      modified: '2024-01-01T00:00:00Z',
      affected: [{ package: { ecosystem: 'npm', name }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '2.0.0' }] }] }],
    };
    writeFileSync(join(db, `${record.id}.json`), JSON.stringify(record));
    // Records whose own id, and whose ecosystem, is the hostile name.
    writeFileSync(
      join(db, `id-${i}.json`),
      JSON.stringify({
        id: name,
        modified: '2024-01-01T00:00:00Z',
        affected: [{ package: { ecosystem: 'npm', name: `other-${i}` }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }] }],
      }),
    );
    writeFileSync(
      join(db, `eco-${i}.json`),
      JSON.stringify({
        id: `OSV-eco-${i}`,
        modified: '2024-01-01T00:00:00Z',
        affected: [{ package: { ecosystem: name, name }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }] }],
      }),
    );
  });
  writeFileSync(
    join(db, 'GHSA-lodash.json'),
    JSON.stringify({
      id: 'GHSA-lodash',
      aliases: ['CVE-2099-4999'],
      modified: '2024-01-01T00:00:00Z',
      affected: [{ package: { ecosystem: 'npm', name: 'lodash' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '4.17.21' }] }] }],
    }),
  );
  return db;
}

test('an image whose npm packages are named constructor, __proto__, ... gets exactly their findings', async () => {
  const dbDir = advisoryDb();
  const files: Record<string, string> = { 'app/node_modules/lodash/package.json': JSON.stringify({ name: 'lodash', version: '4.17.20' }) };
  HOSTILE.forEach((name, i) => {
    // Even-numbered ones below the fix, odd ones at it.
    files[`app/node_modules/${name}/package.json`] = JSON.stringify({ name, version: i % 2 === 0 ? '1.0.0' : '2.0.0' });
  });
  const ref = await ociImage('hostile-npm', files);
  for (const cacheDir of [join(work, 'cache'), join(work, 'cache')]) {
    // Twice: the second scan reads the layer and the advisory index from the cache.
    const result = await scanImage(ref, { cacheDir, dbDir });
    const got = result.findings.map((f) => [f.pkgName, f.installedVersion, f.vulnerabilityId]).sort();
    const want = [
      ['lodash', '4.17.20', 'CVE-2099-4999'],
      ...HOSTILE.flatMap((name, i) => (i % 2 === 0 ? [[name, '1.0.0', `CVE-2099-${5000 + i}`]] : [])),
    ].sort();
    assert.deepEqual(got, want);
    const packages = result.inventory.applications.flatMap((s) => s.packages.map((p) => p.name)).sort();
    assert.deepEqual(packages, ['lodash', ...HOSTILE].sort());
    const json = JSON.parse(renderReport(result, 'json')) as { Results: { Vulnerabilities: { PkgName: string }[] }[] };
    assert.equal(json.Results.flatMap((r) => r.Vulnerabilities).length, want.length);
  }
});

test('an image config nested 100,000 levels deep is refused with one clear error', async () => {
  const ref = await ociImage(
    'deep-config',
    { 'etc/hello': 'hi' },
    (diffId) => `{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["${diffId}"]},"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
  );
  await assert.rejects(scanImage(ref, { cacheDir: join(work, 'cache-deep'), dbDir: advisoryDb() }), (e: Error) => {
    assert.match(e.message, /^config sha256:[0-9a-f]{64} of image .* nests deeper than 64 levels$/);
    return true;
  });
});

test('an image config padded with unknown fields is scanned, and the report echoes the known fields only', async () => {
  let unknown: unknown = 'x';
  for (let i = 0; i < 60; i++) unknown = { next: unknown };
  const ref = await ociImage('padded-config', { 'etc/hello': 'hi' }, (diffId) =>
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [diffId] },
      config: { Env: ['A=1'], Secret: unknown },
      unknown,
      junk: 'y'.repeat(1_000_000),
    }),
  );
  const result = await scanImage(ref, { cacheDir: join(work, 'cache-padded'), dbDir: advisoryDb() });
  const json = JSON.parse(renderReport(result, 'json')) as { Metadata: { ImageConfig: Record<string, unknown> } };
  assert.deepEqual(Object.keys(json.Metadata.ImageConfig).sort(), ['architecture', 'config', 'os', 'rootfs']);
  assert.deepEqual(json.Metadata.ImageConfig.config, { Env: ['A=1'] });
});
