// Pulls the images built by infra/local/images.sh from the real anonymous registry. Oracles:
// images.json (written from umoci's own manifests/configs and skopeo's --digestfile) and
// `skopeo inspect`.
import assert from 'node:assert/strict';
import test from 'node:test';
import { MediaType } from './manifest.js';
import { createRegistryClient, listPlatforms, NotFoundError, openImage, parsePlatform, parseReference, PlatformError } from './index.js';
import { fixtureRef, loadImages, skipUnlessImages } from '@strata/testing';
import { compressionOf, drain, skopeoInspect } from './testing/index.js';

const skip = skipUnlessImages();

const EXPECTED_LAYER_TYPES = {
  'gzip-oci': MediaType.ociLayerGzip,
  'zstd-oci': MediaType.ociLayerZstd,
  'gzip-v2s2': MediaType.dockerLayerGzip,
} as const;

for (const tag of ['gzip-oci', 'zstd-oci', 'gzip-v2s2'] as const) {
  test(`pull strata/debian-multi:${tag}: metadata and every layer verified`, { skip }, async () => {
    const fixture = loadImages().images['debian-multi'];
    const pushed = fixtureRef('anonymous', 'strata/debian-multi', tag);
    const raw = skopeoInspect(pushed.ref, '--raw') as { config: { digest: string }; layers: Array<{ digest: string; size: number; mediaType: string }> };
    const source = await openImage(parseReference(pushed.ref));
    try {
      const m = source.metadata;
      assert.equal(m.manifestDigest, pushed.manifestDigest);
      assert.equal(m.indexDigest, undefined);
      assert.equal(m.configDigest, raw.config.digest);
      assert.deepEqual(m.diffIds, fixture.diffIds);
      assert.equal(m.layers.length, m.diffIds.length);
      assert.deepEqual(
        m.layers.map((l) => [l.digest, l.size, l.mediaType]),
        raw.layers.map((l) => [l.digest, l.size, l.mediaType]),
      );
      assert.ok(m.layers.every((l) => l.mediaType === EXPECTED_LAYER_TYPES[tag]));
      // created_by of the non-empty history entries, in layer order; empty-layer entries (ENV, WORKDIR, CMD) skipped
      assert.deepEqual(
        m.layers.map((l) => l.createdBy),
        fixture.layers.map((l) => l.createdBy),
      );
      assert.ok(fixture.emptyLayerHistory.length >= 3);
      const history = m.config.history as Array<{ empty_layer?: boolean }>;
      assert.equal(history.filter((h) => h.empty_layer).length, fixture.emptyLayerHistory.length);
      assert.deepEqual(m.repoTags, [`127.0.0.1:15000/strata/debian-multi:${tag}`]);
      assert.deepEqual(m.repoDigests, [`127.0.0.1:15000/strata/debian-multi@${pushed.manifestDigest}`]);
      assert.deepEqual(m.platform, { os: 'linux', architecture: 'amd64' });
      for (const layer of m.layers) {
        const out = await drain(await source.openLayer(layer));
        assert.equal(out.sha256, layer.digest);
        assert.equal(out.bytes, layer.size);
        assert.equal(compressionOf(out.head), pushed.layerCompression);
      }
    } finally {
      await source.close();
    }
  });
}

test('debian-tiny shares its base layer blob with debian-multi:gzip-oci', { skip }, async () => {
  const tiny = await openImage(parseReference(fixtureRef('anonymous', 'strata/debian-tiny', 'latest').ref));
  const multi = await openImage(parseReference(fixtureRef('anonymous', 'strata/debian-multi', 'gzip-oci').ref));
  assert.equal(tiny.metadata.layers[0]?.digest, multi.metadata.layers[0]?.digest);
  assert.equal(tiny.metadata.diffIds[0], loadImages().images['debian-multi'].diffIds[0]);
  assert.deepEqual(tiny.metadata.diffIds, loadImages().images['debian-tiny'].diffIds);
});

test('multi-platform index: every platform listed, default linux/amd64, --platform picks arm64', { skip }, async () => {
  const fixture = loadImages().images.multiarch;
  const pushed = fixtureRef('anonymous', 'strata/multiarch', 'latest');
  const ref = parseReference(pushed.ref);
  const raw = skopeoInspect(pushed.ref, '--raw') as { manifests: Array<{ digest: string; platform: Record<string, string> }> };
  const platforms = await listPlatforms(ref);
  assert.deepEqual(
    platforms,
    raw.manifests.map((d) => ({ platform: d.platform, manifestDigest: d.digest })),
  );
  assert.deepEqual(platforms, fixture.platforms);

  const amd64 = fixture.platforms.find((p) => p.platform.architecture === 'amd64');
  const arm64 = fixture.platforms.find((p) => p.platform.architecture === 'arm64');
  const byDefault = await openImage(ref);
  assert.equal(byDefault.metadata.manifestDigest, amd64?.manifestDigest);
  assert.equal(byDefault.metadata.indexDigest, pushed.manifestDigest);
  assert.deepEqual(byDefault.metadata.repoDigests, [`127.0.0.1:15000/strata/multiarch@${pushed.manifestDigest}`]);
  assert.deepEqual(byDefault.metadata.diffIds, loadImages().images['debian-tiny'].diffIds);

  for (const wanted of ['linux/arm64/v8', 'linux/arm64']) {
    const arm = await openImage(ref, { platform: parsePlatform(wanted) });
    assert.equal(arm.metadata.manifestDigest, arm64?.manifestDigest, wanted);
    assert.deepEqual(arm.metadata.diffIds, loadImages().images['small-arm64'].diffIds);
    const layer = arm.metadata.layers[0];
    assert.ok(layer);
    assert.equal((await drain(await arm.openLayer(layer))).sha256, layer.digest);
  }
  await assert.rejects(openImage(ref, { platform: parsePlatform('linux/s390x') }), (err: unknown) => {
    assert.ok(err instanceof PlatformError);
    assert.match(err.message, /strata\/multiarch:latest has no manifest for platform linux\/s390x; available: linux\/amd64, linux\/arm64\/v8/);
    return true;
  });
});

test('a single-platform image refuses an explicit other --platform', { skip }, async () => {
  const ref = parseReference(fixtureRef('anonymous', 'strata/small', 'latest').ref);
  await assert.rejects(openImage(ref, { platform: parsePlatform('linux/amd64') }), /single-platform image for linux\/arm64, not linux\/amd64/);
  const source = await openImage(ref);
  assert.deepEqual(source.metadata.platform, { os: 'linux', architecture: 'arm64' });
  assert.deepEqual(await listPlatforms(ref), [{ platform: { os: 'linux', architecture: 'arm64' }, manifestDigest: source.metadata.manifestDigest }]);
});

test('404 for a missing tag names the image and tag; the next open works', { skip }, async () => {
  const good = fixtureRef('anonymous', 'strata/debian-tiny', 'latest');
  const missing = parseReference(`${good.host}/strata/debian-tiny:no-such-tag`);
  await assert.rejects(openImage(missing), (err: unknown) => {
    assert.ok(err instanceof NotFoundError);
    assert.equal(err.status, 404);
    assert.match(err.message, /image 127\.0\.0\.1:15000\/strata\/debian-tiny:no-such-tag not found: tag "no-such-tag" does not exist/);
    return true;
  });
  await assert.rejects(openImage(parseReference(`${good.host}/strata/no-such-repo:latest`)), NotFoundError);
  const source = await openImage(parseReference(good.ref));
  assert.equal(source.metadata.manifestDigest, good.manifestDigest);
});

test('low-level client: HEAD, tags and catalog with Link pagination', { skip }, async () => {
  const pushed = fixtureRef('anonymous', 'strata/debian-multi', 'gzip-oci');
  const client = createRegistryClient(pushed.host);
  const head = await client.headManifest('strata/debian-multi', 'gzip-oci');
  assert.equal(head?.digest, pushed.manifestDigest);
  assert.equal(head?.mediaType, MediaType.ociManifest);
  assert.equal(await client.headManifest('strata/debian-multi', 'nope'), undefined);

  const pushedTags = loadImages()
    .refs.filter((r) => r.registry === 'anonymous' && r.repository === 'strata/debian-multi')
    .map((r) => r.tag);
  const tags = await client.listTags('strata/debian-multi');
  for (const t of pushedTags) assert.ok(tags.includes(t), t);
  // registry 2.8 ignores `n` on tags/list (one page); the same pager is exercised on the catalog below
  assert.deepEqual(await client.listTags('strata/debian-multi', { pageSize: 1 }), tags);

  const repos = await client.listRepositories();
  for (const r of new Set(
    loadImages()
      .refs.filter((x) => x.registry === 'anonymous')
      .map((x) => x.repository),
  ))
    assert.ok(repos.includes(r), r);
  assert.deepEqual(await client.listRepositories({ pageSize: 2 }), repos);

  // a manifest by digest is verified against that digest
  const byDigest = await client.getManifest('strata/debian-multi', pushed.manifestDigest);
  assert.equal(byDigest.digest, pushed.manifestDigest);
});
