import { defaultAnalyzers, osPackagePurl, releaseFileRank } from '@strata/analyzers';
import type { AnyAnalyzer } from '@strata/analyzers';
import type {
  AnalyzerWarning,
  ImageInventory,
  InventoryPackage,
  InventorySet,
  LayerEntryNote,
  LayerRef,
  LayerResult,
  OsInfo,
  Package,
  PackageSet,
} from '@strata/model';

export interface LayerInput {
  ref: LayerRef;
  result: LayerResult;
}

/** The package sets one layer wrote at one path (a DB file or manifest). */
interface Write {
  layer: number;
  sets: PackageSet[];
  /** identities per analyzer, built on first use (attribution looks packages up by identity) */
  ids?: Map<string, Set<string>>;
}

interface PathState {
  kind: 'os' | 'application';
  /** consecutive writes at this path since it last appeared (bottom first); the last one is current */
  writes: Write[];
}

/** What the merged tree holds at a watched path (see LayerResult.entries). */
interface TreeNode {
  type: LayerEntryNote['type'];
  target?: string;
  targetEscapes?: boolean;
  /** hard links: analyzers that still have to read the target (LayerEntryNote.unread) */
  unread?: string[];
  /** the layer the entry came from */
  layer: number;
}

/**
 * A package DB (or release file) the merged image reaches through a link to content no analyzer
 * read. The embedded scan and the merger read it in a second pass over the layer blobs
 * (`@strata/pipeline`), then merge again with the result added to layer `introducedLayer` or higher.
 */
export interface LinkGap {
  /** the analyzer that reads the DB */
  analyzer: string;
  /** the path the package manager opens, e.g. var/lib/dpkg/status */
  location: string;
  /** where the content sits in the merged tree (symlinks followed): the package set goes there */
  path: string;
  /** the highest layer of the links on the way (the package appears in the image no lower) */
  introducedLayer: number;
  /** a hard link: its target is an earlier entry of this layer (read it there) */
  hardlink?: { layer: number; target: string };
}

/** Linux gives up after 40 symlinks in one lookup (ELOOP); so does the merge. */
const MAX_SYMLINK_HOPS = 40;

const identity = (p: Package): string => [p.type, p.name, p.epoch ?? '', p.version, p.release ?? '', p.arch ?? ''].join('\u0000');

const dirName = (path: string): string => {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
};

/**
 * A map keyed by image path that also knows its directory tree, so that "everything below d" is
 * deleted in time proportional to what goes (whiteouts × entries would be quadratic).
 */
class PathMap<V> {
  private readonly values = new Map<string, V>();
  /**
   * directory → the paths directly below it that hold a value or lead to one (may be stale). Most
   * directories (node_modules/<name>) lead to one path: it is kept as is, a Set only from the second.
   * Built lazily: paths set since the last deleteBelow wait in `unindexed`, so the packages of the
   * last layers (most of an image's paths, often) are never indexed when nothing above deletes.
   */
  private readonly children = new Map<string, string | Set<string>>();
  private unindexed: string[] = [];

  get size(): number {
    return this.values.size;
  }
  get(path: string): V | undefined {
    return this.values.get(path);
  }
  has(path: string): boolean {
    return this.values.has(path);
  }
  keys(): IterableIterator<string> {
    return this.values.keys();
  }
  allValues(): IterableIterator<V> {
    return this.values.values();
  }
  entries(): IterableIterator<[string, V]> {
    return this.values.entries();
  }
  set(path: string, value: V): void {
    if (!this.values.has(path)) this.unindexed.push(path);
    this.values.set(path, value);
  }
  private index(path: string): void {
    let child = path;
    while (child !== '') {
      const parent = dirName(child);
      const below = this.children.get(parent);
      if (below === undefined) this.children.set(parent, child);
      else if (below === child || (typeof below !== 'string' && below.has(child))) break;
      else if (typeof below === 'string') this.children.set(parent, new Set([below, child]));
      else below.add(child);
      child = parent;
    }
  }
  delete(path: string): void {
    this.values.delete(path);
  }
  /** Deletes every value strictly below `dir` ('' = everything). */
  deleteBelow(dir: string): void {
    if (this.unindexed.length > 0) {
      // a path deleted since is indexed all the same (entries may be stale: values decide)
      for (const p of this.unindexed) this.index(p);
      this.unindexed = [];
    }
    const start = this.children.get(dir);
    if (start === undefined) return;
    this.children.delete(dir);
    const stack = typeof start === 'string' ? [start] : [...start];
    while (stack.length > 0) {
      const p = stack.pop()!;
      this.values.delete(p);
      const below = this.children.get(p);
      if (below === undefined) continue;
      this.children.delete(p);
      if (typeof below === 'string') stack.push(below);
      else for (const c of below) stack.push(c);
    }
  }
}

function hasIdentical(write: Write, analyzer: string, id: string): boolean {
  if (!write.ids) {
    write.ids = new Map();
    for (const s of write.sets) {
      let ids = write.ids.get(s.analyzer);
      if (!ids) write.ids.set(s.analyzer, (ids = new Set()));
      for (const p of s.packages) ids.add(identity(p));
    }
  }
  return write.ids.get(analyzer)?.has(id) ?? false;
}

type Resolved = { path: string; hops: number; firstLink?: string; linkLayer: number } | { error: string; firstLink?: string };

/**
 * Resolves a path inside the image the way the kernel does under a chroot: symlinks are followed
 * (at most 40), `..` stops at the root, a non-directory in the middle ends the lookup. Only watched
 * paths are known; anything else counts as a plain directory. `followLast` false leaves a final
 * symlink alone (as tar extraction does for the entry's own name).
 */
function resolveInImage(nodes: PathMap<TreeNode>, path: string, followLast: boolean): Resolved {
  const done: string[] = [];
  const todo = path.split('/').reverse();
  let hops = 0;
  let firstLink: string | undefined;
  let linkLayer = -1;
  while (todo.length > 0) {
    const part = todo.pop()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    done.push(part);
    const here = done.join('/');
    const node = nodes.get(here);
    if (!node) continue;
    const last = !todo.some((p) => p !== '' && p !== '.');
    if (node.type === 'symlink' && (followLast || !last)) {
      firstLink ??= here;
      linkLayer = Math.max(linkLayer, node.layer);
      if (++hops > MAX_SYMLINK_HOPS) return { error: `more than ${MAX_SYMLINK_HOPS} symbolic links in the lookup of ${path} (a loop?)`, firstLink };
      done.pop();
      const target = node.target ?? '';
      // walk targets are root-relative; a raw target that climbed above the root is read from the link's directory
      if (!node.targetEscapes || target.startsWith('/')) done.length = 0;
      const parts = target.split('/');
      for (let i = parts.length - 1; i >= 0; i--) todo.push(parts[i]!);
      continue;
    }
    if (!last && node.type !== 'directory') return { error: `${here} is not a directory`, ...(firstLink ? { firstLink } : {}) };
  }
  return { path: done.join('/'), hops, linkLayer, ...(firstLink ? { firstLink } : {}) };
}

/** Where an entry of an upper layer lands: its parent directories resolved through the tree so far. */
function landingPath(nodes: PathMap<TreeNode>, path: string): string {
  const dir = dirName(path);
  if (dir === '') return path;
  const r = resolveInImage(nodes, dir, true);
  if ('error' in r || r.hops === 0) return path;
  const base = path.slice(dir.length + 1);
  return r.path === '' ? base : `${r.path}/${base}`;
}

/**
 * Merges per-layer results bottom-up into the image's inventory, with overlay semantics:
 * - `.wh.<name>` deletes <name> and everything below it from lower layers; `.wh..wh..opq` empties
 *   its directory in lower layers. Deleted DB files and manifests take their package sets along,
 *   and the OS facts go when their release file goes.
 * - An entry of another type hides everything below it: a lower `var/lib/dpkg` directory replaced by
 *   a file or a symlink takes its packages along (known for the package-DB locations and their parents).
 * - Symlinks at and above package-DB locations are followed inside the image (never out of it): an
 *   entry written below a symlinked directory lands where the link points, and a location that leads
 *   to nothing Strata analyzed is reported as a warning.
 * - The OS follows os-release(5): `etc/os-release` (followed if it is a link) wins over
 *   `usr/lib/os-release`, which wins over the vendor release files; a tie goes to the upper layer.
 * - A layer that writes a DB file or manifest replaces the lower layer's sets at that path wholesale;
 *   separate files (dpkg status.d/*, node_modules/x/package.json) merge path by path.
 * - Each final package is attributed to the lowest layer of an unbroken run of layers that all
 *   listed the identical package (name, epoch, version, release, arch) at the same path.
 */
export interface MergeOptions {
  /**
   * The caller hands the layer results over: their package objects become the inventory's
   * (completed in place with layer, setPath and the image's PURL) instead of being copied, so a
   * huge inventory is held once. The results must not be used again afterwards.
   */
  reuseResults?: boolean;
}

export function mergeLayers(layers: LayerInput[], analyzers: readonly AnyAnalyzer[] = defaultAnalyzers(), options: MergeOptions = {}): ImageInventory {
  return finishMerge(layers, overlayWithGaps(layers, analyzers), options);
}

/** The overlay of every layer with the rpmdb choice made and the link gaps found (warnings included). */
interface Overlaid {
  paths: PathMap<PathState>;
  nodes: PathMap<TreeNode>;
  osFiles: PathMap<{ os: OsInfo; layer: number }>;
  warnings: AnalyzerWarning[];
  gaps: LinkGap[];
}

function overlayWithGaps(layers: LayerInput[], analyzers: readonly AnyAnalyzer[]): Overlaid {
  const { paths, nodes, osFiles, warnings } = overlay(layers);
  preferSqliteRpmdb(paths, warnings);
  const gaps = linkGaps(analyzers, nodes, paths, osFiles, warnings);
  return { paths, nodes, osFiles, warnings, gaps };
}

/** The inventory from the overlay of `layers` (consumed: its maps and warnings become the inventory's). */
function finishMerge(layers: LayerInput[], { paths, nodes, osFiles, warnings, gaps }: Overlaid, options: MergeOptions): ImageInventory {
  const refs = layers.map((l) => l.ref);
  for (const gap of gaps) {
    const how = gap.hardlink ? `${gap.path} is a hard link to ${gap.hardlink.target}` : `${gap.location} leads to ${gap.path}`;
    warnings.push({
      analyzer: gap.analyzer,
      path: gap.location,
      message: `${how}, which Strata could not read as a ${gap.analyzer} file; what it holds is NOT in this report`,
      layerDigest: refs[gap.introducedLayer]!.digest,
    });
  }
  const finalOs = chooseOs(nodes, osFiles);
  if (finalOs && finalOs.family === 'debian' && !paths.has('var/lib/dpkg/status') && [...paths.keys()].some((p) => p.startsWith('var/lib/dpkg/status.d/'))) {
    finalOs.distroless = true;
  }

  const osPackages: InventoryPackage[] = [];
  const applications: InventorySet[] = [];
  for (const path of [...paths.keys()].sort()) {
    const state = paths.get(path)!;
    const top = state.writes[state.writes.length - 1]!;
    for (const set of top.sets) {
      const complete = (pkg: Package): InventoryPackage => {
        let lowest = state.writes.length - 1;
        if (lowest > 0) {
          const id = identity(pkg);
          while (lowest > 0 && hasIdentical(state.writes[lowest - 1]!, set.analyzer, id)) lowest--;
        }
        const layer = refs[state.writes[lowest]!.layer]!;
        const purl = state.kind === 'os' ? osPackagePurl(pkg, finalOs) : pkg.purl;
        if (!options.reuseResults) return { ...pkg, layer, setPath: path, purl };
        const out = pkg as InventoryPackage;
        out.layer = layer;
        out.setPath = path;
        out.purl = purl;
        return out;
      };
      if (state.kind === 'os') {
        for (const pkg of set.packages) osPackages.push(complete(pkg));
      } else if (options.reuseResults) {
        // the result's set becomes the inventory's, completed in place
        const reused = set as InventorySet;
        for (let i = 0; i < set.packages.length; i++) reused.packages[i] = complete(set.packages[i]!);
        reused.path = path;
        applications.push(reused);
      } else {
        applications.push({ path, analyzer: set.analyzer, type: set.type, packages: set.packages.map(complete) });
      }
    }
  }

  const inventory: ImageInventory = { osPackages, applications, layers: refs, warnings };
  if (finalOs) inventory.os = finalOs;
  return inventory;
}

/**
 * The package DBs and release files the merged image reaches through links to content no analyzer
 * read (see LinkGap). Empty for almost every real image: then mergeLayers alone is the whole story.
 */
export function findLinkGaps(layers: LayerInput[], analyzers: readonly AnyAnalyzer[] = defaultAnalyzers()): LinkGap[] {
  return planMerge(layers, analyzers).gaps;
}

/** The link gaps of `layers`, and their merge (see planMerge). */
export interface MergePlan {
  /** as findLinkGaps */
  gaps: LinkGap[];
  /** mergeLayers(layers, analyzers, options): the first call reuses the overlay the gaps were found on */
  merge(options?: MergeOptions): ImageInventory;
}

/**
 * findLinkGaps and mergeLayers of the same layers with one overlay: when no gap needs reading (the
 * layers stay as they are), the merge takes the overlay, rpmdb choice and link lookups that found the
 * gaps (with their warnings) instead of doing all of them a second time.
 */
export function planMerge(layers: LayerInput[], analyzers: readonly AnyAnalyzer[] = defaultAnalyzers()): MergePlan {
  // no link anywhere (most images): nothing to resolve, and the overlay is left to the merge
  const links = layers.some(({ result }) => (result.entries ?? []).some((e) => e.type === 'symlink' || (e.type === 'hardlink' && e.unread !== undefined)));
  if (!links) return { gaps: [], merge: (options) => mergeLayers(layers, analyzers, options) };
  let kept: Overlaid | undefined = overlayWithGaps(layers, analyzers);
  return {
    gaps: kept.gaps,
    merge(options = {}) {
      // the overlay is consumed by a merge (its warnings become the inventory's): a second merge starts again
      const overlaid = kept ?? overlayWithGaps(layers, analyzers);
      kept = undefined;
      return finishMerge(layers, overlaid, options);
    },
  };
}

/** The overlay of every layer, bottom-up: package sets by path, the watched tree and the release files. */
function overlay(layers: LayerInput[]): {
  paths: PathMap<PathState>;
  nodes: PathMap<TreeNode>;
  osFiles: PathMap<{ os: OsInfo; layer: number }>;
  warnings: AnalyzerWarning[];
} {
  const paths = new PathMap<PathState>();
  const nodes = new PathMap<TreeNode>();
  const osFiles = new PathMap<{ os: OsInfo; layer: number }>();
  const warnings: AnalyzerWarning[] = [];

  const dropBelow = (dir: string): void => {
    paths.deleteBelow(dir);
    nodes.deleteBelow(dir);
    osFiles.deleteBelow(dir);
  };
  const dropAt = (path: string): void => {
    paths.delete(path);
    nodes.delete(path);
    osFiles.delete(path);
  };

  // Without a symbolic link in the tree every entry lands at its own path: no lookup per entry.
  let linked = false;
  const land = (path: string): string => (linked ? landingPath(nodes, path) : path);

  layers.forEach(({ ref, result }, index) => {
    if (result.diffId !== ref.diffId) {
      throw new Error(`layer ${index + 1} (${ref.digest}): result is for diffID ${result.diffId}, the image says ${ref.diffId}`);
    }
    for (const w of result.whiteouts) {
      dropAt(w);
      dropBelow(w);
    }
    for (const d of result.opaqueDirs) dropBelow(d);
    for (const note of result.entries ?? []) {
      if (note.type === 'symlink') linked = true;
      const at = land(note.path);
      if (note.type !== 'directory') dropBelow(at);
      // a symlink, a directory or a device replaces a lower DB file; a regular file is rewritten by its analyzer
      // (a hard link's own sets, its target's copies, come after the notes; a second pass adds them later)
      if (note.type !== 'file') paths.delete(at);
      osFiles.delete(at);
      const node: TreeNode = { type: note.type, layer: index };
      if (note.target !== undefined) node.target = note.target;
      if (note.targetEscapes) node.targetEscapes = true;
      if (note.unread && note.unread.length > 0) node.unread = note.unread;
      nodes.set(at, node);
    }
    // each path this layer writes gets one Write holding all of the layer's sets there (no map in between)
    for (const [kind, list] of [
      ['os', result.packageSets],
      ['application', result.applications],
    ] as const) {
      for (const set of list) {
        const at = land(set.path);
        const landed = at === set.path ? set : { ...set, path: at };
        const state = paths.get(at);
        const last = state?.writes[state.writes.length - 1];
        if (state && last && last.layer === index) last.sets.push(landed);
        else if (state && state.kind === kind) state.writes.push({ layer: index, sets: [landed] });
        else paths.set(at, { kind, writes: [{ layer: index, sets: [landed] }] });
      }
    }
    if (result.osFiles) {
      for (const f of result.osFiles) osFiles.set(land(f.path), { os: f.os, layer: index });
    } else if (result.os) {
      // a result without osFiles (an analyzer of its own): its single choice stands for its release file
      osFiles.set(result.osPath ?? '', { os: result.os, layer: index });
    }
    for (const w of result.warnings) warnings.push(w.layerDigest ? w : { ...w, layerDigest: ref.digest });
  });
  return { paths, nodes, osFiles, warnings };
}

/** Would the analyzer read a regular file at this path? (then a missing file there is simply absent) */
function readsFileAt(a: AnyAnalyzer, path: string): boolean {
  try {
    return a.required(path, { size: 0, mode: 0o100644 });
  } catch {
    return false;
  }
}

/**
 * Follows every analyzer location that leads through a link. The package manager reads what the
 * link points at: when that file was analyzed (it sits at a path the analyzer reads too) it is
 * reported there, once. When it leads to content no analyzer read, that is a LinkGap (read in a
 * second pass, or warned about by mergeLayers). A link that cannot be resolved at all (a loop, a
 * non-directory on the way) is a loud warning here.
 */
function linkGaps(
  analyzers: readonly AnyAnalyzer[],
  nodes: PathMap<TreeNode>,
  paths: PathMap<PathState>,
  osFiles: PathMap<{ os: OsInfo; layer: number }>,
  warnings: AnalyzerWarning[],
): LinkGap[] {
  const gaps: LinkGap[] = [];
  const hasSet = (a: AnyAnalyzer, path: string): boolean =>
    a.type === 'os-release'
      ? osFiles.has(path)
      : (paths
          .get(path)
          ?.writes.at(-1)
          ?.sets.some((s) => s.analyzer === a.type) ?? false);
  const byType = new Map(analyzers.map((a) => [a.type, a]));
  let symlinks = false;
  // hard links whose target no analyzer read in their own layer
  const hardlinkGaps = new Set<string>();
  for (const [path, node] of nodes.entries()) {
    if (node.type === 'symlink') symlinks = true;
    if (node.type !== 'hardlink' || !node.unread || node.target === undefined || node.targetEscapes) continue;
    for (const type of node.unread) {
      const a = byType.get(type);
      if (!a || hasSet(a, path)) continue;
      hardlinkGaps.add(`${type}\u0000${path}`);
      gaps.push({ analyzer: type, location: path, path, introducedLayer: node.layer, hardlink: { layer: node.layer, target: node.target } });
    }
  }
  if (!symlinks) return gaps;
  for (const a of analyzers) {
    const byLink = new Map<string, { found: boolean; problems: string[]; targets: Set<string>; candidates: LinkGap[] }>();
    for (const location of a.locations ?? []) {
      const r = resolveInImage(nodes, location, true);
      if (r.firstLink === undefined) continue;
      const seen = byLink.get(r.firstLink) ?? { found: false, problems: [], targets: new Set<string>(), candidates: [] };
      byLink.set(r.firstLink, seen);
      if ('error' in r) {
        seen.problems.push(r.error);
        continue;
      }
      seen.targets.add(r.path);
      if (hasSet(a, r.path) || hardlinkGaps.has(`${a.type}\u0000${r.path}`)) {
        seen.found = true;
        continue;
      }
      if (!readsFileAt(a, location)) continue;
      const node = nodes.get(r.path);
      if (node?.type === 'hardlink' && node.target !== undefined && !node.targetEscapes) {
        seen.candidates.push({
          analyzer: a.type,
          location,
          path: r.path,
          introducedLayer: Math.max(r.linkLayer, node.layer),
          hardlink: { layer: node.layer, target: node.target },
        });
      } else if (node?.type !== 'directory' && node?.type !== 'other' && !readsFileAt(a, r.path)) {
        // a path the analyzer reads itself would have been read, had it been there
        seen.candidates.push({ analyzer: a.type, location, path: r.path, introducedLayer: r.linkLayer });
      }
    }
    for (const [link, seen] of byLink) {
      if (seen.found) continue;
      const isDbOwn = (a.locations ?? []).some((l) => l === link || dirName(l) === link);
      if (!isDbOwn && seen.problems.length === 0) {
        // A link further up (var → /srv/var, or merged /usr: lib → usr/lib): the DB is read where it
        // leads when a file is there (the layers note every file named like a DB file); leading to
        // nothing is no sign of a hidden database, but an empty place, as the package manager sees it.
        for (const c of seen.candidates) {
          const at = nodes.get(c.path);
          if (at?.type === 'file' || at?.type === 'hardlink') gaps.push(c);
        }
        continue;
      }
      if (seen.candidates.length > 0 && seen.problems.length === 0) {
        for (const c of seen.candidates) gaps.push(c);
        continue;
      }
      const node = nodes.get(link);
      const where = node?.target !== undefined ? `symbolic link ${link} → ${node.target}` : `symbolic link ${link}`;
      const why = seen.problems.length > 0 ? seen.problems[0]! : `it leads to ${[...seen.targets].slice(0, 3).join(', ')}, which Strata did not analyze`;
      warnings.push({
        analyzer: a.type,
        path: link,
        message: `cannot follow ${where} to the ${a.type} ${a.type === 'os-release' ? 'release file' : 'database'}: ${why}; what it holds is NOT in this report`,
      });
    }
  }
  return gaps;
}

/** os-release(5): the best-ranked release location that holds OS facts, each location followed if it is a link. */
function chooseOs(nodes: PathMap<TreeNode>, osFiles: PathMap<{ os: OsInfo; layer: number }>): OsInfo | undefined {
  let best: { rank: number; layer: number; os: OsInfo } | undefined;
  const consider = (rank: number, found: { os: OsInfo; layer: number }): void => {
    if (!best || rank > best.rank || (rank === best.rank && found.layer > best.layer)) best = { rank, layer: found.layer, os: found.os };
  };
  for (const [path, found] of osFiles.entries()) consider(releaseFileRank(path) ?? 0, found);
  for (const [path, node] of nodes.entries()) {
    const rank = releaseFileRank(path);
    if (rank === undefined || node.type !== 'symlink') continue;
    const r = resolveInImage(nodes, path, true);
    const found = 'error' in r ? undefined : osFiles.get(r.path);
    if (found) consider(rank, found);
  }
  return best ? { ...best.os } : undefined;
}

/**
 * rpm reads one backend. When a directory holds both rpmdb.sqlite and a BerkeleyDB `Packages`
 * (a converted database keeps the old file), the sqlite one is current.
 */
function preferSqliteRpmdb(paths: PathMap<PathState>, warnings: AnalyzerWarning[]): void {
  for (const path of [...paths.keys()]) {
    if (!path.endsWith('/Packages')) continue;
    const sqlite = `${path.slice(0, -'Packages'.length)}rpmdb.sqlite`;
    if (!paths.has(sqlite)) continue;
    paths.delete(path);
    warnings.push({ analyzer: 'rpm', path, message: `both ${sqlite} and the BerkeleyDB ${path} exist; reporting the sqlite database` });
  }
}
