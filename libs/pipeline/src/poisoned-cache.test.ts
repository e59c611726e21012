// Layer-cache poisoning, embedded (the path `strata image` and `strata registry` take): image A's
// config claims the demo image's base-layer diffID while A's own layer holds a clean dpkg status.
// A must be refused naming both digests and store nothing, and the demo image scanned afterwards
// with the same cache must report exactly what it reports from a fresh cache.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { gunzipSync } from 'node:zlib';
import { putJson } from '@strata/blobstore';
import { packTar, repoRoot, tarLayer } from '@strata/testing';
import { cachedLayerResult, cacheKeyFor, layerResultKey, layerStoreFor, scanImage, ScanFailedError } from './index.js';

const work = mkdtempSync(join(tmpdir(), 'strata-poison-'));
test.after(() => rmSync(work, { recursive: true, force: true }));
const dbDir = join(repoRoot, 'fixtures/advisories');
const sha256 = (data: Buffer | string): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

function demoImage(): { dir: string; baseDiffId: string } {
  const dir = join(work, 'demo');
  execFileSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'fixtures/demo/build-image.ts'), dir], { stdio: 'ignore' });
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  const blob = (digest: string) => JSON.parse(readFileSync(join(dir, 'blobs/sha256', digest.slice(7)), 'utf8')) as Record<string, unknown>;
  const manifest = blob(index.manifests[0]!.digest) as { config: { digest: string } };
  const config = blob(manifest.config.digest) as { rootfs: { diff_ids: string[] } };
  return { dir, baseDiffId: config.rootfs.diff_ids[0]! };
}

/** An OCI layout whose one layer's config entry claims `claimedDiffId` (the blob digest itself is right). */
async function poisonedLayout(name: string, claimedDiffId: string): Promise<{ dir: string; realDiffId: string }> {
  const layer = await tarLayer(
    {
      'etc/os-release': 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n',
      'var/lib/dpkg/status': 'Package: base-files\nStatus: install ok installed\nVersion: 12.4+deb12u9\nArchitecture: amd64\n\n',
    },
    'clean-looking layer',
  );
  const dir = join(work, name);
  mkdirSync(join(dir, 'blobs/sha256'), { recursive: true });
  const put = (bytes: Buffer): string => {
    const digest = sha256(bytes);
    writeFileSync(join(dir, 'blobs/sha256', digest.slice(7)), bytes);
    return digest;
  };
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [claimedDiffId] }, history: [{ created_by: 'poison' }] }),
  );
  const configDigest = put(config);
  put(layer.bytes!);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: layer.size }],
    }),
  );
  const manifestDigest = put(manifest);
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: manifestDigest,
          size: manifest.length,
          annotations: { 'org.opencontainers.image.ref.name': 'poison' },
        },
      ],
    }),
  );
  return { dir, realDiffId: layer.diffId };
}

test('an image claiming another layer’s diffID is refused and cannot poison the cache; the honest image scans right afterwards', async () => {
  const demo = demoImage();
  const poisoned = await poisonedLayout('poisoned', demo.baseDiffId);
  const cacheDir = join(work, 'shared-cache');

  await assert.rejects(scanImage(`oci:${poisoned.dir}:poison`, { cacheDir, dbDir }), (err: unknown) => {
    assert.ok(err instanceof ScanFailedError, String(err));
    assert.equal(err.failures.length, 1);
    const message = err.failures[0]!.message;
    assert.ok(message.includes(poisoned.realDiffId), message);
    assert.ok(message.includes(demo.baseDiffId), message);
    assert.match(message, /diff_ids claims/);
    assert.equal(message.split('layer 1/1').length, 2, `the layer label is said once: ${message}`);
    return true;
  });
  const store = await layerStoreFor(cacheDir);
  try {
    assert.equal(await cachedLayerResult(store, cacheKeyFor(demo.baseDiffId)), undefined, 'nothing was stored under the claimed diffID');
  } finally {
    await store.close();
  }

  const afterPoison = await scanImage(`oci:${demo.dir}:demo`, { cacheDir, dbDir });
  const fresh = await scanImage(`oci:${demo.dir}:demo`, { cacheDir: join(work, 'fresh-cache'), dbDir });
  assert.equal(afterPoison.layersCached, 0, 'no layer of the honest image came from the poisoned attempt');
  assert.ok(fresh.findings.length > 0, 'the demo image has findings');
  assert.deepEqual(afterPoison.findings, fresh.findings);
  assert.deepEqual(afterPoison.inventory, fresh.inventory);
});

test('a cache entry that does not record the layer’s diffID is not trusted', async () => {
  const demo = demoImage();
  const cacheDir = join(work, 'tampered-cache');
  const first = await scanImage(`oci:${demo.dir}:demo`, { cacheDir, dbDir });
  // rewrite the stored base-layer entry as if it had been written for another diffID
  const store = await layerStoreFor(cacheDir);
  const key = cacheKeyFor(demo.baseDiffId);
  const entry = (await cachedLayerResult(store, key))!;
  await putJson(store, layerResultKey(key), { ...entry, diffId: sha256('something else'), packageSets: [] });
  assert.equal(await cachedLayerResult(store, key, demo.baseDiffId), undefined);
  await store.close();
  const second = await scanImage(`oci:${demo.dir}:demo`, { cacheDir, dbDir });
  assert.equal(second.layersAnalyzed, 1, 'the untrusted entry was analyzed again');
  assert.deepEqual(second.findings, first.findings);
});

/** A `docker save` tar: legacy (`<id>/layer.tar`, uncompressed) or Docker 25 style (`blobs/sha256/<hex>`, gzip). */
async function dockerArchive(path: string, style: 'legacy' | 'blobs', claimedDiffId: string): Promise<{ realDiffId: string }> {
  const layer = await tarLayer(
    { 'var/lib/dpkg/status': 'Package: base-files\nStatus: install ok installed\nVersion: 12.4+deb12u9\nArchitecture: amd64\n\n' },
    'clean',
  );
  const layerBytes = style === 'legacy' ? gunzipSync(layer.bytes!) : layer.bytes!;
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [claimedDiffId] } }));
  const configPath = style === 'legacy' ? `${sha256(config).slice(7)}.json` : `blobs/sha256/${sha256(config).slice(7)}`;
  const layerPath = style === 'legacy' ? `${'a'.repeat(64)}/layer.tar` : `blobs/sha256/${sha256(layerBytes).slice(7)}`;
  const manifest = JSON.stringify([{ Config: configPath, RepoTags: ['poison:1'], Layers: [layerPath] }]);
  const archive = await packTar([
    { name: 'manifest.json', content: manifest },
    { name: configPath, content: config },
    { name: layerPath, content: layerBytes },
  ]);
  writeFileSync(path, archive);
  return { realDiffId: layer.diffId };
}

test('docker-archive inputs are held to their config’s diffIDs too, legacy and Docker 25 style', async () => {
  const demo = demoImage();
  for (const style of ['legacy', 'blobs'] as const) {
    const path = join(work, `poison-${style}.tar`);
    const { realDiffId } = await dockerArchive(path, style, demo.baseDiffId);
    const cacheDir = join(work, `cache-${style}`);
    await assert.rejects(scanImage(path, { cacheDir, dbDir, input: true }), (err: unknown) => {
      assert.ok(err instanceof ScanFailedError, String(err));
      const message = err.failures[0]!.message;
      assert.ok(message.includes(realDiffId) && message.includes(demo.baseDiffId), `${style}: ${message}`);
      return true;
    });
    const store = await layerStoreFor(cacheDir);
    try {
      assert.equal(await cachedLayerResult(store, cacheKeyFor(demo.baseDiffId)), undefined, `${style}: nothing stored`);
    } finally {
      await store.close();
    }
  }
});
