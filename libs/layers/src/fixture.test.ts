// The fixture images built by infra (debootstrap base layer, whiteout and opaque-dir layers), when
// present in the fixtures cache: every layer walked and checked against Python's tarfile.
import assert from 'node:assert/strict';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fixturesCacheDir, skipUnless, skipUnlessImages } from '@strata/testing';
import { assertMatchesOracle, expectedFromOracle } from './testing/oracle.js';
import { pythonTarList, record, run } from './testing/index.js';

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}
interface Catalog {
  images?: Record<string, { ociManifestDigest?: string; ociLayout?: { dir?: string } }>;
}

function fixtureImages(): { name: string; dir: string; layers: Descriptor[] }[] {
  const catalog = join(fixturesCacheDir(), 'images.json');
  if (!existsSync(catalog)) return [];
  const { images = {} } = JSON.parse(readFileSync(catalog, 'utf8')) as Catalog;
  const found: { name: string; dir: string; layers: Descriptor[] }[] = [];
  for (const [name, image] of Object.entries(images)) {
    const dir = image.ociLayout?.dir;
    const digest = image.ociManifestDigest;
    if (!dir || !digest) continue;
    const manifestPath = join(dir, 'blobs', ...digest.split(':'));
    if (!existsSync(manifestPath)) continue;
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { layers?: Descriptor[] };
    found.push({ name, dir, layers: manifest.layers ?? [] });
  }
  return found;
}

const images = fixtureImages();
const skip =
  skipUnlessImages(false) ||
  skipUnless('tool:python3', 'tool:zstd') ||
  (images.length === 0 ? `no image layers found via ${fixturesCacheDir()}/images.json` : false);

test('every layer of the fixture images matches Python tarfile, whiteouts and opaque dirs included', { skip }, async () => {
  let whiteouts = 0;
  let opaque = 0;
  for (const image of images) {
    for (const layer of image.layers) {
      const blob = join(image.dir, 'blobs', ...layer.digest.split(':'));
      const raw = readFileSync(blob);
      const tarBytes = layer.mediaType.endsWith('zstd') ? run('zstd', ['-dc'], raw) : raw;
      const expected = expectedFromOracle(pythonTarList(tarBytes));
      const label = `${image.name}@${layer.digest}`;
      const rec = await record(createReadStream(blob), { mediaType: layer.mediaType, compressedSize: layer.size, label }, () => true, true);
      assertMatchesOracle(rec, expected, { digestsOnly: true });
      assert.equal(rec.summary.compressedBytes, layer.size, label);
      whiteouts += rec.whiteouts.length;
      opaque += rec.opaque.length;
    }
  }
  assert.ok(whiteouts > 0 && opaque > 0, 'the fixtures exercise whiteouts and opaque dirs');
});
