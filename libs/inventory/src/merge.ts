import { osPackagePurl } from '@strata/analyzers';
import type { AnalyzerWarning, ImageInventory, InventoryPackage, InventorySet, LayerRef, LayerResult, OsInfo, Package, PackageSet } from '@strata/model';

export interface LayerInput {
  ref: LayerRef;
  result: LayerResult;
}

/** The package sets one layer wrote at one path (a DB file or manifest). */
interface Write {
  layer: number;
  sets: PackageSet[];
}

interface PathState {
  kind: 'os' | 'application';
  /** consecutive writes at this path since it last appeared (bottom first); the last one is current */
  writes: Write[];
}

const identity = (p: Package): string => [p.type, p.name, p.epoch ?? '', p.version, p.release ?? '', p.arch ?? ''].join('\u0000');

const under = (path: string, dir: string): boolean => dir === '' || path.startsWith(`${dir}/`);

function deleteMatching(map: Map<string, PathState>, doomed: (path: string) => boolean): void {
  for (const path of [...map.keys()]) if (doomed(path)) map.delete(path);
}

/**
 * Merges per-layer results bottom-up into the image's inventory, with overlay semantics:
 * - `.wh.<name>` deletes <name> and everything below it from lower layers; `.wh..wh..opq` empties
 *   its directory in lower layers. Deleted DB files and manifests take their package sets along,
 *   and the OS facts go when their release file goes.
 * - A layer that writes a DB file or manifest replaces the lower layer's sets at that path wholesale;
 *   separate files (dpkg status.d/*, node_modules/x/package.json) merge path by path.
 * - Each final package is attributed to the lowest layer of an unbroken run of layers that all
 *   listed the identical package (name, epoch, version, release, arch) at the same path.
 */
export function mergeLayers(layers: LayerInput[]): ImageInventory {
  const paths = new Map<string, PathState>();
  let os: { info: OsInfo; path: string | undefined } | undefined;
  const warnings: AnalyzerWarning[] = [];

  layers.forEach(({ ref, result }, index) => {
    if (result.diffId !== ref.diffId) {
      throw new Error(`layer ${index + 1} (${ref.digest}): result is for diffID ${result.diffId}, the image says ${ref.diffId}`);
    }
    for (const w of result.whiteouts) {
      deleteMatching(paths, (p) => p === w || under(p, w));
      if (os?.path !== undefined && (os.path === w || under(os.path, w))) os = undefined;
    }
    for (const d of result.opaqueDirs) {
      deleteMatching(paths, (p) => under(p, d));
      if (os?.path !== undefined && under(os.path, d)) os = undefined;
    }
    const written = new Map<string, { kind: 'os' | 'application'; sets: PackageSet[] }>();
    for (const [kind, list] of [['os', result.packageSets], ['application', result.applications]] as const) {
      for (const set of list) {
        const entry = written.get(set.path) ?? { kind, sets: [] };
        entry.sets.push(set);
        written.set(set.path, entry);
      }
    }
    for (const [path, { kind, sets }] of written) {
      const state = paths.get(path);
      const write: Write = { layer: index, sets };
      if (state && state.kind === kind) state.writes.push(write);
      else paths.set(path, { kind, writes: [write] });
    }
    if (result.os) os = { info: result.os, path: result.osPath };
    for (const w of result.warnings) warnings.push(w.layerDigest ? w : { ...w, layerDigest: ref.digest });
  });

  const refs = layers.map((l) => l.ref);
  preferSqliteRpmdb(paths, warnings);

  const finalOs = os ? { ...os.info } : undefined;
  if (finalOs && finalOs.family === 'debian' && !paths.has('var/lib/dpkg/status') && [...paths.keys()].some((p) => p.startsWith('var/lib/dpkg/status.d/'))) {
    finalOs.distroless = true;
  }

  const osPackages: InventoryPackage[] = [];
  const applications: InventorySet[] = [];
  for (const path of [...paths.keys()].sort()) {
    const state = paths.get(path)!;
    const top = state.writes[state.writes.length - 1]!;
    for (const set of top.sets) {
      const packages = set.packages.map((pkg): InventoryPackage => {
        const id = identity(pkg);
        let lowest = state.writes.length - 1;
        while (lowest > 0 && state.writes[lowest - 1]!.sets.some((s) => s.analyzer === set.analyzer && s.packages.some((p) => identity(p) === id))) lowest--;
        const layer = refs[state.writes[lowest]!.layer]!;
        const out: InventoryPackage = { ...pkg, layer, setPath: path };
        if (state.kind === 'os') out.purl = osPackagePurl(pkg, finalOs);
        return out;
      });
      if (state.kind === 'os') osPackages.push(...packages);
      else applications.push({ path, analyzer: set.analyzer, type: set.type, packages });
    }
  }

  const inventory: ImageInventory = { osPackages, applications, layers: refs, warnings };
  if (finalOs) inventory.os = finalOs;
  return inventory;
}

/**
 * rpm reads one backend. When a directory holds both rpmdb.sqlite and a BerkeleyDB `Packages`
 * (a converted database keeps the old file), the sqlite one is current.
 */
function preferSqliteRpmdb(paths: Map<string, PathState>, warnings: AnalyzerWarning[]): void {
  for (const path of [...paths.keys()]) {
    if (!path.endsWith('/Packages')) continue;
    const sqlite = `${path.slice(0, -'Packages'.length)}rpmdb.sqlite`;
    if (!paths.has(sqlite)) continue;
    paths.delete(path);
    warnings.push({ analyzer: 'rpm', path, message: `both ${sqlite} and the BerkeleyDB ${path} exist; reporting the sqlite database` });
  }
}
