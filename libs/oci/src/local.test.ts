// OCI layouts and docker-archive tars written by skopeo (and a Docker 25-style save) by
// infra/local/images.sh. Oracles: images.json (from umoci's configs) and the files themselves.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, open, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  detectInput,
  BlobDigestMismatchError,
  InputError,
  listPlatforms,
  openImage,
  parsePlatform,
  parseReference,
  PlatformError,
  type ImageSource,
} from './index.js';
import { indexTar } from './tar-index.js';
import { loadImages, skipUnlessImages } from '@strata/testing';
import { drain } from './testing/index.js';

const skip = skipUnlessImages(false);
let tmp: string;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'strata-oci-local-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function verifyAllLayers(source: ImageSource): Promise<void> {
  for (const layer of source.metadata.layers) {
    const out = await drain(await source.openLayer(layer));
    assert.equal(out.sha256, layer.digest);
    assert.equal(out.bytes, layer.size);
  }
}

async function flipByte(path: string, position: number): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, position);
    b[0] = (b[0] as number) ^ 0xff;
    await fh.write(b, 0, 1, position);
  } finally {
    await fh.close();
  }
}

test('oci layout: debian-multi by tag, metadata and layers verified', { skip }, async () => {
  const fixture = loadImages().images['debian-multi'];
  assert.ok(fixture.ociLayout);
  const index = JSON.parse(await readFile(join(fixture.ociLayout.dir, 'index.json'), 'utf8')) as {
    manifests: Array<{ digest: string; annotations: Record<string, string> }>;
  };
  const entry = index.manifests.find((m) => m.annotations['org.opencontainers.image.ref.name'] === 'multi');
  const source = await openImage(parseReference(fixture.ociLayout.ref));
  try {
    assert.equal(source.metadata.manifestDigest, entry?.digest);
    assert.equal(source.metadata.configDigest, fixture.configDigest);
    assert.deepEqual(source.metadata.diffIds, fixture.diffIds);
    assert.deepEqual(
      source.metadata.layers.map((l) => l.createdBy),
      fixture.layers.map((l) => l.createdBy),
    );
    assert.deepEqual(source.metadata.repoTags, []);
    await verifyAllLayers(source);
  } finally {
    await source.close();
  }
});

test('oci layout: nested index, platform selection and listing; a missing tag lists the tags', { skip }, async () => {
  const { multiarch } = loadImages().images;
  const ref = parseReference(multiarch.ociLayout.ref);
  assert.deepEqual(await listPlatforms(ref), multiarch.platforms);
  const amd64 = await openImage(ref);
  assert.equal(amd64.metadata.manifestDigest, multiarch.platforms.find((p) => p.platform.architecture === 'amd64')?.manifestDigest);
  assert.equal(amd64.metadata.indexDigest, multiarch.indexDigest);
  const arm64 = await openImage(ref, { platform: parsePlatform('linux/arm64/v8') });
  assert.equal(arm64.metadata.manifestDigest, multiarch.platforms.find((p) => p.platform.architecture === 'arm64')?.manifestDigest);
  await verifyAllLayers(arm64);
  await assert.rejects(openImage(ref, { platform: parsePlatform('linux/riscv64') }), PlatformError);

  const dir = multiarch.ociLayout.dir;
  await assert.rejects(openImage(parseReference(`oci:${dir}:no-such-tag`)), (err: unknown) => {
    assert.ok(err instanceof InputError);
    assert.match(
      err.message,
      /no manifest tagged "no-such-tag" in .*oci-layout; tags there: .*multi.*index|no manifest tagged "no-such-tag" in .*oci-layout; tags there: .*index.*multi/,
    );
    return true;
  });
  await assert.rejects(openImage(parseReference(`oci:${dir}`)), /holds 2 images; name one with oci:<dir>:<tag>/);
  await assert.rejects(openImage(parseReference(`oci:${tmp}`)), /is not an OCI image layout: it has no oci-layout file/);
});

test('docker-archive (skopeo, legacy layout): layers streamed from the tar and verified against diffIDs', { skip }, async () => {
  const fixture = loadImages().images['debian-multi'];
  assert.ok(fixture.dockerArchive);
  const saved = JSON.parse(execFileSync('tar', ['-xOf', fixture.dockerArchive.path, 'manifest.json'], { encoding: 'utf8' })) as Array<{ RepoTags: string[] }>;
  const source = await openImage(parseReference(fixture.dockerArchive.ref));
  try {
    assert.deepEqual(source.metadata.diffIds, fixture.diffIds);
    assert.deepEqual(
      source.metadata.layers.map((l) => l.digest),
      fixture.diffIds,
    );
    assert.deepEqual(
      source.metadata.layers.map((l) => l.createdBy),
      fixture.layers.map((l) => l.createdBy),
    );
    // as the archive records them (skopeo writes the fully qualified name)
    assert.deepEqual(source.metadata.repoTags, saved[0]?.RepoTags);
    assert.equal(source.metadata.config.architecture, 'amd64');
    assert.match(source.metadata.manifestDigest, /^sha256:[a-f0-9]{64}$/);
    await verifyAllLayers(source);
  } finally {
    await source.close();
  }
  // naming the image inside the archive
  const named = await openImage(parseReference(`${fixture.dockerArchive.ref}:${fixture.dockerArchive.repoTag}`));
  assert.deepEqual(named.metadata.diffIds, fixture.diffIds);
  await named.close();
  await assert.rejects(
    openImage(parseReference(`${fixture.dockerArchive.ref}:other/name:1`)),
    /no image "other\/name:1" in .*\(tags: docker\.io\/strata\/debian-multi:latest\)/,
  );
  await assert.rejects(openImage(parseReference(fixture.dockerArchive.ref), { platform: parsePlatform('linux/arm64') }), PlatformError);
});

test('docker-archive written the Docker 25 way (OCI blobs + manifest.json): real manifest digest, layers verified', { skip }, async () => {
  const fixture = loadImages().images['debian-tiny'];
  assert.ok(fixture.docker25Archive);
  const index = JSON.parse(execFileSync('tar', ['-xOf', fixture.docker25Archive.path, 'index.json'], { encoding: 'utf8' })) as {
    manifests: Array<{ digest: string }>;
  };
  const source = await openImage(parseReference(fixture.docker25Archive.ref));
  try {
    assert.equal(source.metadata.manifestDigest, index.manifests[0]?.digest);
    assert.equal(source.metadata.configDigest, fixture.configDigest);
    assert.deepEqual(source.metadata.diffIds, fixture.diffIds);
    assert.deepEqual(
      source.metadata.layers.map((l) => l.digest),
      fixture.diffIds,
    );
    assert.deepEqual(source.metadata.repoTags, [fixture.docker25Archive.repoTag]);
    await verifyAllLayers(source);
  } finally {
    await source.close();
  }
});

test('--input detection: layout dir, docker save tar, OCI layout tar; other input is a clear error', { skip }, async () => {
  const images = loadImages().images;
  const small = images['small-arm64'].ociLayout;
  assert.ok(small && images['debian-multi'].dockerArchive && images['debian-tiny'].docker25Archive);
  assert.equal((await detectInput(small.dir)).kind, 'oci-layout');
  assert.equal((await detectInput(images['debian-multi'].dockerArchive.path)).kind, 'docker-archive');
  assert.equal((await detectInput(images['debian-tiny'].docker25Archive.path)).kind, 'docker-archive');

  const ociTar = join(tmp, 'small-oci.tar');
  execFileSync('tar', ['-C', small.dir, '-cf', ociTar, '.']);
  const detected = await detectInput(ociTar);
  assert.equal(detected.kind, 'oci-archive');
  const fromTar = await openImage(detected);
  assert.deepEqual(fromTar.metadata.diffIds, images['small-arm64'].diffIds);
  await verifyAllLayers(fromTar);
  await fromTar.close();

  const notTar = join(tmp, 'not-a-tar.bin');
  await writeFile(notTar, Buffer.alloc(2048, 7));
  await assert.rejects(detectInput(notTar), /is not a valid tar archive: bad header checksum at offset 0/);
  const gz = join(tmp, 'x.tar.gz');
  execFileSync('sh', ['-c', `tar -C ${JSON.stringify(small.dir)} -czf ${JSON.stringify(gz)} .`]);
  await assert.rejects(detectInput(gz), /is a compressed file; decompress it first/);
  await assert.rejects(detectInput(join(tmp, 'missing')), /does not exist/);
  await assert.rejects(detectInput(tmp), /is not an OCI image layout/);
});

test('tampered OCI layout blobs: a layer fails on read, a config fails on open; the original still opens', { skip }, async () => {
  const small = loadImages().images['small-arm64'];
  assert.ok(small.ociLayout);
  const copy = join(tmp, 'tampered-layout');
  await cp(small.ociLayout.dir, copy, { recursive: true });
  const original = await openImage(parseReference(small.ociLayout.ref));
  const layer = original.metadata.layers[0];
  assert.ok(layer);
  await flipByte(join(copy, 'blobs/sha256', layer.digest.slice('sha256:'.length)), 40);
  const tampered = await openImage(parseReference(`oci:${copy}:latest`));
  await assert.rejects(drain(await tampered.openLayer(layer)), (err: unknown) => {
    assert.ok(err instanceof BlobDigestMismatchError);
    assert.ok(err.message.includes(`digest mismatch for layer ${layer.digest} of image oci:${copy}:latest`), err.message);
    return true;
  });
  await flipByte(join(copy, 'blobs/sha256', original.metadata.configDigest.slice('sha256:'.length)), 2);
  await assert.rejects(openImage(parseReference(`oci:${copy}:latest`)), (err: unknown) => {
    assert.ok(err instanceof BlobDigestMismatchError);
    assert.equal(err.kind, 'config');
    return true;
  });
  await verifyAllLayers(await openImage(parseReference(small.ociLayout.ref)));
});

test('classic docker save layout: <id>/layer.tar symlinks and tags only in `repositories`', { skip }, async () => {
  const small = loadImages().images['small-arm64'];
  assert.ok(small.ociLayout);
  const archive = join(tmp, 'classic-src.tar');
  execFileSync('skopeo', ['copy', '-q', `oci:${small.ociLayout.dir}:latest`, `docker-archive:${archive}:strata/small:v1`]);
  const dir = join(tmp, 'classic');
  await import('node:fs/promises').then((fs) => fs.mkdir(dir));
  execFileSync('tar', ['-C', dir, '-xf', archive]);
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Array<{ Config: string; RepoTags?: string[]; Layers: string[] }>;
  const repositories = JSON.parse(await readFile(join(dir, 'repositories'), 'utf8')) as Record<string, Record<string, string>>;
  const topId = Object.values(Object.values(repositories)[0] ?? {})[0];
  assert.ok(topId && manifest[0]);
  // the layer as the legacy per-layer directory names it (a symlink to the content in the tar)
  manifest[0].Layers = [`${topId}/layer.tar`];
  delete manifest[0].RepoTags;
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
  const classic = join(tmp, 'classic.tar');
  execFileSync('tar', ['-C', dir, '-cf', classic, '.']);
  const source = await openImage(parseReference(`docker-archive:${classic}`));
  assert.deepEqual(source.metadata.diffIds, small.diffIds);
  assert.deepEqual(source.metadata.repoTags, [`${Object.keys(repositories)[0]}:v1`]);
  await verifyAllLayers(source);
  await source.close();
});

test('tampered and truncated docker-archive tars give clear errors', { skip }, async () => {
  const small = loadImages().images['small-arm64'];
  assert.ok(small.ociLayout);
  const archive = join(tmp, 'small.tar');
  execFileSync('skopeo', ['copy', '-q', `oci:${small.ociLayout.dir}:latest`, `docker-archive:${archive}:strata/small:latest`]);
  const good = await openImage(parseReference(`docker-archive:${archive}`));
  assert.deepEqual(good.metadata.diffIds, small.diffIds);
  await verifyAllLayers(good);
  await good.close();

  // flip a byte inside the layer's data in the tar
  const tar = await indexTar(archive);
  const layerEntry = [...tar.entries.values()].find((e) => e.type === '0' && e.size > 1024 && !e.name.endsWith('.json'));
  await tar.close();
  assert.ok(layerEntry);
  const tampered = join(tmp, 'small-tampered.tar');
  await cp(archive, tampered);
  await flipByte(tampered, layerEntry.offset + 600);
  const source = await openImage(parseReference(`docker-archive:${tampered}`));
  const layer = source.metadata.layers[0];
  assert.ok(layer);
  await assert.rejects(drain(await source.openLayer(layer)), (err: unknown) => {
    assert.ok(err instanceof BlobDigestMismatchError);
    assert.ok(err.message.includes(`layer ${small.diffIds[0]} of image docker-archive:${tampered}`), err.message);
    return true;
  });
  await source.close();

  const truncated = join(tmp, 'small-truncated.tar');
  await cp(archive, truncated);
  await truncate(truncated, layerEntry.offset + 100);
  await assert.rejects(openImage(parseReference(`docker-archive:${truncated}`)), (err: unknown) => {
    assert.ok(err instanceof InputError);
    assert.match(err.message, /is truncated: entry ".*" at offset \d+ runs past the end of the file/);
    return true;
  });
  const again = await openImage(parseReference(`docker-archive:${archive}`));
  await verifyAllLayers(again);
  await again.close();
});
