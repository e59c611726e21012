// `strata registry` as a user runs it, against the real anonymous registry: globs, every platform
// of a multi-arch image grouped under its index digest, counts that agree with `strata image`.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { runStrata } from './testing/index.js';
import { infra, loadImages, pushImage, pushIndex, repoRoot, skipUnless, skipUnlessImages, tarLayer, uniqueLayer, uniqueName } from '@strata/testing';

const work = mkdtempSync(join(tmpdir(), 'strata-cli-registry-'));
test.after(() => rmSync(work, { recursive: true, force: true }));
const db = join(repoRoot, 'fixtures/advisories');
const cacheDir = join(work, 'cache');
/** The local advisory db, the cache and JSON output: what every scan below runs with. */
const jsonScan = ['--db', db, '--cache-dir', cacheDir, '--format', 'json'];

const strata = (...args: string[]) => runStrata(work, args);

interface Summary {
  registry: string;
  repositories: string[];
  images: Array<{
    repository: string;
    tags: string[];
    alsoAt: string[];
    digest: string;
    kind: string;
    platforms: Array<{ reference: string; platform?: string; manifestDigest: string; counts: Record<string, number>; vulnerabilities: Array<{ id: string }> }>;
  }>;
  total: Record<string, number>;
  advisoryDb?: { path: string; version: string; records: number };
}

const lodash = (version: string) =>
  tarLayer({ 'app/node_modules/lodash/package.json': JSON.stringify({ name: 'lodash', version, license: 'MIT' }) }, `COPY lodash ${version}`);

test('strata registry scans every image and platform under the globs, grouped under the index digest', {
  skip: skipUnless('registry'),
  timeout: 300_000,
}, async () => {
  const host = infra.registry('anonymous')!.host;
  const prefix = uniqueName('cli-reg');
  const vulnerable = await pushImage(host, `${prefix}/web`, 'v1', [await lodash('4.17.15')], { labels: { app: 'web' } });
  await pushImage(host, `${prefix}/web`, 'latest', vulnerable.layers, { labels: { app: 'web' } });
  const clean = await pushImage(host, `${prefix}/api`, 'v1', [await lodash('4.17.21')]);
  await pushImage(host, `${prefix}/scratch/tmp`, 'v1', [await uniqueLayer(`${prefix}-tmp`)]);
  const amd = await pushImage(host, `${prefix}/multi`, 'amd64', [await lodash('4.17.15')], { platform: { os: 'linux', architecture: 'amd64' } });
  const arm = await pushImage(host, `${prefix}/multi`, 'arm64', [await lodash('4.17.21')], { platform: { os: 'linux', architecture: 'arm64' } });
  const index = await pushIndex(host, `${prefix}/multi`, 'latest', [amd, arm], { attestation: true });

  const run = strata('registry', host, '--repo', `${prefix}/**`, '--exclude', `${prefix}/scratch/**`, ...jsonScan, '--exit-code', '4');
  assert.equal(run.status, 4, run.stderr);
  const summary = JSON.parse(run.stdout) as Summary;
  assert.deepEqual(summary.repositories, [`${prefix}/api`, `${prefix}/multi`, `${prefix}/web`]);
  const byRepo = new Map(summary.images.map((i) => [i.repository.slice(prefix.length + 1), i]));
  assert.deepEqual([...byRepo.keys()].sort(), ['api', 'multi', 'web']);
  assert.deepEqual(byRepo.get('web')!.tags, ['latest', 'v1'], 'two tags of one digest: one image');
  assert.equal(byRepo.get('web')!.digest, vulnerable.manifestDigest);
  assert.equal(byRepo.get('api')!.digest, clean.manifestDigest);
  const multi = byRepo.get('multi')!;
  assert.equal(multi.kind, 'index');
  assert.equal(multi.digest, index.indexDigest);
  assert.deepEqual(multi.tags, ['latest'], 'the platform manifests tagged on their own are scanned once, as platforms of the index');
  assert.deepEqual(
    multi.platforms.map((p) => [p.platform, p.manifestDigest]),
    [
      ['linux/amd64', amd.manifestDigest],
      ['linux/arm64', arm.manifestDigest],
    ],
  );
  assert.deepEqual(multi.alsoAt, [`${prefix}/multi:amd64`, `${prefix}/multi:arm64`]);

  // Each row agrees with `strata image` of the same reference and platform (the oracle).
  let total = 0;
  for (const image of summary.images) {
    for (const p of image.platforms) {
      const single = strata('image', p.reference, ...(image.kind === 'index' ? ['--platform', p.platform!] : []), ...jsonScan);
      assert.equal(single.status, 0, single.stderr);
      const report = JSON.parse(single.stdout) as { Results: Array<{ Vulnerabilities?: Array<{ VulnerabilityID: string }> }> };
      const ids = report.Results.flatMap((r) => r.Vulnerabilities ?? [])
        .map((v) => v.VulnerabilityID)
        .sort();
      assert.deepEqual(p.vulnerabilities.map((v) => v.id).sort(), ids, p.reference);
      total += ids.length;
    }
  }
  assert.ok(total > 0, 'lodash 4.17.15 has known vulnerabilities in the fixture DB');
  assert.equal(
    ['unknown', 'low', 'medium', 'high', 'critical'].reduce((n, s) => n + summary.total[s]!, 0),
    total,
  );
  assert.equal(summary.total.images, 4);
  assert.equal(summary.advisoryDb?.path, db, 'the summary names the advisory DB');

  const table = strata('registry', host, '--repo', `${prefix}/**`, '--exclude', `${prefix}/scratch/**`, '--db', db, '--cache-dir', cacheDir);
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, /IMAGE\s+PLATFORM\s+DIGEST\s+UNKNOWN\s+LOW\s+MEDIUM\s+HIGH\s+CRITICAL/);
  assert.equal(
    table.stdout.split('\n')[1],
    `Advisory DB: ${db} (OSV JSON folder, ${summary.advisoryDb!.records} records, version ${summary.advisoryDb!.version.slice(0, 19)})`,
  );
  assert.match(table.stdout, new RegExp(`/multi:latest\\s+index \\(2 platforms\\)\\s+${index.indexDigest.slice(0, 19)}`));
  assert.match(table.stdout, /└\s+linux\/arm64/);
  assert.match(table.stdout, new RegExp(`Total: ${total} \\(.*\\) in 4 images`));

  const none = strata('registry', host, '--repo', `${prefix}/api`, ...jsonScan, '--exit-code', '4');
  assert.equal(none.status, 0, 'nothing found: exit 0');
  assert.equal((JSON.parse(none.stdout) as Summary).images.length, 1);
});

test('strata registry names the registry and the reason when it refuses the credentials, and exits 1', { skip: skipUnless('registry') }, () => {
  const basic = infra.registry('basic');
  assert.ok(basic, 'STRATA_TEST_REGISTRY_BASIC is not set');
  const run = strata('registry', basic.host, '--username', 'strata', '--password', 'not-the-password-77', '--db', db, '--cache-dir', cacheDir);
  assert.equal(run.status, 1);
  assert.match(run.stderr, new RegExp(`authentication failed.*${basic.host.replace(/\./g, '\\.')}`));
  assert.doesNotMatch(run.stderr, /not-the-password-77/);
});

test("the README's example scans the fixture images under strata/ cleanly: tests push elsewhere", { skip: skipUnlessImages(), timeout: 300_000 }, () => {
  const host = infra.registry('anonymous')!.host;
  const run = strata('registry', host, '--repo', 'strata/**', ...jsonScan);
  assert.equal(
    run.status,
    0,
    `${run.stderr}\n(a repository under strata/ that is not a fixture image was pushed by old test code; tests push under strata-test/)`,
  );
  const summary = JSON.parse(run.stdout) as Summary;
  const fixtures = new Set(
    loadImages()
      .refs.filter((r) => r.registry === 'anonymous')
      .map((r) => r.repository),
  );
  assert.deepEqual(summary.repositories, [...fixtures].sort(), 'strata/ holds the fixture images and nothing else');
  assert.ok(
    summary.images.every((i) => i.platforms.every((p) => p.counts !== undefined)),
    'every image scanned',
  );
});
