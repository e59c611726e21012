// Images on disk: OCI image layouts (a directory, or a tar of one) and `docker save` archives
// (legacy manifest.json + repositories, and the OCI-style blobs/sha256 that newer Docker writes).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { LayerRef } from '@strata/model';
import { describeError } from '@strata/errors';
import { digestOf, parseDigest, verifyBuffer, verifyingStream } from './digest.js';
import { InputError, ManifestError, PlatformError } from './errors.js';
import { buildMetadata, MAX_CONFIG_BYTES, parseConfig, platformOfConfig, type ImageSource, type ManifestStore, type Resolved } from './image.js';
import { isIndexType, MediaType, parseManifest, type Descriptor, type ImageManifest } from './manifest.js';
import { formatPlatform, platformMatches, type Platform } from './reference.js';
import { indexTar, LAYER_FILE_READ_BYTES, type TarIndex } from './tar-index.js';

const MAX_JSON_BYTES = 16 * 1024 * 1024;

/** Read access to the files of a layout or archive. */
export interface Files {
  location: string;
  size(path: string): Promise<number | undefined>;
  read(path: string, maxBytes: number): Promise<Buffer | undefined>;
  stream(path: string): Promise<Readable | undefined>;
  close(): Promise<void>;
}

export function dirFiles(dir: string): Files {
  const size = async (path: string) => {
    try {
      const s = await stat(join(dir, path));
      return s.isFile() ? s.size : undefined;
    } catch {
      return undefined;
    }
  };
  return {
    location: dir,
    size,
    async read(path, maxBytes) {
      const n = await size(path);
      if (n === undefined) return undefined;
      if (n > maxBytes) throw new InputError(`${join(dir, path)} is ${n} bytes, more than the ${maxBytes} accepted`);
      return readFile(join(dir, path));
    },
    async stream(path) {
      return (await size(path)) === undefined ? undefined : createReadStream(join(dir, path), { highWaterMark: LAYER_FILE_READ_BYTES });
    },
    close: async () => undefined,
  };
}

export function tarFiles(tar: TarIndex): Files {
  return {
    location: tar.path,
    size: async (path) => tar.resolve(path)?.size,
    async read(path, maxBytes) {
      const entry = tar.resolve(path);
      if (!entry) return undefined;
      if (entry.size > maxBytes) throw new InputError(`${path} in ${tar.path} is ${entry.size} bytes, more than the ${maxBytes} accepted`);
      return tar.read(entry);
    },
    async stream(path) {
      const entry = tar.resolve(path);
      return entry ? tar.stream(entry) : undefined;
    },
    close: () => tar.close(),
  };
}

function blobPath(digest: string): string {
  const { algorithm, hex } = parseDigest(digest, 'blob digest');
  return `blobs/${algorithm}/${hex}`;
}

const REF_NAME = 'org.opencontainers.image.ref.name';
const CONTAINERD_NAME = 'io.containerd.image.name';

function tagMatches(desc: Descriptor, tag: string): boolean {
  const refName = desc.annotations?.[REF_NAME];
  const fullName = desc.annotations?.[CONTAINERD_NAME];
  return refName === tag || fullName === tag || (fullName !== undefined && fullName.endsWith(`:${tag}`));
}

function refNames(descs: Descriptor[]): string[] {
  return descs.map((d) => d.annotations?.[REF_NAME] ?? d.annotations?.[CONTAINERD_NAME]).filter((n): n is string => n !== undefined);
}

/** A ManifestStore over an OCI image layout (directory or tar). */
export async function ociLayoutStore(files: Files, tag: string | undefined, image: string): Promise<ManifestStore> {
  const layoutFile = await files.read('oci-layout', 64 * 1024);
  if (!layoutFile) throw new InputError(`${files.location} is not an OCI image layout: it has no oci-layout file`, { image });
  try {
    const parsed = JSON.parse(layoutFile.toString('utf8')) as { imageLayoutVersion?: unknown };
    if (typeof parsed.imageLayoutVersion !== 'string') throw new Error('no imageLayoutVersion');
  } catch (err) {
    throw new InputError(`${files.location}: oci-layout is not valid (${describeError(err)})`, { image, cause: err });
  }
  const indexBytes = await files.read('index.json', MAX_JSON_BYTES);
  if (!indexBytes) throw new InputError(`${files.location} is not an OCI image layout: it has no index.json`, { image });
  const indexDigest = digestOf(indexBytes);
  const top = parseManifest(indexBytes, undefined, image, `index.json of ${files.location}`);
  if (top.kind !== 'index') throw new InputError(`${files.location}: index.json is not an image index`, { image });

  const readBlob = async (desc: Descriptor, kind: string): Promise<Buffer> => {
    const path = blobPath(desc.digest);
    const bytes = await files.read(path, Math.max(desc.size, 0) <= MAX_JSON_BYTES ? MAX_JSON_BYTES : desc.size);
    if (!bytes) throw new InputError(`${kind} ${desc.digest} of image ${image} is missing from ${files.location} (${path})`, { image });
    verifyBuffer(bytes, desc.digest, kind, image);
    if (bytes.length !== desc.size) {
      throw new ManifestError(`${kind} ${desc.digest} of image ${image} is ${bytes.length} bytes but its descriptor says ${desc.size}`, { image });
    }
    return bytes;
  };

  let rootDoc: { digest: string; mediaType?: string; body: Buffer };
  if (tag !== undefined) {
    const matches = top.manifests.filter((d) => tagMatches(d, tag));
    if (matches.length === 0) {
      const names = refNames(top.manifests);
      throw new InputError(`image ${image}: no manifest tagged "${tag}" in ${files.location}; tags there: ${names.length ? names.join(', ') : 'none'}`, {
        image,
      });
    }
    if (matches.length === 1) {
      const desc = matches[0] as Descriptor;
      rootDoc = { digest: desc.digest, mediaType: desc.mediaType, body: await readBlob(desc, isIndexType(desc.mediaType) ? 'index' : 'manifest') };
    } else {
      // Several entries share the tag (one per platform): they form the index.
      const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: matches }));
      rootDoc = { digest: digestOf(body), mediaType: MediaType.ociIndex, body };
    }
  } else if (top.manifests.length === 1) {
    const desc = top.manifests[0] as Descriptor;
    rootDoc = { digest: desc.digest, mediaType: desc.mediaType, body: await readBlob(desc, isIndexType(desc.mediaType) ? 'index' : 'manifest') };
  } else if (top.manifests.length > 1 && top.manifests.every((d) => d.platform !== undefined)) {
    rootDoc = { digest: indexDigest, mediaType: MediaType.ociIndex, body: indexBytes };
  } else {
    const names = refNames(top.manifests);
    throw new InputError(
      `image ${image}: ${files.location} holds ${top.manifests.length} images; name one with oci:<dir>:<tag> (tags: ${names.length ? names.join(', ') : 'none'})`,
      { image },
    );
  }

  return {
    image,
    root: async () => rootDoc,
    manifest: async (desc) => ({ digest: desc.digest, body: await readBlob(desc, isIndexType(desc.mediaType) ? 'index' : 'manifest') }),
    blobBytes: (desc, kind) => readBlob(desc, kind),
    async openBlob(desc, kind) {
      const path = blobPath(desc.digest);
      const stream = await files.stream(path);
      if (!stream) throw new InputError(`${kind} ${desc.digest} of image ${image} is missing from ${files.location} (${path})`, { image });
      return verifyingStream(stream, { expected: desc.digest, size: desc.size, kind, image });
    },
    close: () => files.close(),
  };
}

// --- docker save archives ------------------------------------------------------------------

interface DockerManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

function contentDigestOfPath(path: string): string | undefined {
  const blob = /(?:^|\/)blobs\/(sha256|sha512)\/([a-f0-9]+)$/.exec(path);
  if (blob) return `${blob[1]}:${blob[2]}`;
  const legacyConfig = /^([a-f0-9]{64})\.json$/.exec(path);
  return legacyConfig ? `sha256:${legacyConfig[1]}` : undefined;
}

function normalizeRepoTag(name: string): string {
  return name.replace(/^docker\.io\//, '').replace(/^library\//, '');
}

function sniff(head: Buffer): 'gzip' | 'zstd' | 'tar' {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'tar';
}

const ARCHIVE_LAYER_TYPES = {
  gzip: MediaType.ociLayerGzip,
  zstd: MediaType.ociLayerZstd,
  tar: MediaType.ociLayer,
} as const;

/** Opens one image of a `docker save` tar. Layers are streamed out of the tar, never extracted. */
export async function openDockerArchive(
  tar: TarIndex,
  imageName: string | undefined,
  image: string,
  reference: string,
  wanted: Platform | undefined,
): Promise<ImageSource> {
  const files = tarFiles(tar);
  const manifestBytes = await files.read('manifest.json', MAX_JSON_BYTES);
  if (!manifestBytes) throw new InputError(`${tar.path} is not a docker save archive: it has no manifest.json`, { image });
  let entries: DockerManifestEntry[];
  try {
    entries = JSON.parse(manifestBytes.toString('utf8')) as DockerManifestEntry[];
    if (!Array.isArray(entries) || entries.some((e) => typeof e.Config !== 'string' || !Array.isArray(e.Layers)))
      throw new Error('expected [{Config, RepoTags, Layers}]');
  } catch (err) {
    throw new InputError(`${tar.path}: manifest.json is not valid (${describeError(err)})`, { image, cause: err });
  }
  if (entries.length === 0) throw new InputError(`${tar.path}: manifest.json lists no images`, { image });
  let entry: DockerManifestEntry | undefined;
  if (imageName === undefined) {
    if (entries.length > 1) {
      const tags = entries.flatMap((e) => e.RepoTags ?? []);
      throw new InputError(`${tar.path} holds ${entries.length} images; name one with docker-archive:<file>:<name:tag> (tags: ${tags.join(', ') || 'none'})`, {
        image,
      });
    }
    entry = entries[0];
  } else if (/^@\d+$/.test(imageName)) {
    entry = entries[Number(imageName.slice(1))];
  } else {
    const wantedName = normalizeRepoTag(imageName);
    entry = entries.find((e) => (e.RepoTags ?? []).some((t) => normalizeRepoTag(t) === wantedName));
  }
  if (!entry) {
    const tags = entries.flatMap((e) => e.RepoTags ?? []);
    throw new InputError(`image ${image}: no image "${imageName}" in ${tar.path} (tags: ${tags.join(', ') || 'none'})`, { image });
  }

  const configBytes = await files.read(entry.Config, MAX_CONFIG_BYTES);
  if (!configBytes) throw new InputError(`image ${image}: config ${entry.Config} is missing from ${tar.path}`, { image });
  const namedDigest = contentDigestOfPath(entry.Config);
  if (namedDigest) verifyBuffer(configBytes, namedDigest, 'config', image);
  const configDigest = namedDigest ?? digestOf(configBytes);
  const config = parseConfig(configBytes, configDigest, image);
  if (wanted) {
    const actual = platformOfConfig(config);
    if (!platformMatches(wanted, actual)) {
      throw new PlatformError(`image ${image} is for ${formatPlatform(actual)}, not ${formatPlatform(wanted)}`, { image });
    }
  }

  // Newer Docker writes an OCI layout beside manifest.json: use its real manifest when it has one for this config.
  const oci = await findOciManifest(files, configDigest, image);
  const diffIds = (config.rootfs as { diff_ids: string[] }).diff_ids;
  const layerDescs: Descriptor[] = [];
  const layerPaths = new Map<string, string>();
  for (const [i, path] of entry.Layers.entries()) {
    const tarEntry = tar.resolve(path);
    if (!tarEntry) throw new InputError(`image ${image}: layer ${path} is missing from ${tar.path}`, { image });
    const ociDesc = oci?.manifest.layers[i];
    let digest = ociDesc?.digest ?? contentDigestOfPath(path) ?? contentDigestOfPath(tarEntry.name);
    const kind = sniff(await tar.read({ ...tarEntry, size: Math.min(tarEntry.size, 4) }));
    if (digest === undefined) {
      // Legacy `<id>/layer.tar`: uncompressed, so its digest is its diffID. A compressed one
      // (never written by docker save) is hashed once here so it can still be verified later.
      digest = kind === 'tar' ? diffIds[i] : await streamDigest(tar.stream(tarEntry));
    }
    if (digest === undefined) throw new ManifestError(`image ${image}: layer ${i} (${path}) has no diff_id in config ${configDigest}`, { image });
    layerDescs.push({ digest, size: tarEntry.size, mediaType: ociDesc?.mediaType ?? ARCHIVE_LAYER_TYPES[kind] });
    layerPaths.set(digest, tarEntry.name);
  }
  if (layerDescs.length !== diffIds.length) {
    throw new ManifestError(`image ${image}: manifest.json lists ${layerDescs.length} layer(s) but config ${configDigest} lists ${diffIds.length} diff_id(s)`, {
      image,
    });
  }
  const manifest: ImageManifest = oci?.manifest ?? {
    kind: 'manifest',
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: configDigest, size: configBytes.length },
    layers: layerDescs,
  };
  // docker save carries no manifest: the digest of the OCI manifest this image would have stands in.
  const manifestDigest =
    oci?.digest ??
    digestOf(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: manifest.mediaType,
        config: manifest.config,
        layers: layerDescs.map((d) => ({ mediaType: d.mediaType, digest: d.digest, size: d.size })),
      }),
    );
  const resolved: Resolved = { manifest, manifestDigest, config, configDigest };
  let repoTags = (entry.RepoTags ?? []).slice();
  if (repoTags.length === 0) repoTags = await legacyRepositories(files, entry.Layers);
  const metadata = buildMetadata({ reference, resolved, repoTags, repoDigests: [] });
  const byDigest = new Map(layerDescs.map((d) => [d.digest, d]));
  return {
    metadata,
    async openLayer(layer: LayerRef) {
      const desc = byDigest.get(layer.digest);
      const path = layerPaths.get(layer.digest);
      if (!desc || path === undefined) throw new ManifestError(`layer ${layer.digest} is not part of image ${image}`, { image });
      const stream = await files.stream(path);
      if (!stream) throw new InputError(`layer ${layer.digest} of image ${image} is missing from ${tar.path}`, { image });
      return verifyingStream(stream, { expected: desc.digest, size: desc.size, kind: 'layer', image });
    },
    close: () => tar.close(),
  };
}

async function streamDigest(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream as AsyncIterable<Buffer>) hash.update(chunk);
  return `sha256:${hash.digest('hex')}`;
}

async function findOciManifest(files: Files, configDigest: string, image: string): Promise<{ manifest: ImageManifest; digest: string } | undefined> {
  const indexBytes = await files.read('index.json', MAX_JSON_BYTES);
  if (!indexBytes || !(await files.size('oci-layout'))) return undefined;
  const queue: Descriptor[] = [];
  try {
    const top = parseManifest(indexBytes, undefined, image, 'index.json');
    if (top.kind === 'index') queue.push(...top.manifests);
  } catch {
    return undefined;
  }
  for (let seen = 0; queue.length > 0 && seen < 64; seen++) {
    const desc = queue.shift() as Descriptor;
    const body = await files.read(blobPath(desc.digest), MAX_JSON_BYTES);
    if (!body) continue;
    verifyBuffer(body, desc.digest, 'manifest', image);
    const doc = parseManifest(body, desc.mediaType, image, desc.digest);
    if (doc.kind === 'index') queue.push(...doc.manifests);
    else if (doc.config.digest === configDigest) return { manifest: doc, digest: desc.digest };
  }
  return undefined;
}

/** RepoTags from the legacy `repositories` file ({"name": {"tag": "<top layer id>"}}). */
async function legacyRepositories(files: Files, layers: string[]): Promise<string[]> {
  const bytes = await files.read('repositories', MAX_JSON_BYTES);
  if (!bytes) return [];
  try {
    const repos = JSON.parse(bytes.toString('utf8')) as Record<string, Record<string, string>>;
    const top = layers.at(-1)?.split('/')[0];
    const out: string[] = [];
    for (const [name, tags] of Object.entries(repos)) {
      for (const [tag, id] of Object.entries(tags)) if (layers.length === 0 || id === top) out.push(`${name}:${tag}`);
    }
    return out;
  } catch {
    return [];
  }
}

/** What a local path holds: an OCI layout directory, a docker save tar, or an OCI layout tar. */
export async function detectLocal(path: string): Promise<'oci-layout' | 'docker-archive' | 'oci-archive'> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw new InputError(`input ${path} does not exist or cannot be read: ${describeError(err)}`, { cause: err });
  }
  if (info.isDirectory()) {
    if ((await dirFiles(path).size('oci-layout')) !== undefined) return 'oci-layout';
    throw new InputError(`input directory ${path} is not an OCI image layout (no oci-layout file)`);
  }
  if (!info.isFile()) {
    const what = info.isFIFO() ? 'a FIFO (named pipe)' : info.isSocket() ? 'a socket' : 'a device or other special file';
    throw new InputError(`input ${path} is ${what}, not an image archive or an OCI layout directory; write it to a file first`);
  }
  const tar = await indexTar(path);
  try {
    if (tar.resolve('manifest.json')) return 'docker-archive';
    if (tar.resolve('oci-layout') && tar.resolve('index.json')) return 'oci-archive';
    throw new InputError(`input ${path} is a tar but neither a docker save archive (manifest.json) nor an OCI layout (oci-layout, index.json)`);
  } finally {
    await tar.close();
  }
}
