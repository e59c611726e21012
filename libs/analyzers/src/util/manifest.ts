import type { Package, PackageType } from '@strata/model';
import type { AnalyzerContext, AnalyzerFile, AnalyzerOutput } from '../types.js';
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

/**
 * Reads a JSON manifest (bounded in size and depth, UTF-8 checked) and hands its value to `read`;
 * an unreadable file gives one warning and an empty set, so it still replaces a lower layer's set.
 */
export async function analyzeJsonManifest(
  file: AnalyzerFile,
  ctx: AnalyzerContext,
  analyzer: string,
  type: PackageType,
  read: (value: unknown, list: PackageList, problems: Problems) => string | undefined,
): Promise<AnalyzerOutput> {
  const problems = new Problems();
  const text = manifestText(await contentBuffer(file.content, Math.min(ctx.limits.maxBufferedFile, MAX_MANIFEST_BYTES), file.path), problems);
  const parsed = parseJsonBounded(text);
  if ('error' in parsed) return manifestOutput(analyzer, type, file.path, undefined, problems, parsed.error);
  const list = new PackageList(ctx.limits.maxPackagesPerDatabase);
  const fatal = read(parsed.value, list, problems);
  return manifestOutput(analyzer, type, file.path, list, problems, fatal);
}
