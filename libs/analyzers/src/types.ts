import type { Readable } from 'node:stream';
import type { OsInfo, PackageSet, PackageType } from '@strata/model';

/** Bounds for what an analyzer may read, buffer or unpack. All sizes in bytes. */
export interface AnalyzerLimits {
  /** largest file handed to an analyzer as an in-memory Buffer (package DBs, manifests) */
  maxBufferedFile: number;
  /** largest ELF file the Go binary analyzer inspects */
  maxBinarySize: number;
  /** ELF files up to this size are held in memory; bigger ones are spooled to a temp file */
  maxInMemoryBinary: number;
  /**
   * Java archives (outer or nested) up to this size are read into memory and opened there; bigger
   * ones are spooled to a temp file (one in-memory copy per nesting level at most)
   */
  maxInMemoryArchive: number;
  /** largest Java archive (outer or nested) spooled to a temp file */
  maxArchiveSize: number;
  /** total uncompressed bytes read out of one top-level archive, nested ones included */
  maxArchiveUncompressed: number;
  /** entries looked at in one top-level archive, nested ones included */
  maxArchiveEntries: number;
  /** how deep nested archives are opened (the outer archive is depth 0) */
  maxArchiveDepth: number;
  /** bytes read from one small file inside an archive (pom.properties, MANIFEST.MF) */
  maxArchiveMetadataFile: number;
  /** packages kept from one package database (dpkg status, apk installed); past it a warning counts the rest */
  maxPackagesPerDatabase: number;
}

export const DEFAULT_ANALYZER_LIMITS: AnalyzerLimits = {
  maxBufferedFile: 256 * 1024 * 1024,
  maxBinarySize: 1024 * 1024 * 1024,
  maxInMemoryBinary: 8 * 1024 * 1024,
  maxInMemoryArchive: 8 * 1024 * 1024,
  maxArchiveSize: 512 * 1024 * 1024,
  maxArchiveUncompressed: 1024 * 1024 * 1024,
  maxArchiveEntries: 200_000,
  maxArchiveDepth: 4,
  maxArchiveMetadataFile: 1024 * 1024,
  maxPackagesPerDatabase: 200_000,
};

/** Facts about a file, as the layer walk sees them before reading it. */
export interface FileInfo {
  size: number;
  mode: number;
}

/** A file handed to an analyzer: a Buffer for small files, a stream for big ones (see `input`). */
export interface AnalyzerFile {
  path: string;
  content: Readable | Buffer;
  size: number;
  mode: number;
}

/** A file collected for a post-step analyzer: always buffered. */
export interface CollectedFile {
  path: string;
  content: Buffer;
  size: number;
  mode: number;
}

export interface AnalyzerContext {
  /** human label of the layer (for messages), e.g. "layer 2/5 sha256:ab12…" */
  layer?: string;
  limits: AnalyzerLimits;
  /** a private temp directory for this layer's analysis; removed when the layer is done */
  tmpDir: string;
  signal?: AbortSignal;
}

export interface AnalyzerWarningOut {
  path: string;
  message: string;
}

export interface AnalyzerOutput {
  os?: OsInfo;
  /** the release file the OS facts came from */
  osPath?: string;
  /** OS package databases */
  packageSets?: PackageSet[];
  /** language package manifests and binaries */
  applications?: PackageSet[];
  /** every release file that stated OS facts (the merge chooses among them across layers) */
  osFiles?: Array<{ path: string; os: OsInfo }>;
  warnings?: AnalyzerWarningOut[];
}

interface AnalyzerBase {
  /** unique name, e.g. "dpkg"; appears in warnings and in the analyzer-set version */
  type: string;
  /** bump whenever the output for the same input can change; invalidates cached layer results */
  version: number;
  /** does this analyzer want the file? Only the path and size/mode are known at this point. */
  required(path: string, info: FileInfo): boolean;
  /**
   * 'buffer' (default): content arrives as a Buffer (files above limits.maxBufferedFile are refused with a warning).
   * 'stream': content arrives as a Readable the analyzer must consume (or a Buffer when shared).
   */
  input?: 'buffer' | 'stream';
  /** largest file this analyzer accepts; bigger files are skipped with a warning */
  maxSize?(limits: AnalyzerLimits): number;
  /**
   * Where this analyzer's package sets go. When it fails on a file, an empty set of this kind
   * is recorded for that path, so the unreadable file still replaces a lower layer's set.
   */
  produces?: { kind: 'os' | 'application'; type: PackageType };
  /**
   * Fixed paths where the package manager (or the OS) reads this analyzer's files. Links at these
   * paths, at their parent directories and at any path this analyzer requires are followed the way
   * the package manager would see them: hard links within the layer, symlinks in the merged image.
   */
  locations?: readonly string[];
}

/** Analyzes one file at a time. */
export interface Analyzer extends AnalyzerBase {
  analyze(file: AnalyzerFile, ctx: AnalyzerContext): Promise<AnalyzerOutput | undefined>;
}

/** Collects every required file of a layer, then analyzes them together once the walk is over. */
export interface PostAnalyzer extends AnalyzerBase {
  postAnalyze(files: CollectedFile[], ctx: AnalyzerContext): Promise<AnalyzerOutput | undefined>;
}

export type AnyAnalyzer = Analyzer | PostAnalyzer;

export function isPostAnalyzer(a: AnyAnalyzer): a is PostAnalyzer {
  return typeof (a as PostAnalyzer).postAnalyze === 'function';
}
