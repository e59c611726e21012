// The batched writes (putInventories, putImages, setFindingsMany) and the re-match work table,
// against the real PostgreSQL of infra/local. Oracle for the batched writes: the one-at-a-time
// calls the services make, on a database of their own — both must leave exactly the same rows.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { detectOs, parseApkInstalled } from '@strata/analyzers';
import { openAdvisoryIndex } from '@strata/advisories';
import type { ImageInventory, InventoryPackage } from '@strata/model';
import { packagePostings, rematchHoldings, type FindingSummary } from '@strata/reverse-index';
import { sharedDataDir, skipUnless, testAppSet, testLayer as layer } from '@strata/testing';
import { openFindingsDb, RematchWork, type FindingsDb, type RematchClaim } from './index.js';
import { createTestDatabase, type TestDatabase } from './testing.js';

const skip = skipUnless('postgres');
const skipData = skip || skipUnless('data');
const databases: TestDatabase[] = [];
const opened: FindingsDb[] = [];
async function freshDb(): Promise<FindingsDb> {
  const database = await createTestDatabase();
  databases.push(database);
  const db = await openFindingsDb({ url: database.url, maxConnections: 6 });
  opened.push(db);
  return db;
}
/** A fresh database holding images() with their FULL states at v1 (no findings), as scans leave them. */
async function filledDb(): Promise<{ work: FindingsDb; list: ReturnType<typeof images> }> {
  const work = await freshDb();
  const list = images();
  const stored = await work.putInventories(list.map((img) => img.inventory));
  await work.putImages(list.map((img, i) => ({ manifestDigest: img.digest, imageRef: img.ref, inventoryDigest: stored[i]!.inventoryDigest })));
  await work.setFindingsMany(list.map((img) => ({ manifestDigest: img.digest, kind: 'FULL', advisoryDbVersion: 'v1', findings: [] })));
  return { work, list };
}
let db: FindingsDb;
before(async () => {
  if (!skip) db = await freshDb();
});
after(async () => {
  for (const o of opened) await o.close();
  for (const d of databases) await d.drop();
});

const digest = (i: number, fill = 'a'): string => `sha256:${String(i).padStart(64, fill)}`;

/** 16 images over the real Alpine 3.20.3 package DB, varied as bench/rematch varies them; 4 pairs share an inventory. */
function images(): { digest: string; ref: string; inventory: ImageInventory }[] {
  const root = join(sharedDataDir() as string, 'alpine/3.20.3');
  const apk = parseApkInstalled(readFileSync(join(root, 'lib/apk/db/installed'), 'utf8'));
  const os = detectOs([{ path: 'etc/os-release', text: readFileSync(join(root, 'etc/os-release'), 'utf8') }])?.os;
  assert.ok(os);
  const lodash = ['4.17.4', '4.17.15', '4.17.21'];
  return Array.from({ length: 16 }, (_, n) => {
    const i = n % 12;
    const osPackages = apk.packages
      .filter((_, j) => j % 12 !== i)
      .map((p): InventoryPackage => ({ ...p, layer: p.name === 'musl' ? layer(2 + (i % 3)) : layer(1), setPath: 'lib/apk/db/installed' }));
    const applications = [testAppSet('npm', `app${i}/node_modules/lodash/package.json`, [['lodash', lodash[i % 3] as string]], layer(10 + i))];
    if (i % 2 === 1) applications.push(testAppSet('pypi', 'usr/lib/python3/site-packages/urllib3.dist-info/METADATA', [['urllib3', '1.26.4']], layer(30 + i)));
    return {
      digest: digest(n),
      ref: `127.0.0.1:15000/strata-test/app${i}:v${n}`,
      inventory: { os, osPackages, applications, layers: [layer(1)], warnings: [] },
    };
  });
}

/** Every row of the tables the writes fill, with generated ids replaced by what they stand for and timestamps left out. */
async function dump(target: FindingsDb): Promise<Record<string, unknown[]>> {
  const q = async (sql: string) => (await target.pool.query(sql)).rows;
  return {
    inventories: await q('select inventory_digest, os_family, os_name, package_count from strata.inventories order by 1'),
    packages: await q('select unit_key, ecosystem, name, installed_version, package, os from strata.packages order by 1'),
    lookups: await q('select l.ecosystem, l.name, p.unit_key from strata.package_lookups l join strata.packages p using (package_id) order by 1, 2, 3'),
    paths: await q('select path from strata.paths order by 1'),
    layers: await q('select digest, diff_id, created_by from strata.layers order by 1, 2, 3'),
    chunks: await q('select c.chunk_digest, l.digest, l.diff_id, c.package_count from strata.chunks c join strata.layers l using (layer_id) order by 1'),
    chunkPackages: await q(
      'select c.chunk_digest, p.unit_key, pa.path from strata.chunk_packages cp join strata.chunks c using (chunk_id) join strata.packages p using (package_id) join strata.paths pa using (path_id) order by 1, 2, 3',
    ),
    inventoryChunks: await q('select ic.inventory_digest, c.chunk_digest from strata.inventory_chunks ic join strata.chunks c using (chunk_id) order by 1, 2'),
    images: await q(
      'select manifest_digest, image_ref, repository, index_digest, os, architecture, variant, inventory_digest, inventory_key, advisory_db_version from strata.image_manifests order by 1',
    ),
    refs: await q('select image_ref, manifest_digest, repository from strata.image_refs order by 1, 2'),
    counts: await q('select * from strata.image_counts order by 1'),
    net: await q(
      'select c.manifest_digest, c.advisory_db_version, n.critical, n.high, n.medium, n.low, n.unknown, n.fixable_critical, n.fixable_high from strata.findings_change_net n join strata.findings_changes c using (change_id) order by 1, 2',
    ),
    findings: await q('select * from strata.image_findings order by 1, 2, 3, 4, 5'),
    changes: await q(
      'select manifest_digest, kind, advisory_db_version, previous_advisory_db_version, critical, high, medium, low, unknown from strata.findings_changes order by 1, 3',
    ),
    changeItems: await q(
      'select c.manifest_digest, c.advisory_db_version, i.change, i.ecosystem, i.package_name, i.installed_version, i.vulnerability_id, i.fixed_version, i.severity from strata.findings_change_items i join strata.findings_changes c using (change_id) order by 1, 2, 3, 4, 5, 6, 7',
    ),
  };
}

test('bulk path: putInventories, putImages and setFindingsMany leave exactly the rows of one call per image', { skip: skipData }, async () => {
  const list = images();
  const index = { version: 'sha256:v1' };
  // findings as a match leaves them: some of each image's packages, a few vulnerabilities each
  const findingsOf = (inv: ImageInventory): FindingSummary[] =>
    packagePostings(inv)
      .filter((p) => p.name.length % 4 === 0)
      .flatMap((p, i) =>
        Array.from({ length: 1 + (i % 3) }, (_, v) => ({
          vulnerabilityId: `TEST-${p.name}-${v}`,
          ecosystem: p.ecosystem,
          packageName: p.name,
          installedVersion: p.installedVersion,
          fixedVersion: v === 0 ? '' : `${v}.0`,
          severity: (['LOW', 'HIGH', 'CRITICAL'] as const)[v] as FindingSummary['severity'],
        })),
      )
      .filter(
        (f, i, all) =>
          all.findIndex((g) => g.vulnerabilityId === f.vulnerabilityId && g.installedVersion === f.installedVersion && g.ecosystem === f.ecosystem) === i,
      );
  assert.ok(list.every((img) => findingsOf(img.inventory).length > 0));
  const one = await freshDb();
  const bulk = await freshDb();
  for (const img of list) {
    const { inventoryDigest } = await one.putInventory(img.inventory);
    await one.putImage({ manifestDigest: img.digest, imageRef: img.ref, inventoryDigest, inventoryKey: `inventories/${img.digest}/x.json` });
    await one.setFindings(img.digest, { kind: 'FULL', advisoryDbVersion: index.version, findings: findingsOf(img.inventory) });
  }
  // in two halves, so the second finds rows of the first
  for (const half of [list.slice(0, 7), list.slice(7)]) {
    const stored = await bulk.putInventories(half.map((img) => img.inventory));
    await bulk.putImages(
      half.map((img, i) => ({
        manifestDigest: img.digest,
        imageRef: img.ref,
        inventoryDigest: stored[i]!.inventoryDigest,
        inventoryKey: `inventories/${img.digest}/x.json`,
      })),
    );
    await bulk.setFindingsMany(
      half.map((img) => ({ manifestDigest: img.digest, kind: 'FULL', advisoryDbVersion: index.version, findings: findingsOf(img.inventory) })),
    );
  }
  const [a, b] = [await dump(one), await dump(bulk)];
  for (const table of Object.keys(a)) assert.deepEqual(b[table], a[table], table);
  assert.ok((a.chunkPackages?.length ?? 0) > 100 && (a.findings?.length ?? 0) > 0 && (a.changeItems?.length ?? 0) > 0);
  // a DELTA for some images the same way: the same rows again
  const patched = (img: { digest: string; inventory: ImageInventory }) => findingsOf(img.inventory).filter((_, i) => i % 2 === 0);
  for (const img of list.slice(0, 5))
    await one.setFindings(img.digest, { kind: 'DELTA', advisoryDbVersion: 'sha256:next', findings: patched(img), expectedVersion: index.version });
  const results = await bulk.setFindingsMany(
    list
      .slice(0, 5)
      .map((img) => ({ manifestDigest: img.digest, kind: 'DELTA', advisoryDbVersion: 'sha256:next', findings: patched(img), expectedVersion: index.version })),
  );
  assert.ok(results.every((r) => r.written));
  const [c, d] = [await dump(one), await dump(bulk)];
  for (const table of Object.keys(c)) assert.deepEqual(d[table], c[table], table);
});

const finding = (id: string, pkg: string): FindingSummary => ({
  vulnerabilityId: id,
  ecosystem: 'npm',
  packageName: pkg,
  installedVersion: '1.0.0',
  fixedVersion: '2.0.0',
  severity: 'HIGH',
});

test('setFindingsMany: each expectedVersion checked on its own; racing writers apply an update once', { skip }, async () => {
  const digests = Array.from({ length: 20 }, (_, i) => digest(i, 'c'));
  await db.putImages(digests.map((d) => ({ manifestDigest: d, imageRef: `registry.test/many@${d}` })));
  await db.setFindingsMany(digests.map((d) => ({ manifestDigest: d, kind: 'FULL', advisoryDbVersion: 'v1', findings: [] })));
  // image 0 moves on meanwhile (a scan at v3)
  await db.setFindings(digests[0]!, { kind: 'FULL', advisoryDbVersion: 'v3', findings: [] });
  const update = () =>
    db.setFindingsMany(
      digests.map((d) => ({ manifestDigest: d, kind: 'DELTA', advisoryDbVersion: 'v2', findings: [finding('GHSA-1', 'a')], expectedVersion: 'v1' })),
    );
  const [x, y] = await Promise.all([update(), update()]);
  for (let i = 0; i < digests.length; i++) {
    const written = [x[i]!.written, y[i]!.written].filter(Boolean).length;
    assert.equal(written, i === 0 ? 0 : 1, `image ${i}`);
  }
  const changes = await db.pool.query<{ n: number }>("select count(*)::int as n from strata.findings_changes where advisory_db_version = 'v2'");
  assert.equal(changes.rows[0]!.n, 19);
  const states = await db.findingsStates(digests);
  assert.equal(states.get(digests[0]!)?.advisoryDbVersion, 'v3');
  assert.deepEqual(states.get(digests[1]!), { advisoryDbVersion: 'v2', findings: [finding('GHSA-1', 'a')] });
  await assert.rejects(
    db.setFindingsMany([
      { manifestDigest: digests[1]!, kind: 'FULL', advisoryDbVersion: 'v9', findings: [] },
      { manifestDigest: digests[1]!, kind: 'FULL', advisoryDbVersion: 'v9', findings: [] },
    ]),
  );
});

test('re-match work: planned once; claimers never share a batch; a lease that runs out is claimed again; a lost claim cannot commit; committed events are sent again until marked', {
  skip: skipData,
}, async () => {
  const { work, list } = await filledDb();
  const queue = new RematchWork(work);
  const input = { advisoryDbVersion: 'v2', previousVersion: 'v1', matchVersion: 'v2', pairs: [['npm', 'lodash'] as [string, string]], batchImages: 3 };
  const [p1, p2] = await Promise.all([queue.plan(input), queue.plan(input)]);
  assert.deepEqual([p1.created, p2.created].sort(), [false, true]);
  const plan = p1.created ? p1 : p2;
  assert.equal(plan.images, 16, 'every image holds lodash');
  assert.equal(plan.batches, 6);
  assert.equal((await queue.plan(input)).created, false);
  // the batches' images: each image once, the images holding the pair
  const { rows } = await work.pool.query<{ d: string }>('select unnest(manifest_digests) as d from strata.rematch_batches order by 1');
  assert.deepEqual(
    rows.map((r) => r.d),
    list.map((img) => img.digest).sort(),
  );
  const held = new Set(
    (
      await work.holdingsOf(
        rows.map((r) => r.d),
        [['npm', 'lodash']],
      )
    ).map((h) => h.image.manifestDigest),
  );
  assert.equal(held.size, 16);
  assert.deepEqual(
    await work.holdingsOf(
      rows.map((r) => r.d),
      [['npm', 'not-held']],
    ),
    [],
  );
  // the batch-side holdings equal the package-side ones for the same pairs
  const pairs: [string, string][] = [
    ['npm', 'lodash'],
    ['alpine:3.20', 'musl'],
    ['pypi', 'urllib3'],
  ];
  const key = (h: { image: { manifestDigest: string }; unitKey: string; path: string; layer: { diffId: string } }) =>
    [h.image.manifestDigest, h.unitKey, h.path, h.layer.diffId].join(' ');
  assert.deepEqual(
    (
      await work.holdingsOf(
        list.map((i) => i.digest),
        pairs,
      )
    )
      .map(key)
      .sort(),
    (await work.holdings(pairs)).map(key).sort(),
  );
  const all = await work.holdingsOf([list[0]!.digest], undefined);
  assert.ok(all.length > 10 && all.every((h) => h.image.manifestDigest === list[0]!.digest));

  // ListAffectedImages pages: every holder once, in pages of 3 (images sharing an inventory too)
  for (const pair of [
    ['npm', 'lodash'],
    ['pypi', 'urllib3'],
  ] as [string, string][]) {
    const ids = (await work.packagesFiledUnder([pair])).map((u) => u.packageId);
    const holders = [...new Set((await work.holdings([pair])).map((h) => h.image.manifestDigest))].sort();
    const seen: string[] = [];
    let after = '';
    do {
      const page = await work.imagesHolding(ids, after, 3);
      assert.ok(page.digests.length <= 3 && (page.next === '' || page.digests.length === 3));
      seen.push(...page.digests);
      after = page.next;
    } while (after !== '');
    assert.deepEqual([...seen].sort(), holders, pair.join(' '));
    assert.equal(new Set(seen).size, seen.length);
  }
  await assert.rejects(work.imagesHolding(['1'], 'no-token', 3));
  // the plan's stored postings give a batch the same holdings
  assert.deepEqual(
    (
      await queue.holdings(
        plan.updateId,
        list.map((i) => i.digest),
      )
    ).map(key),
    (
      await work.holdingsOf(
        list.map((i) => i.digest),
        [['npm', 'lodash']],
      )
    ).map(key),
  );
  // 12 claimers at once take 6 batches: each batch once
  const claims = (await Promise.all(Array.from({ length: 12 }, (_, i) => queue.claim(`owner-${i % 3}`, 60_000)))).filter((c) => c !== undefined);
  assert.equal(claims.length, 6);
  assert.equal(new Set(claims.map((c) => c.batchNo)).size, 6);
  assert.equal(await queue.claim('late', 60_000), undefined);
  // a claim whose lease ran out is taken again; the old claim cannot commit
  await work.pool.query("update strata.rematch_batches set lease_until = now() - interval '1 second' where batch_no = $1", [claims[0]!.batchNo]);
  const again = await queue.claim('owner-new', 60_000);
  assert.equal(again?.batchNo, claims[0]!.batchNo);
  assert.equal(again?.attempt, 2);
  const compute = (states: Map<string, { state?: { advisoryDbVersion: string } }>) => ({
    writes: [...states.keys()].map((d) => ({
      manifestDigest: d,
      kind: 'DELTA' as const,
      advisoryDbVersion: 'v2',
      findings: [finding('GHSA-2', 'lodash')],
      expectedVersion: 'v1',
    })),
    events: [...states.keys()].map((d) => ({ manifestDigest: d, key: d, value: Buffer.from(`delta of ${d}`) })),
  });
  assert.equal((await queue.commit(claims[0]!, compute)).held, false);
  const committed = await queue.commit(again!, compute);
  assert.equal(committed.held, true);
  assert.equal(committed.events.length, again!.images.length);
  // committed, not marked (the replica died before its send finished): the next claim gets the same events
  await work.pool.query("update strata.rematch_batches set lease_until = now() - interval '1 second' where batch_no = $1", [again!.batchNo]);
  const resend = await queue.claim('owner-third', 60_000);
  assert.equal(resend?.status, 'publishing');
  assert.deepEqual(
    resend?.events.map((e) => Buffer.from(e.value).toString()),
    committed.events.map((e) => Buffer.from(e.value).toString()),
  );
  assert.equal((await queue.done(again!)).marked, false, 'the older claim cannot mark it');
  assert.equal((await queue.done(resend!)).marked, true);
  // the rest: a batch with no events is done at its commit; the last one finishes the update
  let finished: unknown;
  for (const claim of claims.slice(1)) {
    const result = await queue.commit(claim, () => ({ writes: [], events: [] }));
    assert.equal(result.held, true);
    finished = (await queue.finishIfDone(claim.updateId)).finished ?? finished;
  }
  assert.deepEqual(finished && { ...(finished as object), plannedAt: undefined }, {
    images: 16,
    batches: 6,
    deltas: again!.images.length,
    plannedAt: undefined,
  });
  assert.equal(await queue.open(), false);
  const left = await work.pool.query<{ n: number }>('select count(*)::int as n from strata.rematch_postings');
  assert.equal(left.rows[0]!.n, 0, 'the postings of a finished update are deleted');
  const states = await work.findingsStates(again!.images);
  assert.ok([...states.values()].every((s) => s.advisoryDbVersion === 'v2' && s.findings.length === 1));
  const doneBy = await work.pool.query<{ done_by: string; n: number }>('select done_by, count(*)::int as n from strata.rematch_batches group by 1 order by 1');
  assert.equal(doneBy.rows.find((r) => r.done_by === 'owner-third')?.n, 1);
  // the matcher's re-match of the batch holdings gives findings to images holding a matched package
  const { index } = await openAdvisoryIndex({ dbDir: join(sharedDataDir() as string, 'osv') });
  assert.ok(rematchHoldings(all, index).size <= 1);
});

test('re-match work: updates are applied one after the other (no batch of a later update is claimed while an earlier one has a batch open)', {
  skip: skipData,
}, async () => {
  const { work } = await filledDb();
  const queue = new RematchWork(work);
  const lodash: [string, string][] = [['npm', 'lodash']];
  const u1 = await queue.plan({ advisoryDbVersion: 'v2', previousVersion: 'v1', matchVersion: 'v2', pairs: lodash, batchImages: 8 });
  const u2 = await queue.plan({ advisoryDbVersion: 'v3', previousVersion: 'v2', matchVersion: 'v3', pairs: lodash, batchImages: 8 });
  assert.deepEqual([u1.batches, u2.batches], [2, 2]);
  // four free claimers get U1's two batches and nothing of U2
  const claims = (await Promise.all(Array.from({ length: 4 }, (_, i) => queue.claim(`owner-${i}`, 60_000)))).filter((c) => c !== undefined);
  assert.deepEqual(
    claims.map((c) => c.updateId),
    [u1.updateId, u1.updateId],
  );
  const [first, second] = claims as [RematchClaim, RematchClaim];
  // one of U1's batches done, the other committed but its events not yet sent: still nothing of U2
  await queue.commit(first, () => ({ writes: [], events: [] }));
  await queue.commit(second, (states) => ({
    writes: [],
    events: [...states.keys()].slice(0, 1).map((d) => ({ manifestDigest: d, key: d, value: Buffer.from(`delta of ${d}`) })),
  }));
  assert.equal(await queue.claim('early', 60_000), undefined, 'U2 waits while a batch of U1 is open');
  assert.equal((await queue.done(second)).marked, true);
  const next = await queue.claim('after', 60_000);
  assert.equal(next?.updateId, u2.updateId, 'U2 once U1 is done');
});
