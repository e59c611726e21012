// Manifests and indexes (OCI image spec and Docker schema 2): media types, parsing that refuses
// documents whose declared media type contradicts their content, and platform selection.
import { describeError } from '@strata/errors';
import { ManifestError } from './errors.js';
import { normalizePlatform, platformMatches, type Platform } from './reference.js';

export const MediaType = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociLayerNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifestV1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerManifestV1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const;

export const MANIFEST_ACCEPT = [MediaType.ociIndex, MediaType.dockerManifestList, MediaType.ociManifest, MediaType.dockerManifest];

const INDEX_TYPES = new Set<string>([MediaType.ociIndex, MediaType.dockerManifestList]);
const MANIFEST_TYPES = new Set<string>([MediaType.ociManifest, MediaType.dockerManifest]);
const CONFIG_TYPES = new Set<string>([MediaType.ociConfig, MediaType.dockerConfig]);

export function isIndexType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && INDEX_TYPES.has(mediaType);
}
export function isManifestType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && MANIFEST_TYPES.has(mediaType);
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform & { 'os.version'?: string; 'os.features'?: string[] };
}

export interface ImageManifest {
  kind: 'manifest';
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  kind: 'index';
  mediaType: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export type ParsedManifest = ImageManifest | ImageIndex;

/** Strips parameters (`; charset=utf-8`) and case from a Content-Type. */
export function baseMediaType(contentType: string | null | undefined): string | undefined {
  if (!contentType) return undefined;
  const base = contentType.split(';')[0]?.trim().toLowerCase();
  return base === '' ? undefined : base;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseDescriptor(value: unknown, where: string, image: string): Descriptor {
  if (!isObject(value)) throw new ManifestError(`${where} of image ${image} is not a descriptor object`, { image });
  const { mediaType, digest, size } = value;
  if (typeof digest !== 'string' || !/^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(digest)) {
    throw new ManifestError(`${where} of image ${image} has an invalid digest ${JSON.stringify(digest)}`, { image });
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new ManifestError(`${where} (${digest}) of image ${image} has an invalid size ${JSON.stringify(size)}`, { image });
  }
  if (typeof mediaType !== 'string' || mediaType === '') {
    throw new ManifestError(`${where} (${digest}) of image ${image} has no mediaType`, { image });
  }
  const d: Descriptor = { mediaType, digest, size };
  if (Array.isArray(value.urls)) d.urls = value.urls.filter((u): u is string => typeof u === 'string');
  if (isObject(value.annotations)) d.annotations = value.annotations as Record<string, string>;
  if (isObject(value.platform) && typeof value.platform.os === 'string' && typeof value.platform.architecture === 'string') {
    d.platform = value.platform as Descriptor['platform'] & object;
  }
  return d;
}

/**
 * Parses a manifest or index document. `declared` is the media type something told us it has (the
 * registry's Content-Type, or the descriptor that pointed at it). The declared type, the document's
 * own `mediaType` field and its shape must agree; a contradiction is a ManifestError, never a guess.
 */
export function parseManifest(body: Buffer, declared: string | undefined, image: string, digest: string): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new ManifestError(`manifest ${digest} of image ${image} is not valid JSON: ${describeError(err)}`, { image, cause: err });
  }
  if (!isObject(doc)) throw new ManifestError(`manifest ${digest} of image ${image} is not a JSON object`, { image });
  const field = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  if (doc.schemaVersion === 1 || declared === MediaType.dockerManifestV1Signed || declared === MediaType.dockerManifestV1) {
    throw new ManifestError(
      `image ${image} uses Docker image manifest schema 1 (${digest}), which is deprecated and not supported; re-push it with a current client`,
      { image },
    );
  }
  if (doc.schemaVersion !== 2) {
    throw new ManifestError(`manifest ${digest} of image ${image} has schemaVersion ${JSON.stringify(doc.schemaVersion)}, expected 2`, { image });
  }
  const shape: 'index' | 'manifest' | 'unknown' = Array.isArray(doc.manifests)
    ? 'index'
    : isObject(doc.config) && Array.isArray(doc.layers)
      ? 'manifest'
      : 'unknown';
  const declaredType = declared && declared !== 'application/json' && declared !== 'application/octet-stream' ? declared : undefined;
  if (declaredType && field && declaredType !== field) {
    throw new ManifestError(`manifest ${digest} of image ${image} was served as ${declaredType} but its mediaType field says ${field}`, { image });
  }
  const mediaType = field ?? declaredType;
  const describe = (s: string) =>
    s === 'index' ? 'an image index (has "manifests")' : s === 'manifest' ? 'an image manifest (has "config" and "layers")' : 'neither a manifest nor an index';
  if (mediaType !== undefined) {
    if (isIndexType(mediaType) && shape !== 'index') {
      throw new ManifestError(`manifest ${digest} of image ${image} claims media type ${mediaType} but the document is ${describe(shape)}`, { image });
    }
    if (isManifestType(mediaType) && shape !== 'manifest') {
      throw new ManifestError(`manifest ${digest} of image ${image} claims media type ${mediaType} but the document is ${describe(shape)}`, { image });
    }
    if (!isIndexType(mediaType) && !isManifestType(mediaType)) {
      throw new ManifestError(`manifest ${digest} of image ${image} has unsupported media type ${mediaType}`, { image });
    }
  } else if (shape === 'unknown') {
    throw new ManifestError(`manifest ${digest} of image ${image} is ${describe(shape)}`, { image });
  }
  const annotations = isObject(doc.annotations) ? (doc.annotations as Record<string, string>) : undefined;
  if (shape === 'index') {
    const manifests = (doc.manifests as unknown[]).map((m, i) => parseDescriptor(m, `index entry ${i}`, image));
    const index: ImageIndex = { kind: 'index', mediaType: mediaType ?? MediaType.ociIndex, manifests };
    if (annotations) index.annotations = annotations;
    return index;
  }
  if (shape !== 'manifest') throw new ManifestError(`manifest ${digest} of image ${image} is ${describe(shape)}`, { image });
  const config = parseDescriptor(doc.config, 'config descriptor', image);
  const layers = (doc.layers as unknown[]).map((l, i) => parseDescriptor(l, `layer ${i}`, image));
  const manifest: ImageManifest = { kind: 'manifest', mediaType: mediaType ?? MediaType.ociManifest, config, layers };
  if (annotations) manifest.annotations = annotations;
  if (!CONFIG_TYPES.has(config.mediaType)) {
    throw new ManifestError(`manifest ${digest} of image ${image} is not a container image: its config has media type ${config.mediaType}`, { image });
  }
  return manifest;
}

/** Index entries that are attestations or other non-image artifacts, which are never platforms. */
function isAttestation(d: Descriptor): boolean {
  return d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' || (d.platform?.os === 'unknown' && d.platform.architecture === 'unknown');
}

/** The index entries that are runnable images (nested indexes are kept, for the caller to open). */
export function imageEntries(index: ImageIndex): Descriptor[] {
  return index.manifests.filter((d) => !isAttestation(d) && (isManifestType(d.mediaType) || isIndexType(d.mediaType)));
}

/** The entry of an index for a platform, or undefined (nested indexes are the caller's business). */
export function selectPlatform(index: ImageIndex, wanted: Platform): Descriptor | undefined {
  const matches = imageEntries(index).filter((d) => d.platform !== undefined && platformMatches(wanted, d.platform));
  // Prefer an exact variant match over a variant-less request matching any variant.
  const want = normalizePlatform(wanted);
  return matches.find((d) => d.platform && normalizePlatform(d.platform).variant === want.variant) ?? matches[0];
}
