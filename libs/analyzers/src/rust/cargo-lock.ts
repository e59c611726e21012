import type { Package } from '@strata/model';
import { purl } from '../purl.js';
import { acceptPackage, type Problems } from '../util/json.js';
import { forEachLineOfText } from '../util/lines.js';
import { manifestAnalyzer, type PackageList } from '../util/manifest.js';

const CARGO_LOCK = /(?:^|\/)Cargo\.lock$/;
/** crates.io's name rule (ASCII letters, digits, "_" and "-"); local crates follow it too. */
export const CRATE_NAME = /^[A-Za-z0-9_-]+$/;
const MAX_LINE = 64 * 1024;

export const cargoPurl = (name: string, version: string): string => purl('cargo', undefined, name, version);

export function cratePackage(rawName: string | undefined, rawVersion: string | undefined, filePath: string, problems: Problems): Package | undefined {
  const checked = acceptPackage(rawName, rawVersion, CRATE_NAME, 'crate', problems);
  return checked && { type: 'cargo', ...checked, purl: cargoPurl(checked.name, checked.version), filePath };
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
export function readCargoLock(text: string, filePath: string, list: PackageList, problems: Problems): undefined {
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
  return undefined;
}

export const cargoLockAnalyzer = manifestAnalyzer({ type: 'cargo', version: 1, path: CARGO_LOCK, produces: 'cargo', text: readCargoLock });
