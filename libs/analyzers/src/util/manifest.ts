import type { Package, PackageType } from '@strata/model';
import type { Analyzer, AnalyzerContext, AnalyzerFile, AnalyzerOutput } from '../types.js';
import { manifestText, parseJsonBounded, Problems } from './json.js';
import { contentBuffer } from './stream.js';

/** Largest JSON/XML/TOML manifest or lock file read (a .deps.json of a big app is a few MB). */
export const MAX_MANIFEST_BYTES = 32 * 1024 * 1024;

/**
 * Collects the packages of one manifest: bounded in number (limits.maxPackagesPerDatabase; past it
 * one warning counts the rest) and without duplicates (same name and version).
 */
export class PackageList {
  readonly packages: Package[] = [];
  private readonly seen = new Set<string>();
  private dropped = 0;

  constructor(private readonly max: number) {}

  add(pkg: Package): void {
    const key = `${pkg.name}\u0000${pkg.version}`;
    if (this.seen.has(key)) return;
    if (this.packages.length >= this.max) {
      this.dropped++;
      return;
    }
    this.seen.add(key);
    this.packages.push(pkg);
  }

  note(problems: Problems): void {
    if (this.dropped > 0) problems.add(`more than ${this.max} packages; ${this.dropped} more are NOT in this report`);
  }
}

/** The output of a manifest analyzer: one set at the file's path (empty when nothing was read), one warning per kind of problem. */
export function manifestOutput(
  analyzer: string,
  type: PackageType,
  path: string,
  list: PackageList | undefined,
  problems: Problems,
  fatal?: string,
): AnalyzerOutput {
  list?.note(problems);
  const warnings = problems.warnings(path);
  if (fatal !== undefined) warnings.unshift({ path, message: fatal });
  const out: AnalyzerOutput = { applications: [{ path, analyzer, type, packages: list?.packages ?? [] }] };
  if (warnings.length > 0) out.warnings = warnings;
  return out;
}

/** Reads one manifest's content into `list`: returns why the whole file is not read, or undefined. */
export type ReadManifest<T> = (content: T, filePath: string, list: PackageList, problems: Problems) => string | undefined;

const manifestBuffer = async (file: AnalyzerFile, ctx: AnalyzerContext, problems: Problems): Promise<string> =>
  manifestText(await contentBuffer(file.content, Math.min(ctx.limits.maxBufferedFile, MAX_MANIFEST_BYTES), file.path), problems);

/** Reads a text manifest (bounded in size, UTF-8 checked) and hands its text to `read`. */
export async function analyzeTextManifest(
  file: AnalyzerFile,
  ctx: AnalyzerContext,
  analyzer: string,
  type: PackageType,
  read: ReadManifest<string>,
): Promise<AnalyzerOutput> {
  const problems = new Problems();
  const text = await manifestBuffer(file, ctx, problems);
  const list = new PackageList(ctx.limits.maxPackagesPerDatabase);
  const fatal = read(text, file.path, list, problems);
  return manifestOutput(analyzer, type, file.path, list, problems, fatal);
}

/**
 * Reads a JSON manifest (bounded in size and depth, UTF-8 checked) and hands its value to `read`;
 * an unreadable file gives one warning and an empty set, so it still replaces a lower layer's set.
 */
export async function analyzeJsonManifest(
  file: AnalyzerFile,
  ctx: AnalyzerContext,
  analyzer: string,
  type: PackageType,
  read: ReadManifest<unknown>,
): Promise<AnalyzerOutput> {
  const problems = new Problems();
  const parsed = parseJsonBounded(await manifestBuffer(file, ctx, problems));
  if ('error' in parsed) return manifestOutput(analyzer, type, file.path, undefined, problems, parsed.error);
  const list = new PackageList(ctx.limits.maxPackagesPerDatabase);
  const fatal = read(parsed.value, file.path, list, problems);
  return manifestOutput(analyzer, type, file.path, list, problems, fatal);
}

/** What a manifest analyzer is: its name and version, the files it reads, the packages' type, how it reads one file. */
export type ManifestAnalyzerSpec = { type: string; version: number; path: RegExp; produces: PackageType } & (
  | { json: ReadManifest<unknown> }
  | { text: ReadManifest<string> }
);

/** An analyzer of one kind of package manifest (a lock file, an installed-package record), at most MAX_MANIFEST_BYTES. */
export function manifestAnalyzer(spec: ManifestAnalyzerSpec): Analyzer {
  return {
    type: spec.type,
    version: spec.version,
    required: (path) => spec.path.test(path),
    maxSize: () => MAX_MANIFEST_BYTES,
    produces: { kind: 'application', type: spec.produces },
    analyze: (file, ctx) =>
      'json' in spec
        ? analyzeJsonManifest(file, ctx, spec.type, spec.produces, spec.json)
        : analyzeTextManifest(file, ctx, spec.type, spec.produces, spec.text),
  };
}
