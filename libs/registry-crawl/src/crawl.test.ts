// The crawl against the real anonymous registry: globs, Link pagination, HEAD digests, index
// platforms, and the rate limiter seeing every request.
import assert from 'node:assert/strict';
import test from 'node:test';
import { infra, pushImage, pushIndex, skipUnless, uniqueLayer, uniqueName } from '@strata/testing';
import { crawlRegistry, scanTargets, watcherClient } from './crawl.js';
import { createRateLimiter, type Clock } from './rate-limit.js';

test('crawl: globs pick repositories, tags resolve to their digests, an index expands to its platforms', { skip: skipUnless('registry') }, async () => {
  const host = infra.registry('anonymous')!.host;
  const prefix = uniqueName('crawl');
  const one = await pushImage(host, `${prefix}/team/one`, 'v1', [await uniqueLayer(`${prefix}-one`)]);
  await pushImage(host, `${prefix}/team/one`, 'v1-alias', one.layers);
  const one2 = await pushImage(host, `${prefix}/team/one`, 'v2', [await uniqueLayer(`${prefix}-one`, '2.0.0')]);
  const deep = await pushImage(host, `${prefix}/team/deep/two`, 'latest', [await uniqueLayer(`${prefix}-two`)]);
  await pushImage(host, `${prefix}/team/tmp-x`, 'latest', [await uniqueLayer(`${prefix}-tmp`)]);
  await pushImage(host, `${prefix}/other`, 'latest', [await uniqueLayer(`${prefix}-other`)]);
  const amd = await pushImage(host, `${prefix}/team/multi`, 'amd64', [await uniqueLayer(`${prefix}-m`)], { platform: { os: 'linux', architecture: 'amd64' } });
  const arm = await pushImage(host, `${prefix}/team/multi`, 'arm64', [await uniqueLayer(`${prefix}-m`, '1.0.1')], {
    platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
  });
  const index = await pushIndex(host, `${prefix}/team/multi`, 'latest', [amd, arm], { attestation: true });

  let t = 0;
  const clock: Clock = { now: () => t, sleep: async (ms) => void (t += ms) };
  const limiter = createRateLimiter({ perSecond: 20, burst: 5, clock });
  // Pages of 3: the catalog and the tags of team/one come in several pages (Link pagination).
  const crawl = await crawlRegistry(host, { include: [`${prefix}/team/**`], exclude: [`${prefix}/team/tmp-*`] }, { limiter, pageSize: 3 });
  assert.deepEqual(crawl.repositories, [`${prefix}/team/deep/two`, `${prefix}/team/multi`, `${prefix}/team/one`]);
  assert.deepEqual(crawl.problems, []);
  const seen = crawl.tags.map((x) => [x.repository.slice(prefix.length + 1), x.tag, x.digest]);
  assert.deepEqual(seen, [
    ['team/deep/two', 'latest', deep.manifestDigest],
    ['team/multi', 'amd64', amd.manifestDigest],
    ['team/multi', 'arm64', arm.manifestDigest],
    ['team/multi', 'latest', index.indexDigest],
    ['team/one', 'v1', one.manifestDigest],
    ['team/one', 'v1-alias', one.manifestDigest],
    ['team/one', 'v2', one2.manifestDigest],
  ]);
  const multi = crawl.tags.find((x) => x.tag === 'latest' && x.repository.endsWith('multi'))!;
  assert.equal(multi.mediaType, 'application/vnd.oci.image.index.v1+json');

  // Every request went through the limiter, within its rate on the (virtual) clock: the catalog
  // pages, one tags page per 3 tags per repository (+1 when a page is full), one HEAD per tag.
  const tagPages = 1 + 2 + 2;
  assert.ok(limiter.taken >= 1 + tagPages + 7, `only ${limiter.taken} requests were rate-limited`);
  assert.ok(limiter.taken <= 5 + (20 * t) / 1000, `${limiter.taken} requests in ${t} virtual ms exceed 20/s with bursts of 5`);

  const client = watcherClient(host, {});
  const expanded = await scanTargets(client, { ...multi, tags: ['latest'] });
  assert.deepEqual(expanded.skipped, []);
  assert.deepEqual(
    expanded.targets.map((x) => [x.platform, x.manifestDigest, x.indexDigest, x.digest]),
    [
      [{ os: 'linux', architecture: 'amd64' }, amd.manifestDigest, index.indexDigest, index.indexDigest],
      [{ os: 'linux', architecture: 'arm64', variant: 'v8' }, arm.manifestDigest, index.indexDigest, index.indexDigest],
    ],
    'one target per platform; the attestation entry is left out',
  );
  const single = await scanTargets(client, {
    repository: `${prefix}/team/one`,
    tag: 'v2',
    tags: ['v2'],
    digest: one2.manifestDigest,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
  });
  assert.deepEqual(
    single.targets.map((x) => [x.digest, x.platform]),
    [[one2.manifestDigest, undefined]],
  );
});

test('crawl: a registry that refuses the credentials fails the crawl with a reason that holds no password', { skip: skipUnless('registry') }, async () => {
  const basic = infra.registry('basic');
  assert.ok(basic, 'STRATA_TEST_REGISTRY_BASIC is not set');
  const password = 'not-the-password-5d1c';
  await assert.rejects(crawlRegistry(basic.host, {}, { credentials: { username: 'strata', password } }), (error: Error) => {
    assert.match(error.message, new RegExp(`${basic.host.replace(/\./g, '\\.')}.*401|401.*${basic.host.replace(/\./g, '\\.')}`));
    assert.ok(!error.message.includes(password));
    return true;
  });
  const ok = await crawlRegistry(basic.host, { include: ['no-such-prefix-*/**'] }, { credentials: { username: basic.username!, password: basic.password! } });
  assert.deepEqual(ok.repositories, []);
});

test('crawl: an explicit repository list is crawled without reading /v2/_catalog', { skip: skipUnless('registry') }, async () => {
  const host = infra.registry('anonymous')!.host;
  const prefix = uniqueName('crawl-list');
  const listed = await pushImage(host, `${prefix}/listed`, 'v1', [await uniqueLayer(`${prefix}-listed`)]);
  await pushImage(host, `${prefix}/unlisted`, 'v1', [await uniqueLayer(`${prefix}-unlisted`)]);
  const base = watcherClient(host, {});
  let catalogReads = 0;
  const client = {
    ...base,
    listRepositories: (...args: Parameters<typeof base.listRepositories>) => {
      catalogReads++;
      return base.listRepositories(...args);
    },
  };
  const crawl = await crawlRegistry(host, { repositories: [`${prefix}/listed`, `${prefix}/listed`], exclude: [`${prefix}/excluded`] }, {}, client);
  assert.equal(catalogReads, 0, 'the catalog is never read');
  assert.deepEqual(crawl.repositories, [`${prefix}/listed`]);
  assert.deepEqual(
    crawl.tags.map((x) => [x.repository, x.tag, x.digest]),
    [[`${prefix}/listed`, 'v1', listed.manifestDigest]],
  );
  const none = await crawlRegistry(host, { repositories: [] }, {}, client);
  assert.deepEqual([none.repositories, none.tags, catalogReads], [[], [], 0], 'an empty list crawls nothing');
});
