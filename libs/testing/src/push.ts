// Test and benchmark support: build small layers and push images to a registry over the
// distribution API (blob upload, manifest put), so suites can make images on the fly — many that
// share a base layer, a unique one per run, one whose blob is later tampered with.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { packTar, type TarEntry } from './tar.js';

export interface LayerBlob {
  /** digest of the compressed blob */
  digest: string;
  /** digest of the uncompressed tar */
  diffId: string;
  size: number;
  mediaType: string;
  createdBy: string;
  /** the blob, in memory (small layers) or in a file */
  bytes?: Buffer;
  path?: string;
}

export interface PushPlatform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface PushedImage {
  /** registry/repository:tag */
  ref: string;
  manifestDigest: string;
  configDigest: string;
  layers: LayerBlob[];
  /** the platform written into the config (default linux/amd64) */
  platform: PushPlatform;
  /** size of the manifest bytes, for index entries */
  manifestSize: number;
}

const sha256 = (data: Buffer | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** A gzip layer holding `files` (path → content) and their parent directories, built in memory. */
export async function tarLayer(files: Record<string, string | Buffer>, createdBy: string): Promise<LayerBlob> {
  const entries: TarEntry[] = [];
  const dirs = new Set<string>();
  for (const path of Object.keys(files).sort()) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!dirs.has(dir)) {
        dirs.add(dir);
        entries.push({ name: `${dir}/`, type: 'directory' });
      }
    }
    entries.push({ name: path, content: files[path]! });
  }
  const tarBytes = await packTar(entries);
  const gz = gzipSync(tarBytes);
  return { digest: sha256(gz), diffId: sha256(tarBytes), size: gz.length, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', createdBy, bytes: gz };
}

/** A layer whose blob already sits in a file (e.g. a fixture's OCI layout). */
export async function fileLayer(path: string, layer: { digest: string; diffId: string; createdBy: string; mediaType?: string }): Promise<LayerBlob> {
  const { size } = await stat(path);
  return { ...layer, size, mediaType: layer.mediaType ?? 'application/vnd.oci.image.layer.v1.tar+gzip', path };
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function call(method: string, url: string, headers: Record<string, string>, body?: Buffer | { path: string; size: number }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body === undefined) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else Readable.from(createReadStream(body.path)).pipe(req);
  });
}

function authHeader(auth?: { username: string; password: string }): Record<string, string> {
  return auth ? { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` } : {};
}

/** A blob to push: bytes in memory (digest computed when absent) or a file of known digest and size. */
export type BlobSource = Buffer | { digest: string; size: number; bytes?: Buffer; path?: string };

/** Pushes one blob to `host/repository` (skipped when the registry has it); returns its digest and size. */
export async function pushBlob(
  host: string,
  repository: string,
  source: BlobSource,
  auth?: { username: string; password: string },
): Promise<{ digest: string; size: number }> {
  const base = `http://${host}`;
  const blob = Buffer.isBuffer(source) ? { digest: sha256(source), size: source.length, bytes: source } : source;
  const head = await call('HEAD', `${base}/v2/${repository}/blobs/${blob.digest}`, authHeader(auth));
  if (head.status === 200) return { digest: blob.digest, size: blob.size };
  const start = await call('POST', `${base}/v2/${repository}/blobs/uploads/`, { ...authHeader(auth), 'content-length': '0' });
  if (start.status !== 202) throw new Error(`upload start for ${blob.digest} to ${base}/${repository}: HTTP ${start.status} ${start.body.toString()}`);
  const location = new URL(String(start.headers.location), base);
  location.searchParams.set('digest', blob.digest);
  const body = blob.bytes ?? { path: blob.path!, size: blob.size };
  const put = await call('PUT', location.href, { ...authHeader(auth), 'content-type': 'application/octet-stream', 'content-length': String(blob.size) }, body);
  if (put.status !== 201) throw new Error(`upload of ${blob.digest} to ${base}/${repository}: HTTP ${put.status} ${put.body.toString()}`);
  return { digest: blob.digest, size: blob.size };
}

/** Puts a manifest (or index) `body` of `mediaType` as `host/repository:tag`, as given; returns its digest. */
export async function pushManifest(
  host: string,
  repository: string,
  tag: string,
  body: string | Buffer,
  mediaType: string,
  auth?: { username: string; password: string },
): Promise<string> {
  const bytes = Buffer.from(body);
  const put = await call(
    'PUT',
    `http://${host}/v2/${repository}/manifests/${tag}`,
    { ...authHeader(auth), 'content-type': mediaType, 'content-length': String(bytes.length) },
    bytes,
  );
  if (put.status !== 201) throw new Error(`manifest put ${host}/${repository}:${tag}: HTTP ${put.status} ${put.body.toString()}`);
  return sha256(bytes);
}

/** Pushes an OCI image (gzip layers, linux/amd64) made of `layers` to `host/repository:tag`. */
export async function pushImage(
  host: string,
  repository: string,
  tag: string,
  layers: LayerBlob[],
  options: { auth?: { username: string; password: string }; labels?: Record<string, string>; platform?: PushPlatform; byDigest?: boolean } = {},
): Promise<PushedImage> {
  const platform = options.platform ?? { os: 'linux', architecture: 'amd64' };
  const config = Buffer.from(
    JSON.stringify({
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
      created: '2025-01-01T00:00:00Z',
      config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], ...(options.labels ? { Labels: options.labels } : {}) },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: layers.map((l) => ({ created: '2025-01-01T00:00:00Z', created_by: l.createdBy })),
    }),
  );
  const configDigest = sha256(config);
  for (const layer of layers) await pushBlob(host, repository, layer, options.auth);
  await pushBlob(host, repository, config, options.auth);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    }),
  );
  // byDigest: PUT /manifests/<digest>, untagged, as buildx pushes an index's platform manifests
  const reference = options.byDigest ? sha256(manifest) : tag;
  const manifestDigest = await pushManifest(host, repository, reference, manifest, 'application/vnd.oci.image.manifest.v1+json', options.auth);
  return {
    ref: options.byDigest ? `${host}/${repository}@${manifestDigest}` : `${host}/${repository}:${tag}`,
    manifestDigest,
    configDigest,
    layers,
    platform,
    manifestSize: manifest.length,
  };
}

export interface PushedIndex {
  /** registry/repository:tag */
  ref: string;
  indexDigest: string;
  manifests: PushedImage[];
}

/**
 * Pushes an OCI index over images already pushed to the same repository (pushImage with a
 * `platform` each, any tag), and tags it `tag`. With `attestation`, an unknown/unknown entry like
 * BuildKit's provenance manifests is added too (it points at the first image's manifest).
 */
export async function pushIndex(
  host: string,
  repository: string,
  tag: string,
  manifests: PushedImage[],
  options: { auth?: { username: string; password: string }; attestation?: boolean } = {},
): Promise<PushedIndex> {
  const entries: Array<Record<string, unknown>> = manifests.map((m) => ({
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: m.manifestDigest,
    size: m.manifestSize,
    platform: { os: m.platform.os, architecture: m.platform.architecture, ...(m.platform.variant ? { variant: m.platform.variant } : {}) },
  }));
  const first = manifests[0];
  if (options.attestation && first) {
    entries.push({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: first.manifestDigest,
      size: first.manifestSize,
      platform: { os: 'unknown', architecture: 'unknown' },
      annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': first.manifestDigest },
    });
  }
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: entries }));
  const indexDigest = await pushManifest(host, repository, tag, index, 'application/vnd.oci.image.index.v1+json', options.auth);
  return { ref: `${host}/${repository}:${tag}`, indexDigest, manifests };
}

/** A small unique layer: one npm package (so the analyzers find something) and a marker file. */
export function uniqueLayer(name: string, version = '1.0.0'): Promise<LayerBlob> {
  return tarLayer(
    {
      [`usr/lib/node_modules/${name}/package.json`]: JSON.stringify({ name, version, license: 'MIT' }),
      [`etc/strata/${name}`]: `${name}\n`,
    },
    `COPY ${name} /usr/lib/node_modules/${name}`,
  );
}
