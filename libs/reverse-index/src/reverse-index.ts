// The reverse index: (ecosystem key, package name) → the images that hold the package, with the
// installed version, the path it was listed at and the layer it came from.
//
// Many images hold the very same package (every Debian 12 image has the same libc6), so packages
// are interned as "units" — the package without its per-image facts (layer, paths) plus the OS
// it is matched under — and a re-match evaluates each unit once, however many images share it.
// Postings are packed numbers (image slot, unit, layer, path), not objects: 10,000 images of a
// few hundred packages each stay in tens of megabytes.
import { ecosystemKey, normalizePackageName, osEcosystems, packageEcosystem, type AdvisoryIndex } from '@strata/advisories';
import { installedVersionOf, matchInventory, type Finding } from '@strata/matcher';
import type { ImageInventory, InventoryPackage, LayerRef, OsInfo, PackageType } from '@strata/model';
import { languageEcosystemKey, osEcosystemKey, packageKey, summarizeFindings, type FindingSummary } from './summary.js';

/** The facts about an indexed image that answers name (no packages: those are in the postings). */
export interface IndexedImage {
  manifestDigest: string;
  imageRef: string;
  indexDigest?: string;
  platform?: { os: string; architecture: string; variant?: string };
  /** where the inventory is stored: putting the same one again is a no-op */
  inventoryKey?: string;
}

/** A package as many images share it: matched once per re-match. */
interface Unit {
  pkg: InventoryPackage;
  /** the OS an OS package is matched under; undefined for language packages */
  os?: OsInfo;
  /** the ecosystem key findings of this unit are reported under */
  ecosystem: string;
  /** packageKey(ecosystem, name, installed version) */
  key: string;
}

/** One image holding one package. */
export interface PackageHolding {
  image: IndexedImage;
  ecosystem: string;
  name: string;
  installedVersion: string;
  /** the package DB or manifest the package was listed in */
  path: string;
  layer: LayerRef;
}

export interface ReverseIndexStats {
  images: number;
  /** distinct (package, version, OS) units */
  units: number;
  /** (ecosystem, name) keys */
  keys: number;
  /** image × package postings, live ones */
  postings: number;
}

export interface AffectedImage {
  image: IndexedImage;
  /** package keys (see packageKey) of the image's packages the query touched */
  packages: Set<string>;
  /** the current findings of those packages */
  findings: FindingSummary[];
  /** where the image holds them (a package at two paths is two holdings) */
  holdings: PackageHolding[];
}

const FIELDS = 4; // slot, unit, layer, path
const NO_LAYER: LayerRef = { digest: '', diffId: '' };

const pairKey = (ecosystem: string, name: string): string => `${ecosystem}\u0000${name}`;

/** The (ecosystem key, name) pairs the advisory index files a package under, as the matcher looks it up. */
function lookups(pkg: InventoryPackage, os: OsInfo | undefined): [string, string][] {
  if (os) {
    const names = pkg.type === 'rpm' ? [pkg.name, ...(pkg.srcName && pkg.srcName !== pkg.name ? [pkg.srcName] : [])] : [pkg.srcName || pkg.name];
    return osEcosystems(os).flatMap((e) => names.map((n): [string, string] => [ecosystemKey(e), n]));
  }
  const ecosystem = packageEcosystem(pkg.type);
  return ecosystem ? [[ecosystemKey(ecosystem), normalizePackageName(ecosystem, pkg.name)]] : [];
}

const lookupPairs = (pkg: InventoryPackage, os: OsInfo | undefined): string[] => lookups(pkg, os).map(([e, n]) => pairKey(e, n));

/**
 * What makes two packages the same unit: every field matching and summaries read (names, versions,
 * epochs, releases and the OS). Fields they do not read (licenses, arch, purl) may differ.
 */
function unitKey(pkg: InventoryPackage, os: OsInfo | undefined): string {
  return [
    os ? `${os.family}:${os.name}` : '',
    pkg.type,
    pkg.name,
    pkg.version,
    pkg.epoch ?? '',
    pkg.release ?? '',
    pkg.srcName ?? '',
    pkg.srcVersion ?? '',
    pkg.srcEpoch ?? '',
    pkg.srcRelease ?? '',
  ].join('\u0000');
}

/** The package without what differs between images holding it. */
function shared(pkg: InventoryPackage): InventoryPackage {
  const { layer: _layer, setPath: _setPath, filePath: _filePath, ...rest } = pkg;
  return { ...rest, layer: NO_LAYER, setPath: '' };
}

/** One package of an inventory, as the reverse index and the findings DB (libs/findings-db) file it. */
export interface PackagePosting {
  /** what makes two packages (in any inventories) the same: one unit, matched once */
  unitKey: string;
  /** the package without what differs between images holding it (layer, paths) */
  pkg: InventoryPackage;
  /** the OS an OS package is matched under; undefined for language packages */
  os?: OsInfo;
  /** the ecosystem key findings of the package are reported under */
  ecosystem: string;
  name: string;
  installedVersion: string;
  /** the (ecosystem key, name) pairs the advisory index files the package under */
  lookups: [string, string][];
  /** the package DB or manifest the package was listed in */
  path: string;
  layer: LayerRef;
}

/** Every package of an inventory the reverse index would post (unversioned language packages are left out). */
export function packagePostings(inventory: ImageInventory): PackagePosting[] {
  const out: PackagePosting[] = [];
  const add = (pkg: InventoryPackage, os: OsInfo | undefined, path: string): void => {
    if (!os && (!pkg.version || pkg.version === '(devel)')) return;
    const ecosystem = os ? osEcosystemKey(os) : languageEcosystemKey(pkg.type);
    out.push({
      unitKey: unitKey(pkg, os),
      pkg: shared(pkg),
      ...(os ? { os } : {}),
      ecosystem,
      name: pkg.name,
      installedVersion: installedVersionOf(pkg),
      lookups: lookups(pkg, os),
      path,
      layer: pkg.layer,
    });
  };
  for (const pkg of inventory.osPackages) add(pkg, inventory.os, pkg.setPath);
  for (const set of inventory.applications) for (const pkg of set.packages) add(pkg, undefined, pkg.filePath ?? set.path);
  return out;
}

class Interner<T> {
  readonly values: T[] = [];
  private readonly ids = new Map<string, number>();
  id(key: string, make: () => T): number {
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(make());
      this.ids.set(key, id);
    }
    return id;
  }
}

/** Matches units against the index, each once: one synthetic inventory per OS (and one for language packages). */
function matchUnits<K>(
  units: readonly (readonly [K, Pick<Unit, 'pkg' | 'os'>])[],
  index: AdvisoryIndex,
  onlyRecords: ReadonlySet<string> | undefined,
): Map<K, FindingSummary[]> {
  const idOf = new Map<InventoryPackage, K>();
  const osOf = new Map<K, OsInfo | undefined>();
  const groups = new Map<string, { os?: OsInfo; os_pkgs: InventoryPackage[]; apps: Map<PackageType, InventoryPackage[]> }>();
  for (const [id, unit] of units) {
    idOf.set(unit.pkg, id);
    osOf.set(id, unit.os);
    const groupKey = unit.os ? `${unit.os.family}:${unit.os.name}` : '';
    let group = groups.get(groupKey);
    if (!group) groups.set(groupKey, (group = { ...(unit.os ? { os: unit.os } : {}), os_pkgs: [], apps: new Map() }));
    if (unit.os) group.os_pkgs.push(unit.pkg);
    else {
      const list = group.apps.get(unit.pkg.type);
      if (list) list.push(unit.pkg);
      else group.apps.set(unit.pkg.type, [unit.pkg]);
    }
  }
  const found = new Map<K, Finding[]>();
  for (const group of groups.values()) {
    const inventory: ImageInventory = {
      ...(group.os ? { os: group.os } : {}),
      osPackages: group.os_pkgs,
      applications: [...group.apps].map(([type, packages]) => ({ path: '', analyzer: 'reverse-index', type, packages })),
      layers: [],
      warnings: [],
    };
    for (const f of matchInventory(inventory, index, onlyRecords ? { onlyRecords } : {}).findings) {
      const id = idOf.get(f.pkg);
      if (id === undefined) continue;
      const list = found.get(id);
      if (list) list.push(f);
      else found.set(id, [f]);
    }
  }
  const out = new Map<K, FindingSummary[]>();
  for (const [id, findings] of found) out.set(id, summarizeFindings(findings, osOf.get(id)));
  return out;
}

/** One image holding one package unit, as a store of postings (the findings DB) answers it. */
export interface UnitHolding extends PackageHolding {
  /** PackagePosting.unitKey */
  unitKey: string;
  /** the shared package (no layer, no paths) and the OS it is matched under */
  pkg: InventoryPackage;
  os?: OsInfo;
}

/** The current findings of each package (keyed by its unitKey), each matched once: for holdings answered page by page. */
export function matchPackages(
  units: readonly { unitKey: string; pkg: InventoryPackage; os?: OsInfo }[],
  index: AdvisoryIndex,
  onlyRecords?: ReadonlySet<string>,
): Map<string, FindingSummary[]> {
  return matchUnits(
    units.map((u) => [u.unitKey, u] as const),
    index,
    onlyRecords,
  );
}

/**
 * ReverseIndex.rematch over holdings from elsewhere (the findings DB): each distinct unit is
 * matched once, and every image gets the current findings of the packages it holds.
 */
export function rematchHoldings(holdings: Iterable<UnitHolding>, index: AdvisoryIndex, onlyRecords?: ReadonlySet<string>): Map<string, AffectedImage> {
  const units = new Map<string, UnitHolding>();
  const byImage = new Map<string, { image: IndexedImage; units: Set<string>; holdings: PackageHolding[] }>();
  for (const h of holdings) {
    if (!units.has(h.unitKey)) units.set(h.unitKey, h);
    let entry = byImage.get(h.image.manifestDigest);
    if (!entry) byImage.set(h.image.manifestDigest, (entry = { image: h.image, units: new Set(), holdings: [] }));
    if (!entry.units.has(h.unitKey)) {
      entry.units.add(h.unitKey);
      entry.holdings.push({ image: entry.image, ecosystem: h.ecosystem, name: h.name, installedVersion: h.installedVersion, path: h.path, layer: h.layer });
    }
  }
  const findingsOfUnit = matchUnits([...units], index, onlyRecords);
  const out = new Map<string, AffectedImage>();
  for (const { image, units: held, holdings: list } of byImage.values()) {
    const packages = new Set<string>();
    const findings: FindingSummary[] = [];
    for (const key of held) {
      const unit = units.get(key) as UnitHolding;
      const pk = packageKey(unit.ecosystem, unit.name, unit.installedVersion);
      if (packages.has(pk)) continue;
      packages.add(pk);
      for (const f of findingsOfUnit.get(key) ?? []) findings.push(f);
    }
    out.set(image.manifestDigest, { image, packages, findings, holdings: list });
  }
  return out;
}

export class ReverseIndex {
  private readonly slots: (IndexedImage | undefined)[] = [];
  private readonly slotOf = new Map<string, number>();
  private readonly units = new Interner<Unit>();
  private readonly unitPairs: string[][] = [];
  private readonly layers = new Interner<LayerRef>();
  private readonly paths = new Interner<string>();
  private readonly postings = new Map<string, number[]>();
  private livePostings = 0;
  private deadPostings = 0;

  /** Indexes (or re-indexes) an image's inventory; the previous inventory of the digest is dropped. */
  put(image: IndexedImage, inventory: ImageInventory): void {
    const had = this.image(image.manifestDigest);
    if (had && had.inventoryKey !== undefined && had.inventoryKey === image.inventoryKey) return;
    this.remove(image.manifestDigest);
    const slot = this.slots.length;
    this.slots.push(image);
    this.slotOf.set(image.manifestDigest, slot);
    const add = (pkg: InventoryPackage, os: OsInfo | undefined, path: string): void => {
      if (!os && (!pkg.version || pkg.version === '(devel)')) return;
      const unitId = this.units.id(unitKey(pkg, os), () => {
        const ecosystem = os ? osEcosystemKey(os) : languageEcosystemKey(pkg.type);
        return { pkg: shared(pkg), ...(os ? { os } : {}), ecosystem, key: packageKey(ecosystem, pkg.name, installedVersionOf(pkg)) };
      });
      this.unitPairs[unitId] ??= lookupPairs(pkg, os);
      const layerId = this.layers.id(`${pkg.layer.digest}\u0000${pkg.layer.diffId}`, () => pkg.layer);
      const pathId = this.paths.id(path, () => path);
      for (const pair of this.unitPairs[unitId] as string[]) {
        let list = this.postings.get(pair);
        if (!list) this.postings.set(pair, (list = []));
        list.push(slot, unitId, layerId, pathId);
        this.livePostings++;
      }
    };
    for (const pkg of inventory.osPackages) add(pkg, inventory.os, pkg.setPath);
    for (const set of inventory.applications) for (const pkg of set.packages) add(pkg, undefined, pkg.filePath ?? set.path);
  }

  remove(manifestDigest: string): void {
    const slot = this.slotOf.get(manifestDigest);
    if (slot === undefined) return;
    this.slots[slot] = undefined;
    this.slotOf.delete(manifestDigest);
    let dropped = 0;
    for (const list of this.postings.values()) for (let i = 0; i < list.length; i += FIELDS) if (list[i] === slot) dropped++;
    this.livePostings -= dropped;
    this.deadPostings += dropped;
    if (this.deadPostings > this.livePostings) this.compact();
  }

  has(manifestDigest: string): boolean {
    return this.slotOf.has(manifestDigest);
  }

  image(manifestDigest: string): IndexedImage | undefined {
    const slot = this.slotOf.get(manifestDigest);
    return slot === undefined ? undefined : this.slots[slot];
  }

  digests(): string[] {
    return [...this.slotOf.keys()];
  }

  stats(): ReverseIndexStats {
    return { images: this.slotOf.size, units: this.units.values.length, keys: this.postings.size, postings: this.livePostings };
  }

  /** Every image holding a package filed under (ecosystem key, name), any version. */
  holdings(ecosystem: string, name: string): PackageHolding[] {
    const out: PackageHolding[] = [];
    this.scan([pairKey(ecosystem, name)], (image, unit, layer, path) => {
      out.push({ image, ecosystem: unit.ecosystem, name: unit.pkg.name, installedVersion: installedVersionOf(unit.pkg), path, layer });
    });
    return out;
  }

  /**
   * The images holding any of `pairs` ([ecosystem key, name], as a DatabaseDiff lists them), with
   * the current findings of those packages under `index`: each distinct package is matched once.
   * The findings cover every advisory of the package, not only the changed ones, so they can
   * replace the package's part of an image's findings state exactly.
   */
  rematch(pairs: readonly (readonly [string, string])[], index: AdvisoryIndex, onlyRecords?: ReadonlySet<string>): Map<string, AffectedImage> {
    const bySlot = new Map<number, { units: Set<number>; holdings: PackageHolding[] }>();
    const touched = new Set<number>();
    this.scan(
      pairs.map(([e, n]) => pairKey(e, n)),
      (image, unit, layer, path, slot, unitId) => {
        touched.add(unitId);
        let entry = bySlot.get(slot);
        if (!entry) bySlot.set(slot, (entry = { units: new Set(), holdings: [] }));
        if (!entry.units.has(unitId)) {
          entry.units.add(unitId);
          entry.holdings.push({ image, ecosystem: unit.ecosystem, name: unit.pkg.name, installedVersion: installedVersionOf(unit.pkg), path, layer });
        }
      },
    );
    const findingsOfUnit = this.matchUnits([...touched], index, onlyRecords);
    const out = new Map<string, AffectedImage>();
    for (const [slot, { units, holdings }] of bySlot) {
      const image = this.slots[slot] as IndexedImage;
      const packages = new Set<string>();
      const findings: FindingSummary[] = [];
      for (const id of units) {
        const unit = this.units.values[id] as Unit;
        if (packages.has(unit.key)) continue;
        packages.add(unit.key);
        for (const f of findingsOfUnit.get(id) ?? []) findings.push(f);
      }
      out.set(image.manifestDigest, { image, packages, findings, holdings });
    }
    return out;
  }

  private matchUnits(unitIds: number[], index: AdvisoryIndex, onlyRecords: ReadonlySet<string> | undefined): Map<number, FindingSummary[]> {
    return matchUnits(
      unitIds.map((id) => [id, this.units.values[id] as Unit]),
      index,
      onlyRecords,
    );
  }

  private scan(keys: string[], visit: (image: IndexedImage, unit: Unit, layer: LayerRef, path: string, slot: number, unitId: number) => void): void {
    for (const key of new Set(keys)) {
      const list = this.postings.get(key);
      if (!list) continue;
      for (let i = 0; i < list.length; i += FIELDS) {
        const image = this.slots[list[i] as number];
        if (!image) continue;
        const unitId = list[i + 1] as number;
        visit(
          image,
          this.units.values[unitId] as Unit,
          this.layers.values[list[i + 2] as number] as LayerRef,
          this.paths.values[list[i + 3] as number] as string,
          list[i] as number,
          unitId,
        );
      }
    }
  }

  private compact(): void {
    for (const [key, list] of this.postings) {
      const kept: number[] = [];
      for (let i = 0; i < list.length; i += FIELDS)
        if (this.slots[list[i] as number]) kept.push(list[i] as number, list[i + 1] as number, list[i + 2] as number, list[i + 3] as number);
      if (kept.length === 0) this.postings.delete(key);
      else this.postings.set(key, kept);
    }
    this.deadPostings = 0;
  }
}
