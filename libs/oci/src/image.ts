// What every image source shares: walking from a tag's manifest or index to the platform's
// manifest, reading the config, and turning both into ImageMetadata.
import type { Readable } from 'node:stream';
import { boundImageConfig, jsonNestsDeeperThan, MAX_CONFIG_DEPTH, type ImageMetadata, type LayerRef } from '@strata/model';
import { describeError } from '@strata/errors';
import { ImageConfigError, ManifestError, PlatformError } from './errors.js';
import {
  imageEntries,
  isIndexType,
  parseManifest,
  selectPlatform,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  type ParsedManifest,
} from './manifest.js';
import { formatPlatform, platformMatches, type Platform } from './reference.js';

export const MAX_CONFIG_BYTES = 8 * 1024 * 1024;
const MAX_INDEX_DEPTH = 4;
/**
 * Descriptors examined across all the indexes of one image (every entry of every index read).
 * Real multi-platform images list tens; nested indexes that list each other many times would
 * otherwise be walked k^depth times.
 */
export const MAX_INDEX_DESCRIPTORS = 1000;

export interface ImageSource {
  metadata: ImageMetadata;
  /** the compressed bytes of a layer as stored (registry/OCI), verified against its digest while streaming */
  openLayer(layer: LayerRef): Promise<Readable>;
  close(): Promise<void>;
}

export interface PlatformEntry {
  platform: Platform;
  manifestDigest: string;
}

/** A place manifests and blobs come from: a registry repository, an OCI layout, an archive. */
export interface ManifestStore {
  /** the image as the user named it */
  image: string;
  /** the document the reference points at (digest already verified) */
  root(): Promise<{ digest: string; mediaType?: string; body: Buffer }>;
  /** a manifest or index by descriptor, verified against its digest */
  manifest(desc: Descriptor): Promise<{ digest: string; mediaType?: string; body: Buffer }>;
  /** a small blob (the config), verified */
  blobBytes(desc: Descriptor, kind: string): Promise<Buffer>;
  /** a layer blob, verified while streaming */
  openBlob(desc: Descriptor, kind: string): Promise<Readable>;
  close(): Promise<void>;
}

export interface Resolved {
  manifest: ImageManifest;
  manifestDigest: string;
  indexDigest?: string;
  config: Record<string, unknown>;
  configDigest: string;
}

async function fetchDoc(store: ManifestStore, desc: Descriptor): Promise<ParsedManifest> {
  const doc = await store.manifest(desc);
  if (doc.body.length !== desc.size) {
    throw new ManifestError(`manifest ${desc.digest} of image ${store.image} is ${doc.body.length} bytes but its descriptor says ${desc.size}`, {
      image: store.image,
    });
  }
  if (doc.mediaType && doc.mediaType !== desc.mediaType && doc.mediaType !== 'application/json' && doc.mediaType !== 'application/octet-stream') {
    throw new ManifestError(`manifest ${desc.digest} of image ${store.image} is listed as ${desc.mediaType} but was served as ${doc.mediaType}`, {
      image: store.image,
    });
  }
  return parseManifest(doc.body, desc.mediaType, store.image, desc.digest);
}

/** One walk over an image's indexes: each nested index is read once, and the whole walk is bounded. */
class IndexWalk {
  private readonly seen = new Set<string>();
  private examined = 0;

  constructor(private readonly image: string) {}

  /** Counts the entries of an index about to be examined; throws past MAX_INDEX_DESCRIPTORS. */
  enter(index: ImageIndex, depth: number): void {
    if (depth > MAX_INDEX_DEPTH) throw new ManifestError(`image ${this.image}: indexes nested deeper than ${MAX_INDEX_DEPTH} levels`, { image: this.image });
    this.examined += index.manifests.length;
    if (this.examined > MAX_INDEX_DESCRIPTORS) {
      throw new ManifestError(
        `image ${this.image}: its indexes list more than ${MAX_INDEX_DESCRIPTORS} descriptors (MAX_INDEX_DESCRIPTORS); refusing to walk them`,
        { image: this.image },
      );
    }
  }

  /** True the first time a nested index's digest is met. */
  first(desc: Descriptor): boolean {
    if (this.seen.has(desc.digest)) return false;
    this.seen.add(desc.digest);
    return true;
  }
}

/** Depth-first search of an index (and platform-less nested indexes) for the wanted platform. */
async function findInIndex(
  store: ManifestStore,
  index: ImageIndex,
  wanted: Platform,
  depth: number,
  walk: IndexWalk = new IndexWalk(store.image),
): Promise<{ desc: Descriptor; doc: ParsedManifest } | undefined> {
  walk.enter(index, depth);
  const hit = selectPlatform(index, wanted);
  if (hit && (!isIndexType(hit.mediaType) || walk.first(hit))) {
    const doc = await fetchDoc(store, hit);
    if (doc.kind === 'index') return findInIndex(store, doc, wanted, depth + 1, walk);
    return { desc: hit, doc };
  }
  for (const entry of imageEntries(index)) {
    if (!isIndexType(entry.mediaType) || entry.platform !== undefined || !walk.first(entry)) continue;
    const nested = await fetchDoc(store, entry);
    if (nested.kind !== 'index') continue;
    const found = await findInIndex(store, nested, wanted, depth + 1, walk);
    if (found) return found;
  }
  return undefined;
}

/** Every platform of an index, nested indexes flattened; a single manifest reports its config's platform. */
export async function listStorePlatforms(store: ManifestStore): Promise<PlatformEntry[]> {
  const root = await store.root();
  const doc = parseManifest(root.body, root.mediaType, store.image, root.digest);
  const out: PlatformEntry[] = [];
  const indexes = new IndexWalk(store.image);
  const walk = async (index: ImageIndex, depth: number): Promise<void> => {
    indexes.enter(index, depth);
    for (const entry of imageEntries(index)) {
      if (isIndexType(entry.mediaType)) {
        if (!indexes.first(entry)) continue;
        const nested = await fetchDoc(store, entry);
        if (nested.kind === 'index') await walk(nested, depth + 1);
        continue;
      }
      const platform = entry.platform ?? platformOfConfig(await readConfig(store, (await fetchDoc(store, entry)) as ImageManifest));
      out.push({ platform: cleanPlatform(platform), manifestDigest: entry.digest });
    }
  };
  if (doc.kind === 'index') await walk(doc, 0);
  else out.push({ platform: platformOfConfig(await readConfig(store, doc)), manifestDigest: root.digest });
  return out;
}

function cleanPlatform(p: Platform): Platform {
  return p.variant ? { os: p.os, architecture: p.architecture, variant: p.variant } : { os: p.os, architecture: p.architecture };
}

export function platformOfConfig(config: Record<string, unknown>): Platform {
  const os = typeof config.os === 'string' ? config.os : 'unknown';
  const architecture = typeof config.architecture === 'string' ? config.architecture : 'unknown';
  const p: Platform = { os, architecture };
  if (typeof config.variant === 'string' && config.variant !== '') p.variant = config.variant;
  return p;
}

export async function readConfig(store: ManifestStore, manifest: ImageManifest): Promise<Record<string, unknown>> {
  const bytes = await store.blobBytes(manifest.config, 'config');
  return parseConfig(bytes, manifest.config.digest, store.image);
}

export function parseConfig(bytes: Buffer, digest: string, image: string): Record<string, unknown> {
  let config: unknown;
  const text = bytes.toString('utf8');
  // Refused before parsing: a config built to nest deep costs hundreds of MB to parse and breaks JSON.stringify.
  if (jsonNestsDeeperThan(text, MAX_CONFIG_DEPTH)) {
    throw new ImageConfigError(`config ${digest} of image ${image} nests deeper than ${MAX_CONFIG_DEPTH} levels`, { image });
  }
  try {
    config = JSON.parse(text);
  } catch (err) {
    throw new ImageConfigError(`config ${digest} of image ${image} is not valid JSON: ${describeError(err)}`, { image, cause: err });
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new ImageConfigError(`config ${digest} of image ${image} is not a JSON object`, { image });
  }
  const rootfs = (config as { rootfs?: { diff_ids?: unknown } }).rootfs;
  if (!rootfs || !Array.isArray(rootfs.diff_ids) || !rootfs.diff_ids.every((d) => typeof d === 'string' && /^sha(256|512):[a-f0-9]+$/.test(d))) {
    throw new ImageConfigError(`config ${digest} of image ${image} has no valid rootfs.diff_ids list`, { image });
  }
  return config as Record<string, unknown>;
}

/** From the reference's document to the platform's manifest and its config. */
export async function resolveImage(store: ManifestStore, wanted: Platform, explicitPlatform: boolean): Promise<Resolved> {
  const root = await store.root();
  const doc = parseManifest(root.body, root.mediaType, store.image, root.digest);
  let manifest: ImageManifest;
  let manifestDigest: string;
  let indexDigest: string | undefined;
  if (doc.kind === 'index') {
    indexDigest = root.digest;
    const found = await findInIndex(store, doc, wanted, 0);
    if (!found) {
      const available = (await listStorePlatforms(store)).map((p) => formatPlatform(p.platform));
      throw new PlatformError(
        `image ${store.image} has no manifest for platform ${formatPlatform(wanted)}; available: ${available.length ? available.join(', ') : 'none'}`,
        { image: store.image },
      );
    }
    if (found.doc.kind !== 'manifest')
      throw new ManifestError(`image ${store.image}: index entry ${found.desc.digest} is not a manifest`, { image: store.image });
    manifest = found.doc;
    manifestDigest = found.desc.digest;
  } else {
    manifest = doc;
    manifestDigest = root.digest;
  }
  const config = await readConfig(store, manifest);
  if (explicitPlatform && indexDigest === undefined) {
    const actual = platformOfConfig(config);
    if (!platformMatches(wanted, actual)) {
      throw new PlatformError(`image ${store.image} is a single-platform image for ${formatPlatform(actual)}, not ${formatPlatform(wanted)}`, {
        image: store.image,
      });
    }
  }
  const resolved: Resolved = { manifest, manifestDigest, config, configDigest: manifest.config.digest };
  if (indexDigest !== undefined) resolved.indexDigest = indexDigest;
  return resolved;
}

/** Layers with their diffIDs and the `created_by` of the non-empty history entries, in order. */
export function layerRefs(
  layers: Array<{ digest: string; size?: number; mediaType?: string }>,
  config: Record<string, unknown>,
  configDigest: string,
  image: string,
): LayerRef[] {
  const diffIds = (config.rootfs as { diff_ids: string[] }).diff_ids;
  if (diffIds.length !== layers.length) {
    throw new ImageConfigError(`image ${image}: the manifest lists ${layers.length} layer(s) but config ${configDigest} lists ${diffIds.length} diff_id(s)`, {
      image,
    });
  }
  const history = Array.isArray(config.history) ? (config.history as Array<Record<string, unknown>>) : [];
  const createdBy = history.filter((h) => h && h.empty_layer !== true).map((h) => (typeof h.created_by === 'string' ? h.created_by : undefined));
  return layers.map((layer, i) => {
    const ref: LayerRef = { digest: layer.digest, diffId: diffIds[i] as string };
    if (layer.size !== undefined) ref.size = layer.size;
    if (layer.mediaType !== undefined) ref.mediaType = layer.mediaType;
    const by = createdBy[i];
    if (by) ref.createdBy = by;
    return ref;
  });
}

export function buildMetadata(options: {
  reference: string;
  resolved: Resolved;
  repoTags: string[];
  repoDigests: string[];
  layers?: LayerRef[];
}): ImageMetadata {
  const { resolved } = options;
  const layers = options.layers ?? layerRefs(resolved.manifest.layers, resolved.config, resolved.configDigest, options.reference);
  const metadata: ImageMetadata = {
    reference: options.reference,
    manifestDigest: resolved.manifestDigest,
    configDigest: resolved.configDigest,
    platform: cleanPlatform(platformOfConfig(resolved.config)),
    repoTags: options.repoTags,
    repoDigests: options.repoDigests,
    diffIds: layers.map((l) => l.diffId),
    layers,
    // Only the known fields, bounded: metadata is stored, sent between services and echoed in reports.
    config: boundImageConfig(resolved.config),
  };
  if (resolved.indexDigest !== undefined) metadata.indexDigest = resolved.indexDigest;
  return metadata;
}

/** An ImageSource over a ManifestStore once resolved: layers are looked up by digest. */
export function storeSource(store: ManifestStore, metadata: ImageMetadata, manifest: ImageManifest): ImageSource {
  const byDigest = new Map(manifest.layers.map((d) => [d.digest, d]));
  return {
    metadata,
    async openLayer(layer) {
      const desc = byDigest.get(layer.digest);
      if (!desc) throw new ManifestError(`layer ${layer.digest} is not part of image ${store.image}`, { image: store.image });
      return store.openBlob(desc, 'layer');
    },
    close: () => store.close(),
  };
}
