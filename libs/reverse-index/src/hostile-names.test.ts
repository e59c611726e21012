// Packages and advisories named "constructor", "__proto__", ... go through the reverse index and
// the "which images does this advisory hit" query like any other name. Oracle: matchInventory of
// each whole image.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openAdvisoryIndex, type OsvRecord } from '@strata/advisories';
import { matchInventory } from '@strata/matcher';
import type { ImageInventory, InventoryPackage, LayerRef } from '@strata/model';
import { imagesAffectedBy, ReverseIndex, summarizeFindings } from './index.js';

const HOSTILE = ['constructor', '__proto__', 'hasOwnProperty', 'toString'];
const work = mkdtempSync(join(tmpdir(), 'strata-reverse-hostile-'));
after(() => rmSync(work, { recursive: true, force: true }));

const LAYER: LayerRef = { digest: `sha256:${'1'.repeat(64)}`, diffId: `sha256:${'2'.repeat(64)}` };
const npm = (name: string, version: string): InventoryPackage => ({
  type: 'npm',
  name,
  version,
  purl: `pkg:npm/${name}@${version}`,
  layer: LAYER,
  setPath: `node_modules/${name}/package.json`,
  filePath: `node_modules/${name}/package.json`,
});
const inventory = (pkgs: InventoryPackage[]): ImageInventory => ({
  osPackages: [],
  applications: [{ path: 'node_modules', analyzer: 'npm', type: 'npm', packages: pkgs }],
  layers: [LAYER],
  warnings: [],
});

test('hostile package names and record ids: holdings, re-match and affected images equal a full match', async () => {
  const records: OsvRecord[] = HOSTILE.map((name) => ({
    // The record's id is itself a hostile name; its alias too.
    id: name,
    aliases: [`${name}-alias`],
    modified: '2024-01-01T00:00:00Z',
    affected: [{ package: { ecosystem: 'npm', name }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '2.0.0' }] }] }],
  }));
  for (const r of records) writeFileSync(join(work, `${encodeURIComponent(r.id)}.json`), JSON.stringify(r));
  const { index } = await openAdvisoryIndex({ dbDir: work });

  const reverse = new ReverseIndex();
  const images = HOSTILE.map((name, i) => ({
    digest: `sha256:${String(i).padStart(64, 'a')}`,
    inventory: inventory([npm(name, i % 2 === 0 ? '1.0.0' : '2.0.0'), npm('left-pad', '1.0.0')]),
  }));
  for (const img of images) reverse.put({ manifestDigest: img.digest, imageRef: `test/${img.digest}` }, img.inventory);

  for (const [i, name] of HOSTILE.entries()) {
    const img = images[i] as (typeof images)[number];
    assert.deepEqual(
      reverse.holdings('npm', name).map((h) => [h.image.manifestDigest, h.name]),
      [[img.digest, name]],
    );
    const full = summarizeFindings(matchInventory(img.inventory, index).findings, undefined);
    const rematched = reverse.rematch([['npm', name]], index).get(img.digest);
    assert.deepEqual(
      rematched?.findings ?? [],
      full.filter((s) => s.packageName === name),
      `re-match of ${name}`,
    );
    const impact = imagesAffectedBy(reverse, index, name);
    assert.deepEqual(impact.recordIds, [name]);
    assert.deepEqual(
      impact.images.map((a) => a.image.manifestDigest),
      full.length > 0 ? [img.digest] : [],
    );
    assert.deepEqual(imagesAffectedBy(reverse, index, `${name}-alias`).recordIds, [name]);
  }
  assert.deepEqual(reverse.holdings('npm', 'isPrototypeOf'), []);
  assert.deepEqual(imagesAffectedBy(reverse, index, 'isPrototypeOf'), { recordIds: [], images: [] });
});
