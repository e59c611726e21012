import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LayerRef } from '@strata/model';

/** One layer of an image in an OCI layout: its descriptor (diffID, created_by) and the path of its blob. */
export interface LayoutLayer {
  ref: LayerRef;
  blob: string;
}

/**
 * The layers of the image tagged `tag` in the OCI layout at `dir`, read straight from it (index.json →
 * manifest → config): diffIDs from rootfs.diff_ids, created_by from the non-empty history entries.
 * Undefined when no manifest has that tag.
 */
export function ociLayoutLayers(dir: string, tag: string): LayoutLayer[] | undefined {
  const blobPath = (digest: string): string => join(dir, 'blobs', ...digest.split(':'));
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; annotations?: Record<string, string> }> };
  const desc = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (!desc) return undefined;
  const manifest = JSON.parse(readFileSync(blobPath(desc.digest), 'utf8')) as {
    config: { digest: string };
    layers: Array<{ digest: string; size: number; mediaType: string }>;
  };
  const config = JSON.parse(readFileSync(blobPath(manifest.config.digest), 'utf8')) as {
    rootfs: { diff_ids: string[] };
    history?: Array<{ created_by?: string; empty_layer?: boolean }>;
  };
  const history = (config.history ?? []).filter((h) => !h.empty_layer);
  return manifest.layers.map((l, i) => {
    const ref: LayerRef = { digest: l.digest, diffId: config.rootfs.diff_ids[i] ?? '', size: l.size, mediaType: l.mediaType };
    const createdBy = history[i]?.created_by;
    if (createdBy !== undefined) ref.createdBy = createdBy;
    return { ref, blob: blobPath(l.digest) };
  });
}
