// The merge's second pass: package DBs and release files that the merged image reaches only through
// a link (a hard link to another entry of its layer, a symlink to another path of the image) whose
// content no analyzer read in the one pass over each layer. Their content is read again from the
// layer blobs, bounded, and handed to the analyzer as if it sat at the DB location; the embedded
// scan and the distributed merger both merge the layers with what this adds.
import type { Readable } from 'node:stream';
import { analyzeLayer } from '@strata/analyzers';
import { describeError } from '@strata/errors';
import { mergeLayers, planMerge, type LayerInput, type LinkGap, type MergeOptions } from '@strata/inventory';
import type { LayerEntry, LayerLimits } from '@strata/layers';
import type { AnalyzerWarning, ImageInventory, LayerRef, LayerResult } from '@strata/model';

/** layer blobs read in one image's second pass */
export const MAX_LINK_READS = 32;
/** links followed from one DB location in the second pass (after the merged tree's own symlinks) */
export const MAX_LINK_HOPS = 8;

export interface LinkedReadOptions {
  /** the compressed layer blob (verified against its digest as it streams) */
  openLayer(layer: LayerRef): Promise<Readable>;
  /** human label of layer `index` for messages, e.g. "alpine:3 layer 2/5 sha256:…" */
  label(index: number): string;
  limits?: Partial<LayerLimits>;
  tmpRoot?: string;
  signal?: AbortSignal;
}

export interface LinkedReadOutcome {
  /** the layers with the package sets and release files read through links added */
  layers: LayerInput[];
  /** what could not be read, and why (the merge adds its own warning for each location still unread) */
  warnings: AnalyzerWarning[];
  /** layer blobs read */
  reads: number;
  /**
   * mergeLayers(layers, default analyzers, options); call it once, with the `warnings` added after.
   * When no gap was read it reuses the overlay that found none (see planMerge).
   */
  merge(options?: MergeOptions): ImageInventory;
}

interface Pending {
  gap: LinkGap;
  /** the entry to look for */
  path: string;
  /** the layer to read next */
  layer: number;
  /** true: a path of the merged image, looked for from the top layer down; false: an entry of `layer` */
  search: boolean;
  hops: number;
  /** the highest layer of the links on the way so far */
  introduced: number;
  /** a hard link's own path in `layer`: its target must come before it */
  linkPath?: string;
}

interface Found {
  type: LayerEntry['type'];
  target?: string;
  targetEscapes?: boolean;
  /** ordinal of the first entry at the path; type and target are the last entry's (it wins) */
  first: number;
  last: number;
}

const isBelow = (path: string, dir: string): boolean => dir === '' || path.startsWith(`${dir}/`);

/** Whether layer `result` hides `path` of the layers below it (whiteout, opaque dir, a non-directory above it). */
function hiddenBelow(result: LayerResult, path: string): boolean {
  if (result.whiteouts.some((w) => w === path || isBelow(path, w))) return true;
  if (result.opaqueDirs.some((d) => isBelow(path, d))) return true;
  return (result.entries ?? []).some((e) => e.type !== 'directory' && isBelow(path, e.path));
}

/**
 * Reads, from the layer blobs, what the package DB locations lead to through links no analyzer
 * followed (see findLinkGaps). At most MAX_LINK_READS blobs and MAX_LINK_HOPS links per location;
 * what cannot be read is a warning, and the merge then warns that those packages are NOT in the
 * report. A package read this way is attributed to the highest layer among the link(s) and the
 * file holding it: the first layer in which the package manager sees it.
 */
export async function readLinkedDatabases(layers: LayerInput[], options: LinkedReadOptions): Promise<LinkedReadOutcome> {
  const plan = planMerge(layers);
  const gaps = plan.gaps;
  if (gaps.length === 0) return { layers, warnings: [], reads: 0, merge: plan.merge };
  const top = layers.length - 1;
  const out = layers.map((l) => ({ ...l }));
  const cloned = new Set<number>();
  const warnings: AnalyzerWarning[] = [];
  let reads = 0;
  const fail = (p: Pending, why: string): void => {
    warnings.push({
      analyzer: p.gap.analyzer,
      path: p.gap.location,
      message: `${p.gap.location} leads to ${p.path}, which Strata could not read: ${why}`,
      layerDigest: layers[p.layer]!.ref.digest,
      layer: options.label(p.layer),
    });
  };
  const inject = (p: Pending, layer: number, read: LayerResult): void => {
    const at = Math.max(p.introduced, layer);
    if (!cloned.has(at)) {
      const r = out[at]!.result;
      out[at] = {
        ref: out[at]!.ref,
        result: { ...r, packageSets: [...r.packageSets], applications: [...r.applications], ...(r.osFiles ? { osFiles: [...r.osFiles] } : {}) },
      };
      cloned.add(at);
    }
    const target = out[at]!.result;
    for (const set of read.packageSets)
      if (set.path === p.gap.location && set.analyzer === p.gap.analyzer) target.packageSets.push({ ...set, path: p.gap.path });
    for (const set of read.applications)
      if (set.path === p.gap.location && set.analyzer === p.gap.analyzer) target.applications.push({ ...set, path: p.gap.path });
    if (p.gap.analyzer === 'os-release') {
      for (const f of read.osFiles ?? []) if (f.path === p.gap.location) (target.osFiles ??= []).push({ path: p.gap.path, os: f.os });
      if (!target.osFiles && read.os) target.osFiles = [{ path: p.gap.path, os: read.os }];
    }
    for (const w of read.warnings) if (w.path === p.gap.location) warnings.push({ ...w, layerDigest: layers[layer]!.ref.digest });
  };

  let pending: Pending[] = gaps.map((gap) =>
    gap.hardlink
      ? { gap, path: gap.hardlink.target, layer: gap.hardlink.layer, search: false, hops: 0, introduced: gap.introducedLayer, linkPath: gap.path }
      : { gap, path: gap.path, layer: top, search: true, hops: 0, introduced: gap.introducedLayer },
  );
  while (pending.length > 0) {
    if (reads >= MAX_LINK_READS) {
      for (const p of pending) fail(p, `the second pass gave up after reading ${MAX_LINK_READS} layers`);
      break;
    }
    // the highest layer anyone waits for: searches going down share its read
    const layer = Math.max(...pending.map((p) => p.layer));
    const batch: Pending[] = [];
    const wanted = new Map<string, { as: string; analyzers: string[] }>();
    for (const p of pending) {
      if (p.layer !== layer || wanted.has(p.path) || (p.linkPath !== undefined && wanted.has(p.linkPath))) continue;
      wanted.set(p.path, { as: p.gap.location, analyzers: [p.gap.analyzer] });
      // the link itself, to check its target comes first (nothing is analyzed at a link)
      if (p.linkPath !== undefined) wanted.set(p.linkPath, { as: p.linkPath, analyzers: [] });
      batch.push(p);
    }
    const next = pending.filter((p) => !batch.includes(p));
    reads++;
    const found = new Map<string, Found>();
    let read: LayerResult;
    try {
      const { ref } = layers[layer]!;
      read = await analyzeLayer(await options.openLayer(ref), {
        diffId: ref.diffId,
        verifyDiffId: true,
        label: options.label(layer),
        reads: wanted,
        onRead: (path, f) => {
          const { index, ...entry } = f;
          found.set(path, { ...entry, first: found.get(path)?.first ?? index, last: index });
        },
        ...(ref.mediaType !== undefined ? { mediaType: ref.mediaType } : {}),
        ...(ref.size !== undefined ? { compressedSize: ref.size } : {}),
        ...(options.limits ? { limits: options.limits } : {}),
        ...(options.tmpRoot !== undefined ? { tmpRoot: options.tmpRoot } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (err) {
      for (const p of batch) fail(p, `reading the layer again failed: ${describeError(err)}`);
      pending = next;
      continue;
    }
    for (const p of batch) {
      const f = found.get(p.path);
      const link = p.linkPath !== undefined ? found.get(p.linkPath) : undefined;
      if (!f || (link && f.first > link.last)) {
        if (!p.search) fail(p, f ? `the hard link comes before its target in layer ${layer + 1}` : `the hard link's target is not in layer ${layer + 1}`);
        else if (hiddenBelow(layers[layer]!.result, p.path)) fail(p, `layer ${layer + 1} deleted it`);
        else if (layer === 0) fail(p, 'no layer of the image holds it');
        else next.push({ ...p, layer: layer - 1 });
        continue;
      }
      if (f.type === 'file') {
        inject(p, layer, read);
        continue;
      }
      if (f.type !== 'hardlink' && f.type !== 'symlink') {
        fail(p, `it is a ${f.type}, not a file`);
        continue;
      }
      if (p.hops >= MAX_LINK_HOPS) fail(p, `more than ${MAX_LINK_HOPS} links on the way`);
      else if (f.target === undefined || f.targetEscapes)
        fail(p, `the ${f.type === 'hardlink' ? 'hard link' : 'symbolic link'} has no target inside the image`);
      else if (f.type === 'hardlink')
        next.push({ ...p, path: f.target, layer, search: false, hops: p.hops + 1, introduced: Math.max(p.introduced, layer), linkPath: p.path });
      else {
        const { linkPath: _, ...rest } = p;
        next.push({ ...rest, path: f.target, layer: top, search: true, hops: p.hops + 1, introduced: Math.max(p.introduced, layer) });
      }
    }
    pending = next;
  }
  return { layers: out, warnings, reads, merge: (mergeOptions) => mergeLayers(out, undefined, mergeOptions) };
}
