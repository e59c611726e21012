import type { VersionScheme } from './types.js';

// OSV ecosystem names (https://ossf.github.io/osv-schema/#affectedpackage-field) by the part before
// the first ':' (the release, e.g. "Debian:12" or "Ubuntu:22.04:LTS", does not change the scheme).
const BY_NAME = new Map<string, VersionScheme>([
  ['Debian', 'dpkg'],
  ['Ubuntu', 'dpkg'],
  ['Alpine', 'apk'],
  ['Wolfi', 'apk'],
  ['Chainguard', 'apk'],
  ['Rocky Linux', 'rpm'],
  ['AlmaLinux', 'rpm'],
  ['Red Hat', 'rpm'],
  ['openSUSE', 'rpm'],
  ['SUSE', 'rpm'],
  ['Mageia', 'rpm'],
  ['Azure Linux', 'rpm'],
  ['Photon OS', 'rpm'],
  ['npm', 'semver'],
  ['crates.io', 'semver'],
  ['Go', 'go'],
  ['PyPI', 'pep440'],
  ['Maven', 'maven'],
  ['RubyGems', 'rubygems'],
  ['Packagist', 'packagist'],
  ['NuGet', 'nuget'],
]);

/** The version scheme of an OSV ecosystem, or undefined for ecosystems Strata does not compare. */
export function schemeForEcosystem(osvEcosystem: string): VersionScheme | undefined {
  const colon = osvEcosystem.indexOf(':');
  const name = colon < 0 ? osvEcosystem : osvEcosystem.slice(0, colon);
  return BY_NAME.get(name);
}
