// Re-matching on advisory updates, end to end on the real Kafka, MinIO and registry: a watched
// registry of 20 images is scanned through every stage; an OSV record for a package 3 of them
// hold is dropped into the matcher's advisory folder. Exactly 3 DELTA findings events must follow,
// each with the new finding, without one more fetch or analysis; ListAffectedImages over gRPC, and
// `strata affected`, must name the 3 images and the layer that brought the package in.
// Withdrawing the record resolves it in the same 3 images. A restarted matcher, with a second
// replica beside it, still finds them, and only once. With PostgreSQL configured (the harness
// then gives the services STRATA_PG_URL) the state is in the findings DB and the re-match and
// ListAffectedImages select by SQL; the views show what the events said.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import * as grpc from '@grpc/grpc-js';
import { FindingsKind, ScanService, Severity, connect, isServiceError, type FindingsPublished } from '@strata/contracts';
import { gatewaySettings, startGatewayService } from '@strata/gateway';
import { startWatcher, watcherSettings } from '@strata/watcher-service';
import { loadServiceConfig } from '@strata/service-runtime';
import { infra, pushImage, repoRoot, skipUnless, tarLayer, uniqueLayer, uniqueName, type PushedImage } from '@strata/testing';
import type { TestPointHook } from '@strata/stage-runtime';
import { advisoryDb, createDeployment, waitUntil } from './testing/harness.js';

const skip = skipUnless('kafka', 'minio', 'registry');
const run = promisify(execFile);
const PROBE = 'strata-rematch-probe';
const HOLDERS = new Set([3, 9, 15]);

function probeRecord(id: string, withdrawn?: string): string {
  return JSON.stringify({
    schema_version: '1.6.0',
    id,
    modified: '2026-11-26T00:00:00Z',
    ...(withdrawn ? { withdrawn } : {}),
    summary: `${PROBE} before 2.0.0 is vulnerable (test record)`,
    severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
    affected: [{ package: { ecosystem: 'npm', name: PROBE }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '2.0.0' }] }] }],
  });
}

const deltasOf = (events: FindingsPublished[], id: string, side: 'added' | 'resolved') =>
  events.filter((e) => e.kind === FindingsKind.DELTA && e[side].some((f) => f.vulnerabilityId === id));

test('an advisory update re-matches only the 3 of 20 images holding the package; ListAffectedImages; withdrawal; matcher restart', {
  skip,
  timeout: 600_000,
}, async (t) => {
  const dbDir = mkdtempSync(join(tmpdir(), 'strata-rematch-db-'));
  cpSync(advisoryDb, dbDir, { recursive: true });
  const d = await createDeployment('rematch', { STRATA_DB: dbDir, STRATA_DB_RECHECK_MS: '300' });
  t.after(async () => {
    await d.teardown();
    rmSync(dbDir, { recursive: true, force: true });
  });
  // A record arrives whole, as from `strata db update`: written aside, then renamed in.
  const drop = (name: string, content: string) => {
    const staging = `${dbDir}.staging`;
    writeFileSync(staging, content);
    renameSync(staging, join(dbDir, 'ghsa', name));
  };
  const [, , firstMatcher] = await d.startAll();
  const host = infra.registry('anonymous')!.host;
  const repo = uniqueName('rematch').toLowerCase();

  // 20 images over one shared base layer; 3 also carry the probe package in a layer of their own.
  const base = await tarLayer({ 'usr/lib/node_modules/left-pad/package.json': JSON.stringify({ name: 'left-pad', version: '1.3.0' }) }, 'ADD base');
  const probeLayers = new Map<number, string>();
  const images: PushedImage[] = [];
  for (let i = 0; i < 20; i++) {
    const layers = [base, await uniqueLayer(`${repo}-app-${i}`)];
    if (HOLDERS.has(i)) {
      const probe = await tarLayer(
        { [`opt/app${i}/node_modules/${PROBE}/package.json`]: JSON.stringify({ name: PROBE, version: '1.4.0' }) },
        `COPY ${PROBE} ${i}`,
      );
      probeLayers.set(i, probe.digest);
      layers.push(probe);
    }
    images.push(await pushImage(host, `${repo}/app-${i}`, 'v1', layers));
  }
  const holders = images
    .filter((_, i) => HOLDERS.has(i))
    .map((img) => img.manifestDigest)
    .sort();

  // The registry is watched: one pass requests the 20 images, the pipeline scans them.
  const subscriber = await d.subscriber();
  /** Waits for 3 DELTA events adding or resolving `id` (the 3 images holding the probe package); those events. */
  const threeDeltas = async (id: string, side: 'added' | 'resolved', what: string): Promise<FindingsPublished[]> => {
    await subscriber.waitFor(() => (deltasOf(subscriber.findings, id, side).length >= 3 ? true : undefined), 120_000, what);
    return deltasOf(subscriber.findings, id, side);
  };
  const watched: string[] = [];
  const watcher = await startWatcher(
    loadServiceConfig(watcherSettings, {
      ...d.env,
      STRATA_WATCH_INTERVAL_MS: '600000',
      STRATA_WATCH_REGISTRIES: JSON.stringify([{ host, include: [`${repo}/**`] }]),
    }),
    { observe: (e) => e.outcome === 'requested' && watched.push(e.scanId), processMetrics: false, logger: d.logger.child({ svc: 'watcher' }) },
  );
  t.after(() => watcher.stop());
  await waitUntil(() => (watched.length >= 20 ? true : undefined), 120_000, 'the watcher to request 20 scans');
  for (const id of watched) assert.equal((await d.waitForRecord(id, (r) => r.status === 'COMPLETED' || r.status === 'FAILED')).status, 'COMPLETED');
  const work = () => d.events.filter((e) => e.stage === 'resolve' || e.stage === 'fetch' || e.stage === 'analyze').length;
  const workAfterScans = work();
  assert.ok(workAfterScans > 0);

  const gateway = await startGatewayService(
    loadServiceConfig(gatewaySettings, { ...d.env, GATEWAY_HOST: '127.0.0.1', GATEWAY_PORT: '0', GATEWAY_INDEX_SYNC_MS: '0' }),
    { logger: d.logger.child({ svc: 'gateway' }), processMetrics: false },
  );
  t.after(() => gateway.stop());
  const client = connect(ScanService, gateway.gateway.address);
  t.after(() => client.close());

  const byPackage = await client.client.listAffectedImages({ query: { case: 'package', value: { ecosystem: 'npm', name: PROBE } } });
  assert.deepEqual(byPackage.images.map((i) => i.manifestDigest).sort(), holders);
  assert.deepEqual(
    byPackage.images.flatMap((i) => i.packages.map((p) => p.vulnerabilityIds)),
    [[], [], []],
    'no advisory names the probe yet',
  );
  const shared = await client.client.listAffectedImages({ query: { case: 'package', value: { ecosystem: 'npm', name: 'left-pad' } } });
  assert.equal(shared.images.length, 20);
  assert.equal(shared.nextPageToken, '');
  // page by page: the same images in the same order, 7 at a time
  const paged: string[] = [];
  const sizes: number[] = [];
  let pageToken = '';
  do {
    const page = await client.client.listAffectedImages({ query: { case: 'package', value: { ecosystem: 'npm', name: 'left-pad' } }, pageSize: 7, pageToken });
    paged.push(...page.images.map((i) => i.manifestDigest));
    sizes.push(page.images.length);
    pageToken = page.nextPageToken;
  } while (pageToken !== '');
  assert.deepEqual(sizes, [7, 7, 6]);
  assert.deepEqual(
    paged,
    shared.images.map((i) => i.manifestDigest),
    'the pages in the order of the whole answer',
  );
  assert.equal(new Set(paged).size, 20);
  await assert.rejects(
    client.client.listAffectedImages({ query: { case: 'package', value: { ecosystem: 'npm', name: 'left-pad' } }, pageSize: 10_001 }),
    (error: unknown) => isServiceError(error) && error.code === grpc.status.INVALID_ARGUMENT,
  );
  if (d.env.STRATA_PG_URL)
    await assert.rejects(
      client.client.listAffectedImages({ query: { case: 'package', value: { ecosystem: 'npm', name: 'left-pad' } }, pageToken: 'not-a-token' }),
      (error: unknown) => isServiceError(error) && error.code === grpc.status.INVALID_ARGUMENT,
    );

  // 1. A new record for the probe package.
  drop('STRATA-PROBE-0001.json', probeRecord('STRATA-PROBE-0001'));
  const added = await threeDeltas('STRATA-PROBE-0001', 'added', '3 DELTA events adding STRATA-PROBE-0001');
  assert.deepEqual(added.map((e) => e.manifestDigest).sort(), holders);
  for (const e of added) {
    assert.deepEqual(
      e.added.map((f) => ({
        id: f.vulnerabilityId,
        name: f.packageName,
        installed: f.installedVersion,
        fixed: f.fixedVersion,
        severity: f.severity,
        ecosystem: f.ecosystem,
      })),
      [{ id: 'STRATA-PROBE-0001', name: PROBE, installed: '1.4.0', fixed: '2.0.0', severity: Severity.CRITICAL, ecosystem: 'npm' }],
    );
    assert.deepEqual(e.resolved, []);
    assert.equal(e.scanId, '');
    assert.notEqual(e.previousAdvisoryDbVersion, e.advisoryDbVersion);
    assert.equal(e.counts?.critical, 1);
  }
  assert.equal(work(), workAfterScans, 'the re-match fetched, resolved or analyzed something');

  // The gateway re-reads the advisory folder on its own clock (STRATA_DB_RECHECK_MS): wait for it.
  const gatewayAt = (dbVersion: string | undefined, id: string) =>
    waitUntil(
      async () => {
        const answer = await client.client.listAffectedImages({ query: { case: 'advisoryId', value: id } });
        return answer.advisoryDbVersion === dbVersion ? answer : undefined;
      },
      30_000,
      `the gateway to open advisory DB ${dbVersion}`,
    );
  const byAdvisory = await gatewayAt(added[0]?.advisoryDbVersion, 'STRATA-PROBE-0001');
  assert.deepEqual(byAdvisory.images.map((i) => i.manifestDigest).sort(), holders);
  for (const image of byAdvisory.images) {
    const i = images.findIndex((img) => img.manifestDigest === image.manifestDigest);
    assert.equal(image.imageRef, `${images[i]?.ref}@${image.manifestDigest}`, 'the watcher pins the tag to its digest');
    assert.deepEqual(
      image.packages.map((p) => ({
        name: p.name,
        installed: p.installedVersion,
        fixed: p.fixedVersion,
        path: p.path,
        layer: p.layers[0]?.digest,
        ids: p.vulnerabilityIds,
        severity: p.severity,
      })),
      [
        {
          name: PROBE,
          installed: '1.4.0',
          fixed: '2.0.0',
          path: `opt/app${i}/node_modules/${PROBE}/package.json`,
          layer: probeLayers.get(i),
          ids: ['STRATA-PROBE-0001'],
          severity: Severity.CRITICAL,
        },
      ],
    );
  }

  // The same through the CLI: `strata affected` asks the gateway.
  const cli = async (...args: string[]) =>
    (
      await run(process.execPath, ['--import', 'tsx', join(repoRoot, 'apps/cli/src/main.ts'), 'affected', ...args, '--server', gateway.gateway.address], {
        cwd: repoRoot,
        env: { ...process.env, STRATA_TOKEN: '' },
      })
    ).stdout;
  const cliJson = JSON.parse(await cli('STRATA-PROBE-0001', '--format', 'json')) as {
    images: Array<{ manifestDigest: string; packages: Array<{ fixedVersion: string }> }>;
  };
  assert.deepEqual(cliJson.images.map((i) => i.manifestDigest).sort(), holders);
  assert.ok(cliJson.images.every((i) => i.packages[0]?.fixedVersion === '2.0.0'));
  const cliTable = (await cli('--package', `npm/${PROBE}`)).split('\n');
  assert.equal(cliTable[0], '3 image(s) (advisory DB ' + `${added[0]?.advisoryDbVersion.slice(0, 'sha256:'.length + 12)})`);
  assert.equal(cliTable.filter((l) => l.includes(`npm/${PROBE}`) && l.includes('1.4.0')).length, 3);

  // 2. Withdrawn: the same 3 images get it resolved.
  drop('STRATA-PROBE-0001.json', probeRecord('STRATA-PROBE-0001', '2026-11-26T12:00:00Z'));
  const resolved = await threeDeltas('STRATA-PROBE-0001', 'resolved', '3 DELTA events resolving STRATA-PROBE-0001');
  assert.deepEqual(resolved.map((e) => e.manifestDigest).sort(), holders);
  for (const e of resolved) {
    assert.deepEqual(e.added, []);
    assert.equal(e.previousAdvisoryDbVersion, added[0]?.advisoryDbVersion);
    assert.equal(e.counts?.critical, 0);
  }
  assert.deepEqual((await gatewayAt(resolved[0]?.advisoryDbVersion, 'STRATA-PROBE-0001')).images, []);

  // 3. New matchers (the old one stopped; two replicas) know the images only from the catalog or the findings DB.
  await firstMatcher!.stop();
  const pgUrl = d.env.STRATA_PG_URL;
  // With the findings DB the re-match is split in batches (one image each here) that the replicas
  // claim: each replica holds its first claim until the other has claimed one too, so both work.
  const split = { STRATA_REMATCH_BATCH_IMAGES: '1', STRATA_REMATCH_LEASE_MS: '4000', STRATA_REMATCH_POLL_MS: '200' };
  const claimed = { a: [] as string[], b: [] as string[] };
  let other: () => boolean = () => claimed.a.length > 0 && claimed.b.length > 0;
  const holdUntilBoth =
    (name: 'a' | 'b'): TestPointHook =>
    async (point, batch) => {
      if (point !== 'matcher.rematch-batch-claimed') return;
      claimed[name].push(batch);
      await waitUntil(() => (other() ? true : undefined), 30_000, 'the other replica to claim a batch').catch(() => undefined);
    };
  const [, replicaB] = await Promise.all([d.start('matcher', split, holdUntilBoth('a')), d.start('matcher', split, holdUntilBoth('b'))]);
  drop('STRATA-PROBE-0002.json', probeRecord('STRATA-PROBE-0002'));
  const afterRestart = await threeDeltas('STRATA-PROBE-0002', 'added', '3 DELTA events after the restart');
  assert.deepEqual(afterRestart.map((e) => e.manifestDigest).sort(), holders);
  const db = pgUrl ? new pg.Client({ connectionString: pgUrl }) : undefined;
  await db?.connect();
  // ended before the deployment's teardown drops the database
  db?.on('error', () => undefined);
  /** Who did the batches of the update to `dbVersion`: [done_by, attempts, batch no] per batch. */
  const batchesOf = async (dbVersion: string | undefined) =>
    (
      await db!.query<{ done_by: string; attempts: number; batch_no: number; images: string[] }>(
        `select b.done_by, b.attempts, b.batch_no, b.manifest_digests as images from strata.rematch_batches b join strata.rematch_updates u using (update_id)
         where u.advisory_db_version = $1 and b.status = 'done' order by b.batch_no`,
        [dbVersion],
      )
    ).rows;
  if (db) {
    const batches = await waitUntil(
      async () => {
        const done = await batchesOf(afterRestart[0]?.advisoryDbVersion);
        return done.length === 3 ? done : undefined;
      },
      30_000,
      'every batch of the update to be marked done',
    );
    assert.deepEqual(batches.flatMap((b) => b.images).sort(), holders, 'one batch per holder');
    assert.equal(new Set(batches.map((b) => b.done_by)).size, 2, `both replicas did part of the re-match: ${JSON.stringify(batches)}`);
    assert.ok(claimed.a.length > 0 && claimed.b.length > 0);
  }

  // 4. With the findings DB: a replica killed (SIGKILL) right after claiming a batch; the other
  // finishes that batch when the lease runs out, and each holder still gets exactly one delta.
  if (db) {
    await replicaB!.stop();
    const killed = d.spawn('matcher', split, { crashPoint: 'matcher.rematch-batch-claimed' });
    await killed.waitForLog((l) => l.msg === 'findings DB open');
    let crashedBatch: string | undefined;
    const crashed = killed.waitForLog((l) => l.msg === 'test crash point reached').then((l) => (crashedBatch = l.scanId as string));
    // replica A holds its claims until the other process has died holding one
    other = () => crashedBatch !== undefined;
    drop('STRATA-PROBE-0003.json', probeRecord('STRATA-PROBE-0003'));
    await crashed;
    const afterKill = await threeDeltas('STRATA-PROBE-0003', 'added', '3 DELTA events with a replica killed mid-re-match');
    assert.deepEqual(afterKill.map((e) => e.manifestDigest).sort(), holders);
    assert.equal(await killed.exited, 'SIGKILL');
    const [updateId, batchNo] = (crashedBatch ?? '').split('/');
    // marked done just after its events went out
    const batches = await waitUntil(
      async () => {
        const done = await batchesOf(afterKill[0]?.advisoryDbVersion);
        return done.length === 3 ? done : undefined;
      },
      30_000,
      'every batch of the update to be marked done',
    );
    const taken = batches.find((b) => String(b.batch_no) === batchNo);
    assert.ok(updateId && taken, `the killed replica's batch ${updateId}/${batchNo} is done`);
    assert.ok(taken.attempts >= 2, 'claimed again after the killed claim');
    assert.equal(new Set(batches.map((b) => b.done_by)).size, 1, 'the survivor did every batch');
  }

  // Nothing else: one FULL event per image, 9 deltas (12 with the kill), no other work.
  await new Promise((r) => setTimeout(r, 1_500));
  const deltas = subscriber.findings.filter((e) => e.kind === FindingsKind.DELTA);
  assert.equal(
    deltas.length,
    db ? 12 : 9,
    deltas.map((e) => `${e.manifestDigest} +${e.added.map((f) => f.vulnerabilityId)} -${e.resolved.map((f) => f.vulnerabilityId)}`).join('\n'),
  );
  assert.equal(subscriber.findings.filter((e) => e.kind === FindingsKind.FULL).length, 20);
  assert.equal(work(), workAfterScans);

  // The findings DB says what the events said: 20 images, the probe in exactly the 3 holders.
  if (db) {
    {
      const images = await db.query<{ n: number }>('select count(*)::int as n from strata.images');
      assert.equal(images.rows[0]?.n, 20);
      const current = await db.query<{ manifest_digest: string; severity: string; installed_version: string }>(
        "select manifest_digest, severity, installed_version from strata.findings_current where vulnerability_id = 'STRATA-PROBE-0002' order by 1",
      );
      assert.deepEqual(
        current.rows.map((r) => r.manifest_digest),
        holders,
      );
      assert.ok(current.rows.every((r) => r.severity === 'CRITICAL' && r.installed_version === '1.4.0'));
      const history = await db.query<{ change: string; n: number }>(
        "select change, count(*)::int as n from strata.findings_history where vulnerability_id like 'STRATA-PROBE-%' group by 1 order by 1",
      );
      assert.deepEqual(history.rows, [
        { change: 'added', n: 9 },
        { change: 'resolved', n: 3 },
      ]);
    }
    await db.end();
  }
});
