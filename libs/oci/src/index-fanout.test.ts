// Index fan-out: nested platform-less indexes that each list the next one k times must be read
// once each, and a walk over too many descriptors stops with one clear error. The documents are
// built here and served by an in-memory ManifestStore (digests and sizes are real).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { listStorePlatforms, MAX_INDEX_DESCRIPTORS, resolveImage, type ManifestStore } from './image.js';
import { ManifestError } from './errors.js';
import { MediaType, type Descriptor } from './manifest.js';

const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

interface Served {
  store: ManifestStore;
  /** manifest/index reads, per digest */
  reads: Map<string, number>;
}

function servedFrom(docs: Map<string, Buffer>, rootDigest: string): Served {
  const reads = new Map<string, number>();
  const get = (digest: string): Buffer => {
    const body = docs.get(digest);
    if (!body) throw new Error(`no document ${digest}`);
    return body;
  };
  const store: ManifestStore = {
    image: 'fanout.test/app:1',
    root: async () => ({ digest: rootDigest, mediaType: MediaType.ociIndex, body: get(rootDigest) }),
    manifest: async (desc) => {
      reads.set(desc.digest, (reads.get(desc.digest) ?? 0) + 1);
      return { digest: desc.digest, mediaType: desc.mediaType, body: get(desc.digest) };
    },
    blobBytes: async (desc) => get(desc.digest),
    openBlob: async () => {
      throw new Error('no layers here');
    },
    close: async () => undefined,
  };
  return { store, reads };
}

function put(docs: Map<string, Buffer>, doc: unknown, mediaType: string): Descriptor {
  const body = Buffer.from(JSON.stringify(doc));
  const digest = sha256(body);
  docs.set(digest, body);
  return { mediaType, digest, size: body.length };
}

/** An arm64-only image at the bottom of `depth` platform-less indexes, each listing the next `k` times. */
function nestedFanOut(k: number, depth: number): { docs: Map<string, Buffer>; root: string; leaf: Descriptor } {
  const docs = new Map<string, Buffer>();
  const config = put(docs, { architecture: 'arm64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }, MediaType.ociConfig);
  const manifest = put(docs, { schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers: [] }, MediaType.ociManifest);
  let next: Descriptor = put(
    docs,
    { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [{ ...manifest, platform: { os: 'linux', architecture: 'arm64' } }] },
    MediaType.ociIndex,
  );
  for (let level = 1; level < depth; level++) {
    next = put(docs, { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: Array.from({ length: k }, () => next) }, MediaType.ociIndex);
  }
  return { docs, root: next.digest, leaf: manifest };
}

test('nested indexes listing each other k times are read once each, found or not found', async () => {
  const { docs, root, leaf } = nestedFanOut(30, 4);
  const missing = servedFrom(docs, root);
  // amd64 is not there: before, 30^3 nested reads; now each index once, then the listing says what is
  await assert.rejects(
    resolveImage(missing.store, { os: 'linux', architecture: 'amd64' }, true),
    /no manifest for platform linux\/amd64; available: linux\/arm64/,
  );
  for (const [digest, n] of missing.reads) assert.ok(n <= 2, `${digest} read ${n} times (once by the search, once by the listing)`);

  const found = servedFrom(docs, root);
  const resolved = await resolveImage(found.store, { os: 'linux', architecture: 'arm64' }, true);
  assert.equal(resolved.manifestDigest, leaf.digest);
  for (const [digest, n] of found.reads) assert.equal(n, 1, `${digest} read once`);

  const listed = servedFrom(docs, root);
  assert.deepEqual(await listStorePlatforms(listed.store), [{ platform: { os: 'linux', architecture: 'arm64' }, manifestDigest: leaf.digest }]);
  for (const [digest, n] of listed.reads) assert.equal(n, 1, `${digest} read once`);
});

test('indexes listing more than MAX_INDEX_DESCRIPTORS distinct descriptors are refused with one clear error', async () => {
  const docs = new Map<string, Buffer>();
  // distinct children (each a different platform-less index with one foreign platform entry)
  const children = Array.from({ length: 40 }, (_, i) => {
    const config = put(docs, { architecture: `arch${i}`, os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }, MediaType.ociConfig);
    const manifest = put(docs, { schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers: [] }, MediaType.ociManifest);
    const entries = Array.from({ length: 30 }, (_, j) => ({ ...manifest, platform: { os: 'linux', architecture: `arch${i}`, variant: `v${j}` } }));
    return put(docs, { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: entries }, MediaType.ociIndex);
  });
  const root = put(docs, { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: children }, MediaType.ociIndex);
  assert.ok(40 + 40 * 30 > MAX_INDEX_DESCRIPTORS);
  const served = servedFrom(docs, root.digest);
  await assert.rejects(resolveImage(served.store, { os: 'linux', architecture: 'amd64' }, true), (err: unknown) => {
    assert.ok(err instanceof ManifestError, String(err));
    assert.match(err.message, new RegExp(`more than ${MAX_INDEX_DESCRIPTORS} descriptors \\(MAX_INDEX_DESCRIPTORS\\)`));
    return true;
  });
  await assert.rejects(listStorePlatforms(servedFrom(docs, root.digest).store), /MAX_INDEX_DESCRIPTORS/);
});
