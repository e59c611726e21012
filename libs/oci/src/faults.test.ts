// Bad input and misbehaving registries. A loopback proxy in front of the real registry corrupts
// bytes, drops connections, rate-limits, redirects and lies; crafted images are pushed to the
// real registry. After every failure the next open must succeed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  AuthError,
  ImageConfigError,
  createRegistryClient,
  BlobDigestMismatchError,
  ManifestError,
  MediaType,
  openImage,
  parseReference,
  RegistryError,
  type ImageSource,
} from './index.js';
import { startBlobStorage, startFaultProxy, type FaultProxy, type RecordedRequest } from './testing/fault-proxy.js';
import { fixtureRef, infra, loadImages, pushBlob, pushManifest, skipUnlessImages } from '@strata/testing';
import { drain } from './testing/index.js';

const skip = skipUnlessImages();
let proxy: FaultProxy;
const fast = { retryDelayMs: 20 } as const;

before(async () => {
  if (!skip) proxy = await startFaultProxy(infra.registry('anonymous')?.host as string);
});
after(async () => {
  await proxy?.close();
});

/** The apt layer of debian-multi:gzip-oci (a few MB), opened through the proxy. */
async function openMulti(options = {}): Promise<{ source: ImageSource; ref: string }> {
  const ref = `${proxy.host}/strata/debian-multi:gzip-oci`;
  return { source: await openImage(parseReference(ref), { ...fast, ...options }), ref };
}

const isBlob = (path: string, digest?: string) => path.includes('/blobs/') && (digest === undefined || path.endsWith(digest));

async function healthyAfterwards(): Promise<void> {
  proxy.setRule(undefined);
  const { source } = await openMulti();
  const layer = source.metadata.layers[1];
  assert.ok(layer);
  assert.equal((await drain(await source.openLayer(layer))).sha256, layer.digest);
}

test('a corrupted byte in a layer fails that layer with BlobDigestMismatchError naming digest and image', { skip }, async () => {
  const { source, ref } = await openMulti();
  const layer = source.metadata.layers[1];
  assert.ok(layer);
  proxy.setRule((req) => (isBlob(req.path, layer.digest) ? { kind: 'corrupt', atByte: 12345 } : undefined));
  await assert.rejects(drain(await source.openLayer(layer)), (err: unknown) => {
    assert.ok(err instanceof BlobDigestMismatchError);
    assert.equal(err.expected, layer.digest);
    assert.equal(err.kind, 'layer');
    assert.ok(err.message.includes(`digest mismatch for layer ${layer.digest} of image ${ref}`), err.message);
    return true;
  });
  await healthyAfterwards();
});

/** The whole layer read and verified, through exactly two GETs of its blob (the first one cut); those GETs. */
async function drainInTwoGets(source: ImageSource, layer: ImageSource['metadata']['layers'][number]): Promise<RecordedRequest[]> {
  const out = await drain(await source.openLayer(layer));
  assert.equal(out.sha256, layer.digest);
  assert.equal(out.bytes, layer.size);
  const gets = proxy.requests.filter((r) => isBlob(r.path, layer.digest));
  assert.equal(gets.length, 2);
  return gets;
}

test('a dropped connection mid-blob resumes with Range and still verifies the whole blob', { skip }, async () => {
  const { source } = await openMulti();
  const layer = source.metadata.layers[1];
  assert.ok(layer?.size && layer.size > 1_000_000);
  proxy.setRule((req, seen) => (isBlob(req.path, layer.digest) && seen === 0 ? { kind: 'drop', afterBytes: 300_000 } : undefined));
  const gets = await drainInTwoGets(source, layer);
  assert.equal(gets[0]?.headers.range, undefined);
  const resumedAt = Number(/^bytes=(\d+)-$/.exec(String(gets[1]?.headers.range))?.[1]);
  assert.ok(resumedAt > 0 && resumedAt <= 300_000, `resumed at ${resumedAt}`);
  proxy.requests.length = 0;
});

test('a registry without Range support: the retry starts over and skips what was already delivered', { skip }, async () => {
  proxy.setRule(undefined);
  const { source } = await openMulti();
  const layer = source.metadata.layers[1];
  assert.ok(layer);
  proxy.requests.length = 0;
  proxy.setRule((req, seen) =>
    isBlob(req.path, layer.digest)
      ? seen === 0
        ? { kind: 'drop', afterBytes: 200_000, ignoreRange: true }
        : { kind: 'forward', ignoreRange: true }
      : undefined,
  );
  const gets = await drainInTwoGets(source, layer);
  assert.equal(gets[1]?.headers.range, undefined);
  proxy.requests.length = 0;
});

test('a connection that always drops fails after bounded retries, naming the layer and image', { skip }, async () => {
  const { source, ref } = await openMulti({ retries: 2 });
  const layer = source.metadata.layers[1];
  assert.ok(layer);
  proxy.requests.length = 0;
  proxy.setRule((req) => (isBlob(req.path, layer.digest) ? { kind: 'drop', afterBytes: 100_000 } : undefined));
  await assert.rejects(drain(await source.openLayer(layer)), (err: unknown) => {
    assert.ok(err instanceof RegistryError);
    assert.ok(err.message.includes(`reading layer ${layer.digest} of image ${ref}`), err.message);
    assert.match(err.message, /failed after 3 attempt\(s\)/);
    return true;
  });
  assert.equal(proxy.requests.filter((r) => isBlob(r.path, layer.digest)).length, 3);
  await healthyAfterwards();
});

test('429 with Retry-After is honoured; one beyond the bound fails at once', { skip }, async () => {
  proxy.requests.length = 0;
  proxy.setRule((req, seen) =>
    req.path.includes('/manifests/') && seen === 0
      ? { kind: 'respond', status: 429, headers: { 'Retry-After': '1' }, body: '{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}' }
      : undefined,
  );
  const { source } = await openMulti();
  assert.equal(source.metadata.manifestDigest, fixtureRef('anonymous', 'strata/debian-multi', 'gzip-oci').manifestDigest);
  const manifestGets = proxy.requests.filter((r) => r.path.includes('/manifests/gzip-oci'));
  assert.equal(manifestGets.length, 2);
  const waited = (manifestGets[1]?.at ?? 0) - (manifestGets[0]?.at ?? 0);
  assert.ok(waited >= 950, `second request came ${waited} ms after the 429 with Retry-After: 1`);

  proxy.setRule((req) => (req.path.includes('/manifests/') ? { kind: 'respond', status: 429, headers: { 'Retry-After': '3600' } } : undefined));
  await assert.rejects(openMulti(), (err: unknown) => {
    assert.ok(err instanceof RegistryError);
    assert.equal(err.status, 429);
    assert.match(err.message, /rate-limited image 127\.0\.0\.1:\d+\/strata\/debian-multi:gzip-oci .* retry after 3600 s, longer than the 60 s we wait/);
    return true;
  });
  await healthyAfterwards();
});

test('5xx on the config blob is retried', { skip }, async () => {
  const configDigest = loadImages().images['debian-multi'].configDigest;
  proxy.requests.length = 0;
  proxy.setRule((req, seen) => (isBlob(req.path, configDigest) && seen < 2 ? { kind: 'respond', status: 503 } : undefined));
  const { source } = await openMulti();
  assert.equal(source.metadata.configDigest, configDigest);
  assert.equal(proxy.requests.filter((r) => isBlob(r.path, configDigest)).length, 3);
  await healthyAfterwards();
});

test('a manifest whose media type lies is a ManifestError naming the image', { skip }, async () => {
  // served as an index although it is an image manifest
  proxy.setRule((req) => (req.path.includes('/manifests/') ? { kind: 'forward', responseHeaders: { 'content-type': MediaType.ociIndex } } : undefined));
  await assert.rejects(openMulti(), (err: unknown) => {
    assert.ok(err instanceof ManifestError);
    assert.match(
      err.message,
      /of image 127\.0\.0\.1:\d+\/strata\/debian-multi:gzip-oci claims media type application\/vnd\.oci\.image\.index\.v1\+json but the document is an image manifest/,
    );
    return true;
  });
  // a Docker schema 2 manifest served as OCI: its own mediaType field contradicts the header
  proxy.setRule((req) => (req.path.includes('/manifests/') ? { kind: 'forward', responseHeaders: { 'content-type': MediaType.ociManifest } } : undefined));
  await assert.rejects(openImage(parseReference(`${proxy.host}/strata/debian-multi:gzip-v2s2`), fast), (err: unknown) => {
    assert.ok(err instanceof ManifestError);
    assert.match(
      err.message,
      /was served as application\/vnd\.oci\.image\.manifest\.v1\+json but its mediaType field says application\/vnd\.docker\.distribution\.manifest\.v2\+json/,
    );
    return true;
  });
  // an index entry whose manifest is served under another type than its descriptor says
  proxy.setRule((req) =>
    req.path.includes('/manifests/sha256:') ? { kind: 'forward', responseHeaders: { 'content-type': MediaType.dockerManifest } } : undefined,
  );
  await assert.rejects(
    openImage(parseReference(`${proxy.host}/strata/multiarch:latest`), fast),
    /is listed as application\/vnd\.oci\.image\.manifest\.v1\+json but was served as application\/vnd\.docker\.distribution\.manifest\.v2\+json/,
  );
  await healthyAfterwards();
});

test('a tampered manifest (bytes differ from Docker-Content-Digest) is rejected', { skip }, async () => {
  proxy.setRule((req) => (req.method === 'GET' && req.path.includes('/manifests/gzip-oci') ? { kind: 'corrupt', atByte: 20 } : undefined));
  await assert.rejects(openMulti(), (err: unknown) => {
    assert.ok(err instanceof BlobDigestMismatchError, String(err));
    assert.equal(err.kind, 'manifest');
    assert.equal(err.expected, fixtureRef('anonymous', 'strata/debian-multi', 'gzip-oci').manifestDigest);
    assert.match(
      err.message,
      /of image 127\.0\.0\.1:\d+\/strata\/debian-multi:gzip-oci: content hashes to sha256:[a-f0-9]{64} \(as declared by Docker-Content-Digest\)/,
    );
    return true;
  });
  await healthyAfterwards();
});

test('a config that is not JSON is a ImageConfigError naming the config digest and image', { skip }, async () => {
  const registry = infra.registry('anonymous')?.host as string;
  const small = loadImages().images['small-arm64'];
  const layer = small.layers[0];
  assert.ok(layer);
  // reuse the small image's layer (mounted by pushing the same bytes through the registry client)
  const client = createRegistryClient(registry);
  const layerBytes = await client.getBlobBytes('strata/small', layer.digest, 1 << 20);
  const repo = 'strata-test/bad-config'; // strata/ holds only the fixture images (README: strata registry --repo 'strata/**')
  const pushedLayer = await pushBlob(registry, repo, layerBytes);
  const config = await pushBlob(registry, repo, Buffer.from('this is not JSON {'));
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: config.digest, size: config.size },
    layers: [{ mediaType: MediaType.ociLayerGzip, digest: pushedLayer.digest, size: pushedLayer.size }],
  });
  await pushManifest(registry, repo, 'latest', manifest, MediaType.ociManifest);
  await assert.rejects(openImage(parseReference(`${registry}/${repo}:latest`)), (err: unknown) => {
    assert.ok(err instanceof ImageConfigError);
    assert.ok(err.message.includes(`config ${config.digest} of image ${registry}/${repo}:latest is not valid JSON`), err.message);
    return true;
  });
  // a config that is JSON but lists fewer diff_ids than the manifest has layers
  const short = await pushBlob(registry, repo, Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } })));
  await pushManifest(
    registry,
    repo,
    'short',
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: short.digest, size: short.size },
      layers: [{ mediaType: MediaType.ociLayerGzip, digest: pushedLayer.digest, size: pushedLayer.size }],
    }),
    MediaType.ociManifest,
  );
  await assert.rejects(
    openImage(parseReference(`${registry}/${repo}:short`)),
    /manifest lists 1 layer\(s\) but config sha256:[a-f0-9]{64} lists 0 diff_id\(s\)/,
  );
  await healthyAfterwards();
});

test('catalog pagination follows Link across pages', { skip }, async () => {
  proxy.setRule(undefined);
  proxy.requests.length = 0;
  const client = createRegistryClient(proxy.host);
  const all = await client.listRepositories();
  const paged = await client.listRepositories({ pageSize: 1 });
  assert.deepEqual(paged, all);
  assert.ok(all.length >= 3);
  // one request for the unpaged listing, then one per repository (plus possibly a last empty page)
  assert.ok(proxy.requests.filter((r) => r.path.startsWith('/v2/_catalog')).length >= 1 + all.length);
});

test('redirects to blob storage on another host never carry the registry Authorization', { skip }, async () => {
  const basic = infra.registry('basic');
  assert.ok(basic?.username && basic.password);
  const auth = `Basic ${Buffer.from(`${basic.username}:${basic.password}`).toString('base64')}`;
  const storage = await startBlobStorage(`http://${basic.host}`, auth);
  const front = await startFaultProxy(basic.host);
  try {
    front.setRule((req) =>
      req.method === 'GET' && req.path.includes('/blobs/')
        ? { kind: 'redirect', status: 307, location: `${storage.url}${req.path.replace(/^\/v2/, '')}` }
        : undefined,
    );
    const pushed = fixtureRef('basic', 'strata/debian-tiny', 'latest');
    const source = await openImage(parseReference(`${front.host}/strata/debian-tiny:latest`), {
      username: basic.username,
      password: basic.password,
      ...fast,
    });
    assert.equal(source.metadata.manifestDigest, pushed.manifestDigest);
    for (const layer of source.metadata.layers) assert.equal((await drain(await source.openLayer(layer))).sha256, layer.digest);
    // the registry saw credentials; the storage host (another origin) never did
    assert.ok(front.requests.some((r) => r.path.includes('/manifests/') && r.headers.authorization === auth));
    assert.ok(storage.requests.length >= 1 + source.metadata.layers.length);
    for (const r of storage.requests) assert.equal(r.headers.authorization, undefined, r.path);
    // wrong credentials still fail on the registry with a clear 401
    await assert.rejects(
      openImage(parseReference(`${front.host}/strata/debian-tiny:latest`), { username: basic.username, password: 'nope', ...fast }),
      AuthError,
    );
  } finally {
    await front.close();
    await storage.close();
  }
});
