import type { Package } from '@strata/model';
import { purl } from '../purl.js';
import { checkName, checkVersion, manifestText, Problems } from '../util/json.js';
import { forEachLineOfText } from '../util/lines.js';
import { manifestOutput, MAX_MANIFEST_BYTES, PackageList } from '../util/manifest.js';
import { contentBuffer } from '../util/stream.js';
import type { Analyzer, AnalyzerOutput } from '../types.js';

const CARGO_LOCK = /(?:^|\/)Cargo\.lock$/;
/** crates.io's name rule (ASCII letters, digits, "_" and "-"); local crates follow it too. */
export const CRATE_NAME = /^[A-Za-z0-9_-]+$/;
const MAX_LINE = 64 * 1024;

export const cargoPurl = (name: string, version: string): string => purl('cargo', undefined, name, version);

export function cratePackage(rawName: string | undefined, rawVersion: string | undefined, filePath: string, problems: Problems): Package | undefined {
  const name = checkName(rawName, CRATE_NAME, 'crate');
  if ('why' in name) {
    problems.add(`${name.why}; skipped`, rawName);
    return undefined;
  }
  const version = checkVersion(rawVersion);
  if ('why' in version) {
    problems.add(`${version.why}; skipped`, name.ok);
    return undefined;
  }
  return { type: 'cargo', name: name.ok, version: version.ok, purl: cargoPurl(name.ok, version.ok), filePath };
}

/** A TOML basic or literal string value, or undefined for anything else. */
function tomlString(value: string): string | undefined {
  const basic = /^"((?:[^"\\]|\\.)*)"\s*(?:#.*)?$/.exec(value);
  if (basic) {
    return basic[1]!.replace(/\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)/g, (_, e: string) => {
      if (e.length > 1) return String.fromCodePoint(Math.min(Number.parseInt(e.slice(1), 16), 0x10ffff));
      return ({ n: '\n', t: '\t', r: '\r', b: '\b', f: '\f' } as Record<string, string>)[e] ?? e;
    });
  }
  const literal = /^'([^']*)'\s*(?:#.*)?$/.exec(value);
  return literal ? literal[1] : undefined;
}

/**
 * Cargo.lock (any version): every `[[package]]` table's name and version, the workspace's own crates
 * included. Read line by line as the subset of TOML Cargo writes; keys of other tables are ignored.
 */
export function readCargoLock(text: string, filePath: string, list: PackageList, problems: Problems): void {
  let current: { name?: string; version?: string } | undefined;
  const finish = (): void => {
    if (!current) return;
    const pkg = cratePackage(current.name, current.version, filePath, problems);
    if (pkg) list.add(pkg);
    current = undefined;
  };
  forEachLineOfText(
    text,
    (raw, cut) => {
      const line = raw.trim();
      if (line.startsWith('[')) {
        finish();
        if (/^\[\[\s*package\s*\]\]\s*(?:#.*)?$/.test(line)) current = {};
        return;
      }
      if (!current) return;
      const m = /^(name|version)\s*=\s*(.*)$/.exec(line);
      if (!m) return;
      if (cut) {
        problems.add(`line longer than ${MAX_LINE} characters; record skipped`);
        current = undefined;
        return;
      }
      const value = tomlString(m[2]!);
      const key = m[1] === 'name' ? 'name' : 'version';
      if (value !== undefined && current[key] === undefined) current[key] = value;
    },
    MAX_LINE,
  );
  finish();
}

export const cargoLockAnalyzer: Analyzer = {
  type: 'cargo',
  version: 1,
  required: (path) => CARGO_LOCK.test(path),
  maxSize: () => MAX_MANIFEST_BYTES,
  produces: { kind: 'application', type: 'cargo' },
  async analyze(file, ctx): Promise<AnalyzerOutput> {
    const problems = new Problems();
    const text = manifestText(await contentBuffer(file.content, Math.min(ctx.limits.maxBufferedFile, MAX_MANIFEST_BYTES), file.path), problems);
    const list = new PackageList(ctx.limits.maxPackagesPerDatabase);
    readCargoLock(text, file.path, list, problems);
    return manifestOutput('cargo', 'cargo', file.path, list, problems);
  },
};
