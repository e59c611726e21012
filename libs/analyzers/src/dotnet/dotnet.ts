import type { Package } from '@strata/model';
import { purl } from '../purl.js';
import { acceptPackage, isRecord, ownString, type Problems } from '../util/json.js';
import { analyzeJsonManifest, analyzeTextManifest, manifestAnalyzer, MAX_MANIFEST_BYTES, type PackageList } from '../util/manifest.js';
import type { Analyzer } from '../types.js';

const DEPS_JSON = /(?:^|\/)[^/]+\.deps\.json$/;
const PACKAGES_LOCK = /(?:^|\/)packages\.lock\.json$/;
const PACKAGES_CONFIG = /(?:^|\/)packages\.config$/;
/** NuGet package ids: letters, digits, "_", "-", "." (NuGet's own rule), at most 100 characters. */
const NUGET_ID = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/;
/** The SDK's prefix for the runtime bundled into a self-contained app ("runtimepack.Microsoft.NETCore.App.Runtime.linux-x64"). */
const RUNTIME_PACK = 'runtimepack.';

export const nugetPurl = (name: string, version: string): string => purl('nuget', undefined, name, version);

function nugetPackage(rawName: string | undefined, rawVersion: string | undefined, filePath: string, problems: Problems): Package | undefined {
  const checked = acceptPackage(rawName, rawVersion, NUGET_ID, 'NuGet', problems);
  return checked && { type: 'nuget', ...checked, purl: nugetPurl(checked.name, checked.version), filePath };
}

const nonEmpty = (v: unknown): boolean =>
  Array.isArray(v) ? v.length > 0 : isRecord(v) ? Object.keys(v).length > 0 : v !== undefined && v !== null && v !== '';

/**
 * A .NET app's `<app>.deps.json`: the `libraries` of type package, project (the app itself and its
 * project references) and runtimepack (the runtime of a self-contained app, named without its
 * prefix). When the runtime target is listed, libraries it lists without any runtime, native or
 * runtimeTargets assets are compile-time only and left out; libraries it does not list are kept.
 */
export function readDepsJson(value: unknown, filePath: string, list: PackageList, problems: Problems): string | undefined {
  if (!isRecord(value)) return '.deps.json is not a JSON object';
  if (!Object.hasOwn(value, 'libraries')) return undefined;
  const libraries = value.libraries;
  if (!isRecord(libraries)) return '.deps.json "libraries" is not an object';
  const runtimeTarget = isRecord(value.runtimeTarget) ? ownString(value.runtimeTarget, 'name') : undefined;
  const targets = isRecord(value.targets) ? value.targets : undefined;
  const target =
    runtimeTarget !== undefined && targets && Object.hasOwn(targets, runtimeTarget) && isRecord(targets[runtimeTarget])
      ? (targets[runtimeTarget] as Record<string, unknown>)
      : undefined;
  const assets = new Map<string, boolean>();
  if (target) {
    for (const [key, lib] of Object.entries(target)) {
      const slash = key.indexOf('/');
      if (slash <= 0) continue;
      const id = `${key
        .slice(0, slash)
        .replace(/^runtimepack\./i, '')
        .toLowerCase()}/${key.slice(slash + 1).toLowerCase()}`;
      const has = isRecord(lib) && (nonEmpty(lib.runtime) || nonEmpty(lib.runtimeTargets) || nonEmpty(lib.native));
      assets.set(id, (assets.get(id) ?? false) || has);
    }
  }
  for (const [key, lib] of Object.entries(libraries)) {
    if (!isRecord(lib)) {
      problems.add('library entry is not a JSON object; skipped', key);
      continue;
    }
    const kind = (ownString(lib, 'type') ?? '').toLowerCase();
    if (kind !== 'package' && kind !== 'project' && kind !== 'runtimepack') continue;
    const slash = key.indexOf('/');
    if (slash <= 0) {
      problems.add('library key is not "name/version"; skipped', key);
      continue;
    }
    let name = key.slice(0, slash);
    if (name.toLowerCase().startsWith(RUNTIME_PACK)) name = name.slice(RUNTIME_PACK.length);
    const version = key.slice(slash + 1);
    if (target && assets.get(`${name.toLowerCase()}/${version.toLowerCase()}`) === false) continue;
    const pkg = nugetPackage(name, version, filePath, problems);
    if (pkg) list.add(pkg);
  }
  return undefined;
}

export const dotnetDepsAnalyzer = manifestAnalyzer({ type: 'dotnet-core', version: 1, path: DEPS_JSON, produces: 'nuget', json: readDepsJson });

/** NuGet's `packages.lock.json`: every resolved package of every target framework, project references left out. */
export function readPackagesLock(value: unknown, filePath: string, list: PackageList, problems: Problems): string | undefined {
  if (!isRecord(value)) return 'packages.lock.json is not a JSON object';
  if (!Object.hasOwn(value, 'dependencies')) return undefined;
  const frameworks = value.dependencies;
  if (!isRecord(frameworks)) return 'packages.lock.json "dependencies" is not an object';
  for (const deps of Object.values(frameworks)) {
    if (!isRecord(deps)) {
      problems.add('target framework entry is not a JSON object; skipped');
      continue;
    }
    for (const [name, dep] of Object.entries(deps)) {
      if (!isRecord(dep)) {
        problems.add('dependency entry is not a JSON object; skipped', name);
        continue;
      }
      if ((ownString(dep, 'type') ?? '').toLowerCase() === 'project') continue;
      const pkg = nugetPackage(name, ownString(dep, 'resolved'), filePath, problems);
      if (pkg) list.add(pkg);
    }
  }
  return undefined;
}

/** packages.lock.json (JSON) or packages.config (XML). */
export const nugetLockAnalyzer: Analyzer = {
  type: 'nuget',
  version: 1,
  required: (path) => PACKAGES_LOCK.test(path) || PACKAGES_CONFIG.test(path),
  maxSize: () => MAX_MANIFEST_BYTES,
  produces: { kind: 'application', type: 'nuget' },
  analyze: (file, ctx) =>
    PACKAGES_LOCK.test(file.path)
      ? analyzeJsonManifest(file, ctx, 'nuget', 'nuget', readPackagesLock)
      : analyzeTextManifest(file, ctx, 'nuget', 'nuget', readPackagesConfig),
};

const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function xmlUnescape(s: string): string {
  return s.replace(/&(#x[0-9A-Fa-f]{1,6}|#[0-9]{1,7}|[a-z]{2,4});/g, (whole, ref: string) => {
    if (ref.startsWith('#x')) return String.fromCodePoint(Math.min(Number.parseInt(ref.slice(2), 16), 0x10ffff));
    if (ref.startsWith('#')) return String.fromCodePoint(Math.min(Number.parseInt(ref.slice(1), 10), 0x10ffff));
    return XML_ENTITIES[ref] ?? whole;
  });
}

/** Attributes of one start tag's attribute text: name="value" or name='value'. */
function xmlAttributes(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) out.set(m[1]!.toLowerCase(), xmlUnescape(m[2] ?? m[3] ?? ''));
  return out;
}

/** Longest start tag looked at in packages.config; a longer one is skipped. */
const MAX_TAG_CHARS = 64 * 1024;

/**
 * The old NuGet `packages.config`: `<package id="…" version="…"/>` elements (comments ignored);
 * development-only packages (developmentDependency="true") are left out, as they are not deployed.
 * Read with a bounded scanner, not a general XML parser: no entities beyond XML's five are expanded.
 */
export function readPackagesConfig(text: string, filePath: string, list: PackageList, problems: Problems): string | undefined {
  const body = text.replace(/<!--[\s\S]*?(?:-->|$)/g, '');
  if (!/<packages[\s>/]/.test(body)) return 'packages.config has no <packages> element';
  const tag = /<package(?=[\s/>])/g;
  for (let m = tag.exec(body); m !== null; m = tag.exec(body)) {
    const start = m.index + m[0].length;
    const end = body.indexOf('>', start);
    if (end < 0 || end - start > MAX_TAG_CHARS) {
      problems.add(end < 0 ? '<package> element not closed; skipped' : `<package> element longer than ${MAX_TAG_CHARS} characters; skipped`);
      if (end < 0) break;
      tag.lastIndex = end + 1;
      continue;
    }
    const attrs = xmlAttributes(body.slice(start, end));
    tag.lastIndex = end + 1;
    if ((attrs.get('developmentdependency') ?? '').toLowerCase() === 'true') continue;
    const pkg = nugetPackage(attrs.get('id'), attrs.get('version'), filePath, problems);
    if (pkg) list.add(pkg);
  }
  return undefined;
}
