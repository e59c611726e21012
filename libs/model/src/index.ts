// Domain types shared by the analyzers, the overlay merge, the matcher and the reports.
// Everything here is plain JSON-serialisable data: layer results and inventories are stored
// in the blob store and travel between services by reference.

export type Severity = 'UNKNOWN' | 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';
export const SEVERITIES: readonly Severity[] = ['UNKNOWN', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];

export type SeverityCounts = Record<Lowercase<Severity>, number>;

/** Findings per severity (unfiltered). */
export function severityCounts(findings: readonly { severity: Severity }[]): SeverityCounts {
  const counts: SeverityCounts = { unknown: 0, low: 0, medium: 0, high: 0, critical: 0 };
  for (const f of findings) counts[f.severity.toLowerCase() as Lowercase<Severity>]++;
  return counts;
}

/** OS family names, as Trivy spells them where it has one. */
export type OsFamily =
  | 'debian'
  | 'ubuntu'
  | 'alpine'
  | 'redhat'
  | 'centos'
  | 'rocky'
  | 'alma'
  | 'fedora'
  | 'amazon'
  | 'oracle'
  | 'suse linux enterprise server'
  | 'opensuse-leap'
  | 'opensuse-tumbleweed'
  | 'photon'
  | 'wolfi'
  | 'chainguard'
  | 'azurelinux'
  | 'cbl-mariner';

export interface OsInfo {
  family: OsFamily;
  /** VERSION_ID-like version, e.g. "12", "3.20.3", "9.4" */
  name: string;
  prettyName?: string;
  codename?: string;
  /** true for distroless Debian images (dpkg status.d without a full status file) */
  distroless?: boolean;
}

/**
 * Package types. OS: dpkg, apk, rpm. Language: npm, pypi, gobinary (Go modules), jar (Maven),
 * cargo (crates.io: Cargo.lock and cargo-auditable binaries), composer (Packagist), gem (RubyGems),
 * nuget (NuGet: .deps.json, packages.lock.json, packages.config), conda (conda-meta records).
 */
export type PackageType = 'dpkg' | 'apk' | 'rpm' | 'npm' | 'pypi' | 'gobinary' | 'jar' | 'cargo' | 'composer' | 'gem' | 'nuget' | 'conda';
export const OS_PACKAGE_TYPES: readonly PackageType[] = ['dpkg', 'apk', 'rpm'];
export const LANGUAGE_PACKAGE_TYPES: readonly PackageType[] = ['npm', 'pypi', 'gobinary', 'jar', 'cargo', 'composer', 'gem', 'nuget', 'conda'];

/** Trivy's result Type for a language package set when its analyzer does not name one (see appTargetType). */
const DEFAULT_TARGET_TYPE: Record<PackageType, string> = {
  dpkg: 'dpkg',
  apk: 'apk',
  rpm: 'rpm',
  npm: 'node-pkg',
  pypi: 'python-pkg',
  gobinary: 'gobinary',
  jar: 'jar',
  cargo: 'cargo',
  composer: 'composer',
  gem: 'gemspec',
  nuget: 'nuget',
  conda: 'conda-pkg',
};

/**
 * Result Types (Trivy's names) of the language analyzers. An analyzer's name is its result Type, so
 * one package type can have several: cargo is `rustbinary` (binaries) or `cargo` (Cargo.lock),
 * composer is `composer-vendor` (installed.json) or `composer` (composer.lock), nuget is
 * `dotnet-core` (.deps.json) or `nuget` (packages.lock.json, packages.config).
 */
export const APP_TARGET_TYPES: readonly string[] = [
  'node-pkg',
  'python-pkg',
  'gobinary',
  'jar',
  'rustbinary',
  'cargo',
  'composer-vendor',
  'composer',
  'gemspec',
  'dotnet-core',
  'nuget',
  'conda-pkg',
];

/** The Trivy result Type of a language package set: its analyzer's name when that is one, else by package type. */
export function appTargetType(set: { type: PackageType; analyzer: string }): string {
  return APP_TARGET_TYPES.includes(set.analyzer) ? set.analyzer : DEFAULT_TARGET_TYPE[set.type];
}

export interface Package {
  type: PackageType;
  /** Binary package name; `group:artifact` for Maven; module path for Go; PEP 503-normalised for PyPI. */
  name: string;
  /** Version as the package manager prints it (dpkg: with epoch; rpm: version only, see epoch/release). */
  version: string;
  epoch?: number;
  release?: string;
  arch?: string;
  /** Source package (dpkg Source:, apk origin, rpm SOURCERPM name). Defaults to name/version. */
  srcName?: string;
  srcVersion?: string;
  srcEpoch?: number;
  srcRelease?: string;
  licenses?: string[];
  purl: string;
  /** Language packages: the file in the image that declared this package (manifest, binary, jar). */
  filePath?: string;
  /** Go binaries: true for the main module; 'stdlib' is reported as its own package. */
  isMainModule?: boolean;
  /**
   * What the analyzer could not know or had to guess about this package, for people, e.g. "groupId
   * unknown: the jar has no pom.properties and its manifest names no vendor". Bounded by the analyzer.
   */
  notes?: string[];
}

export interface AnalyzerWarning {
  analyzer: string;
  /** file in the layer the warning is about ('' when it concerns the whole layer) */
  path: string;
  message: string;
  /** set by the pipeline once the layer is known */
  layerDigest?: string;
  /** human label of the layer the warning came from (analyzeLayer's `label`), e.g. "layer 2/5 sha256:ab12…" */
  layer?: string;
}

/** The packages one database or manifest file declares. Keyed by its path inside the image. */
export interface PackageSet {
  path: string;
  analyzer: string;
  type: PackageType;
  packages: Package[];
}

/** What the analyzers found in a single layer, before any merge. */
export interface LayerResult {
  diffId: string;
  analyzerSetVersion: string;
  /** OS facts from release files in this layer (the top-most layer that has them wins in the merge) */
  os?: OsInfo;
  /** the release file the OS facts came from, so a whiteout of it can be honoured */
  osPath?: string;
  /** every release file of this layer with the OS facts it states; the merge picks by os-release(5) precedence */
  osFiles?: Array<{ path: string; os: OsInfo }>;
  /**
   * Entries at package-DB locations and their parent directories (and links at any path an OS
   * analyzer reads), so that the merge can follow symlinks and let a non-directory hide a lower tree.
   */
  entries?: LayerEntryNote[];
  /** OS package databases (dpkg status, status.d/* files, apk installed, rpmdb) */
  packageSets: PackageSet[];
  /** language package manifests and binaries */
  applications: PackageSet[];
  /** paths deleted from lower layers by `.wh.<name>` entries */
  whiteouts: string[];
  /** directories emptied in lower layers by `.wh..wh..opq` */
  opaqueDirs: string[];
  warnings: AnalyzerWarning[];
}

/** One tar entry the merge needs to know about (see LayerResult.entries). */
export interface LayerEntryNote {
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';
  /** symlinks: root-relative target, or the raw target when `targetEscapes`; hard links: the earlier entry of this layer */
  target?: string;
  /**
   * hard links: the analyzers that would read this path but found no analyzed file at the link's
   * target in this layer; the merge (or its second pass over the layer blob) reads the target for them
   */
  unread?: string[];
  /** the raw target climbs above the root (resolved as the kernel does: `..` stops at the root) */
  targetEscapes?: boolean;
}

export interface LayerRef {
  digest: string;
  diffId: string;
  size?: number;
  mediaType?: string;
  createdBy?: string;
}

export interface InventoryPackage extends Package {
  /** the lowest layer that holds this package (same name and version at the same path) */
  layer: LayerRef;
  /** path of the package set (DB file or manifest) it was listed in */
  setPath: string;
}

export interface InventorySet {
  path: string;
  analyzer: string;
  type: PackageType;
  packages: InventoryPackage[];
}

/** The overlay-correct package inventory of a whole image. */
export interface ImageInventory {
  os?: OsInfo;
  /** OS packages from every OS package DB set left in the final filesystem */
  osPackages: InventoryPackage[];
  /** language package sets left in the final filesystem, one per manifest/binary */
  applications: InventorySet[];
  layers: LayerRef[];
  warnings: AnalyzerWarning[];
}

/** Image facts gathered while resolving it (registry, OCI layout or docker archive). */
export interface ImageMetadata {
  /** what the user asked for */
  reference: string;
  manifestDigest: string;
  /** digest of the index the manifest was picked from, if any */
  indexDigest?: string;
  /** config digest (Trivy's ImageID) */
  configDigest: string;
  platform?: { os: string; architecture: string; variant?: string };
  repoTags: string[];
  repoDigests: string[];
  diffIds: string[];
  layers: LayerRef[];
  /** the image config JSON (created, architecture, os, config, history, rootfs) */
  config: Record<string, unknown>;
}

export { boundImageConfig, jsonNestsDeeperThan, MAX_CONFIG_DEPTH, MAX_CONFIG_ITEMS, MAX_CONFIG_STRING } from './image-config.js';
export { forEachLimited } from './limited.js';
export { resolveNumericLimits } from './limits.js';
export { readAt } from './read-at.js';
