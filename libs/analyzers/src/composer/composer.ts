import type { Package } from '@strata/model';
import { purl } from '../purl.js';
import { acceptPackage, isRecord, licenseOf, ownString, type Problems } from '../util/json.js';
import { manifestAnalyzer, type PackageList } from '../util/manifest.js';

/** Composer's installed.json: `vendor/composer/installed.json` (the vendor dir may be renamed, `composer/` may not). */
const INSTALLED_JSON = /(?:^|\/)composer\/installed\.json$/;
const COMPOSER_LOCK = /(?:^|\/)composer\.lock$/;
/** "vendor/package": Composer's own rule, a little looser (upper case is accepted, as Composer 1 did). */
const COMPOSER_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?\/[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?$/;

export function composerPurl(name: string, version: string): string {
  const slash = name.indexOf('/');
  return purl('composer', name.slice(0, slash), name.slice(slash + 1), version);
}

function licenses(v: unknown): string[] | undefined {
  const list = (Array.isArray(v) ? v.slice(0, 32) : [v]).map(licenseOf).filter((l): l is string => l !== undefined);
  return list.length > 0 ? list : undefined;
}

/** One package object of installed.json or composer.lock; versions are kept as written ("v5.4.0"). */
function composerPackage(entry: unknown, filePath: string, problems: Problems): Package | undefined {
  if (!isRecord(entry)) {
    problems.add('package entry is not a JSON object; skipped');
    return undefined;
  }
  const checked = acceptPackage(ownString(entry, 'name'), ownString(entry, 'version'), COMPOSER_NAME, 'Composer', problems);
  if (!checked) return undefined;
  const pkg: Package = { type: 'composer', ...checked, purl: composerPurl(checked.name, checked.version), filePath };
  const lic = licenses(Object.hasOwn(entry, 'license') ? entry.license : undefined);
  if (lic) pkg.licenses = lic;
  return pkg;
}

function readPackages(entries: unknown[], filePath: string, list: PackageList, problems: Problems): void {
  for (const entry of entries) {
    const pkg = composerPackage(entry, filePath, problems);
    if (pkg) list.add(pkg);
  }
}

/**
 * Composer's record of what is installed in a vendor dir: Composer 1 writes an array of packages,
 * Composer 2 `{"packages": [...], "dev": …, "dev-package-names": [...]}`. Every installed package is
 * reported, dev ones too (they are on disk).
 */
function readInstalledJson(value: unknown, filePath: string, list: PackageList, problems: Problems): string | undefined {
  const entries = Array.isArray(value) ? value : isRecord(value) && Array.isArray(value.packages) ? value.packages : undefined;
  if (!entries) return 'installed.json is neither a list of packages (Composer 1) nor an object with "packages" (Composer 2)';
  readPackages(entries, filePath, list, problems);
  return undefined;
}

/** composer.lock: the `packages` a project installs (`packages-dev` are not installed in production). */
function readComposerLock(value: unknown, filePath: string, list: PackageList, problems: Problems): string | undefined {
  if (!isRecord(value)) return 'composer.lock is not a JSON object';
  if (!Object.hasOwn(value, 'packages')) return undefined;
  if (!Array.isArray(value.packages)) return 'composer.lock "packages" is not a list';
  readPackages(value.packages, filePath, list, problems);
  return undefined;
}

export const composerVendorAnalyzer = manifestAnalyzer({
  type: 'composer-vendor',
  version: 1,
  path: INSTALLED_JSON,
  produces: 'composer',
  json: readInstalledJson,
});
export const composerLockAnalyzer = manifestAnalyzer({ type: 'composer', version: 1, path: COMPOSER_LOCK, produces: 'composer', json: readComposerLock });
