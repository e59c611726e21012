// End to end, embedded: the demo image (built from fixtures/demo) scanned against the repo's sample
// advisories. The dpkg inventory is checked against dpkg-query reading the final status file.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { repoRoot, skipUnless } from '@strata/testing';
import { scanImage } from './index.js';

const work = mkdtempSync(join(tmpdir(), 'strata-pipeline-'));
const imageDir = join(work, 'image');
execFileSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'fixtures/demo/build-image.ts'), imageDir], { stdio: 'ignore' });
const dbDir = join(repoRoot, 'fixtures/advisories');
test.after(() => rmSync(work, { recursive: true, force: true }));

test('the dpkg inventory equals dpkg-query on the final status file, with upper-layer removals honoured', { skip: skipUnless('tool:dpkg-query') }, async () => {
  const cacheDir = join(work, 'cache-oracle');
  const result = await scanImage(`oci:${imageDir}:demo`, { cacheDir, dbDir });
  const admindir = join(work, 'admindir');
  mkdirSync(join(admindir, 'info'), { recursive: true });
  // the top layer rewrote the status file, so it is the image's final one
  copyFileSync(join(repoRoot, 'fixtures/demo/layers/3-remove-sqlite/var/lib/dpkg/status'), join(admindir, 'status'));
  const oracle = execFileSync(
    'dpkg-query',
    [`--admindir=${admindir}`, '-W', '-f', '${Package}\t${Version}\t${Architecture}\t${source:Package}\t${source:Version}\n'],
    { encoding: 'utf8' },
  )
    .trim()
    .split('\n')
    .sort();
  const ours = result.inventory.osPackages
    .filter((p) => p.type === 'dpkg')
    .map((p) => [p.name, p.version, p.arch, p.srcName, p.srcVersion].join('\t'))
    .sort();
  assert.deepEqual(ours, oracle);
  assert.ok(!ours.some((line) => line.startsWith('libsqlite3-0\t')), 'a package removed in an upper layer is absent');
  assert.equal(result.inventory.os?.family, 'debian');
});

test('packages carry the layer that brought them in, and a re-scan reuses every cached layer', async () => {
  const cacheDir = join(work, 'cache-layers');
  const first = await scanImage(`oci:${imageDir}:demo`, { cacheDir, dbDir });
  assert.equal(first.layersAnalyzed, 3);
  const layers = first.metadata.layers;
  const lodash = first.inventory.applications.flatMap((s) => s.packages).find((p) => p.name === 'lodash');
  assert.equal(lodash?.layer.diffId, layers[1]?.diffId, 'lodash comes from the app layer');
  assert.equal(lodash?.layer.createdBy, 'strata demo layer 2-app');
  const libc = first.inventory.osPackages.find((p) => p.name === 'libc6');
  // the status file was rewritten in layer 3, but libc6 is unchanged there: it stays with layer 1
  assert.equal(libc?.layer.diffId, layers[0]?.diffId);

  const second = await scanImage(`oci:${imageDir}:demo`, { cacheDir, dbDir });
  assert.equal(second.layersAnalyzed, 0);
  assert.equal(second.layersCached, 3);
  assert.deepEqual(second.inventory, first.inventory);
  assert.deepEqual(second.findings, first.findings);
});
