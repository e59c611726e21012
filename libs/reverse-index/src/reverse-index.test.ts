// The re-match through the reverse index must leave every image with exactly the findings a full
// re-scan gives. Oracle: matchInventory of each whole image against the old and the new database
// (the matcher whose findings are themselves checked against apk and EXPECTED.tsv). Data: the
// real Alpine 3.20.3 package DB and the real Alpine and GHSA OSV records from ../shared/data,
// edited in a temporary copy to make an advisory update (added, changed and withdrawn records).
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { diffDatabases, openAdvisoryIndex, type AdvisoryIndex } from '@strata/advisories';
import { detectOs, parseApkInstalled } from '@strata/analyzers';
import { matchInventory } from '@strata/matcher';
import type { ImageInventory, InventoryPackage, InventorySet } from '@strata/model';
import { sharedDataDir, skipUnless, testAppSet, testLayer as layer } from '@strata/testing';
import { diffSummaries, imagesAffectedBy, replaceFindings, ReverseIndex, summarizeFindings, type FindingSummary } from './index.js';

const skip = skipUnless('data');
const work = mkdtempSync(join(tmpdir(), 'strata-reverse-index-'));
after(() => rmSync(work, { recursive: true, force: true }));

interface Fixture {
  images: { digest: string; inventory: ImageInventory }[];
  oldIndex: AdvisoryIndex;
  newIndex: AdvisoryIndex;
  addedId: string;
}
let fixture: Fixture;

before(async () => {
  if (skip) return;
  const data = sharedDataDir() as string;
  const root = join(data, 'alpine/3.20.3');
  const apk = parseApkInstalled(readFileSync(join(root, 'lib/apk/db/installed'), 'utf8'));
  const os = detectOs([{ path: 'etc/os-release', text: readFileSync(join(root, 'etc/os-release'), 'utf8') }])?.os;
  assert.ok(os);

  // 24 images: the Alpine base minus a rotating package, some with an older busybox/musl, and
  // lodash / jinja2 / urllib3 sets of different versions.
  const lodash = ['4.17.4', '4.17.15', '4.17.21', '3.10.1'];
  const jinja = ['2.10', '3.1.4', '2.11.3'];
  const images = Array.from({ length: 24 }, (_, i) => {
    const base = layer(1);
    const osPackages = apk.packages
      .filter((_, j) => j !== i % apk.packages.length)
      .map((p): InventoryPackage => {
        const older = i % 3 === 0 && (p.name === 'busybox' || p.name === 'musl');
        return { ...p, ...(older ? { version: '1.30.0-r0', srcVersion: '1.30.0-r0' } : {}), layer: older ? layer(2) : base, setPath: 'lib/apk/db/installed' };
      });
    const applications: InventorySet[] = [];
    if (i % 2 === 0)
      applications.push(testAppSet('npm', `app${i}/node_modules/lodash/package.json`, [['lodash', lodash[i % lodash.length] as string]], layer(10 + i)));
    if (i % 4 === 1)
      applications.push(
        testAppSet('pypi', `usr/lib/python3/site-packages/Jinja2-${i}.dist-info/METADATA`, [['jinja2', jinja[i % jinja.length] as string]], layer(40 + i)),
      );
    if (i % 5 === 2) applications.push(testAppSet('pypi', 'usr/lib/python3/site-packages/urllib3.dist-info/METADATA', [['urllib3', '1.26.4']], layer(70 + i)));
    return { digest: `sha256:${String(i).padStart(64, 'a')}`, inventory: { os, osPackages, applications, layers: [base], warnings: [] } };
  });

  const oldDb = join(work, 'old');
  cpSync(join(data, 'osv/alpine'), join(oldDb, 'alpine'), { recursive: true });
  cpSync(join(data, 'osv/ghsa'), join(oldDb, 'ghsa'), { recursive: true });
  const newDb = join(work, 'new');
  cpSync(oldDb, newDb, { recursive: true });
  // Withdrawn: one record deleted, one marked withdrawn. Changed: a fixed version moved.
  const recordPath = (dir: string, name: string) => join(dir, name);
  unlinkSync(recordPath(newDb, 'alpine/ALPINE-CVE-2017-15873.json'));
  const withdrawn = JSON.parse(readFileSync(recordPath(newDb, 'alpine/ALPINE-CVE-2016-8859.json'), 'utf8'));
  writeFileSync(recordPath(newDb, 'alpine/ALPINE-CVE-2016-8859.json'), JSON.stringify({ ...withdrawn, withdrawn: '2026-11-26T00:00:00Z' }));
  const changedPath = recordPath(newDb, 'alpine/ALPINE-CVE-2017-16544.json');
  const changed = JSON.parse(readFileSync(changedPath, 'utf8'));
  changed.affected[0].ranges[0].events = [{ introduced: '0' }, { fixed: '1.31.0-r0' }];
  changed.modified = '2026-11-26T00:00:00Z';
  writeFileSync(changedPath, JSON.stringify(changed));
  const addedId = 'STRATA-TEST-2026-0001';
  writeFileSync(
    join(newDb, 'ghsa', `${addedId}.json`),
    JSON.stringify({
      schema_version: '1.6.0',
      id: addedId,
      modified: '2026-11-26T00:00:00Z',
      summary: 'test advisory for lodash before 4.17.20',
      affected: [{ package: { ecosystem: 'npm', name: 'lodash' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '4.0.0' }, { fixed: '4.17.20' }] }] }],
    }),
  );
  const oldIndex = (await openAdvisoryIndex({ dbDir: oldDb })).index;
  const newIndex = (await openAdvisoryIndex({ dbDir: newDb })).index;
  fixture = { images, oldIndex, newIndex, addedId };
});

const summaries = (inventory: ImageInventory, index: AdvisoryIndex): FindingSummary[] =>
  summarizeFindings(matchInventory(inventory, index).findings, inventory.os);

test('after an advisory update, the re-matched findings state of every image equals a full re-scan', { skip }, () => {
  const { images, oldIndex, newIndex } = fixture;
  const diff = diffDatabases(oldIndex, newIndex);
  assert.deepEqual(diff.withdrawn, ['ALPINE-CVE-2016-8859', 'ALPINE-CVE-2017-15873']);
  assert.deepEqual(diff.changed, ['ALPINE-CVE-2017-16544']);
  assert.deepEqual(diff.added, [fixture.addedId]);

  const reverse = new ReverseIndex();
  for (const { digest, inventory } of images) reverse.put({ manifestDigest: digest, imageRef: `registry.test/app@${digest}` }, inventory);
  const affected = reverse.rematch(diff.packages, newIndex);

  let changedImages = 0;
  for (const { digest, inventory } of images) {
    const before = summaries(inventory, oldIndex);
    const full = summaries(inventory, newIndex);
    const hit = affected.get(digest);
    const after = hit ? replaceFindings(before, hit.packages, hit.findings) : before;
    assert.deepEqual(after, full, `findings state of ${digest} after the re-match`);
    const expected = diffSummaries(before, full);
    if (expected.added.length + expected.resolved.length > 0) {
      changedImages++;
      assert.ok(hit, `${digest} changed but the reverse index did not name it`);
      assert.deepEqual(diffSummaries(before, after), expected);
    }
  }
  // The update must matter to some images and not to others, or the test proves little.
  assert.ok(changedImages > 0 && changedImages < images.length, `${changedImages} of ${images.length} images changed`);
});

test('imagesAffectedBy: by record id and by CVE alias, the images a full scan says hold a finding of it', { skip }, () => {
  const { images, newIndex } = fixture;
  const reverse = new ReverseIndex();
  for (const { digest, inventory } of images) reverse.put({ manifestDigest: digest, imageRef: `registry.test/app@${digest}` }, inventory);
  for (const id of [fixture.addedId, 'CVE-2017-16544', 'ALPINE-CVE-2017-16544']) {
    const impact = imagesAffectedBy(reverse, newIndex, id);
    assert.ok(impact.recordIds.length > 0, `${id} resolves to records`);
    const expected = images
      .filter(({ inventory }) => matchInventory(inventory, newIndex, { onlyRecords: new Set(impact.recordIds) }).findings.length > 0)
      .map((i) => i.digest)
      .sort();
    assert.ok(expected.length > 0, `${id} hits some image`);
    assert.deepEqual(
      impact.images.map((a) => a.image.manifestDigest),
      expected,
    );
    for (const a of impact.images) assert.ok(a.holdings.every((h) => h.layer.digest !== '' && h.path !== ''));
  }
  assert.deepEqual(imagesAffectedBy(reverse, newIndex, 'CVE-1999-0000').images, []);
});

test('holdings by package; re-putting an image replaces it; removing drops it', { skip }, () => {
  const { images } = fixture;
  const reverse = new ReverseIndex();
  for (const { digest, inventory } of images)
    reverse.put({ manifestDigest: digest, imageRef: `registry.test/app@${digest}`, inventoryKey: `inv/${digest}` }, inventory);
  const lodashHolders = images.filter((i) => i.inventory.applications.some((s) => s.packages.some((p) => p.name === 'lodash')));
  const holdings = reverse.holdings('npm', 'lodash');
  assert.deepEqual(holdings.map((h) => h.image.manifestDigest).sort(), lodashHolders.map((i) => i.digest).sort());
  const first = lodashHolders[0] as (typeof images)[number];
  const version = first.inventory.applications[0]?.packages[0]?.version;
  assert.equal(holdings.find((h) => h.image.manifestDigest === first.digest)?.installedVersion, version);

  const before = reverse.stats();
  reverse.put({ manifestDigest: first.digest, imageRef: 'x', inventoryKey: `inv/${first.digest}` }, first.inventory);
  assert.deepEqual(reverse.stats(), before, 'the same inventory again is a no-op');
  reverse.put({ manifestDigest: first.digest, imageRef: 'x', inventoryKey: 'inv/other' }, { ...first.inventory, applications: [] });
  assert.equal(reverse.holdings('npm', 'lodash').length, lodashHolders.length - 1);
  reverse.remove(lodashHolders[1]?.digest as string);
  assert.equal(reverse.holdings('npm', 'lodash').length, lodashHolders.length - 2);
  assert.equal(reverse.stats().images, images.length - 1);
  // Busybox is filed under its origin, in Alpine v3.20.
  assert.equal(new Set(reverse.holdings('alpine:3.20', 'busybox').map((h) => h.image.manifestDigest)).size, images.length - 1);
});
