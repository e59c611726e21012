// OSV ecosystem strings, the index keys made from them, and the mapping from what an image holds
// (its OS, its package types) to those keys. Ecosystem list and suffix rules:
// https://ossf.github.io/osv-schema/#affectedpackage-field (ossf/osv-schema ecosystems.json).
import type { OsInfo, PackageType } from '@strata/model';

/** An OSV ecosystem string taken apart. */
export interface EcosystemRef {
  /** the part before the first ':' as OSV spells it: "Debian", "Ubuntu", "Red Hat", "npm" */
  base: string;
  /** the release the suffix scopes to ("12", "22.04", "3.20", "9"), without "v" or ":LTS" */
  release?: string;
  /** a product stream inside the ecosystem ("Pro" for Ubuntu, the CPE product for Red Hat) */
  stream?: string;
}

/** Language ecosystems whose ':<suffix>' never scopes a release (Maven's is a repository URL). */
const UNSCOPED = new Set(['npm', 'PyPI', 'Go', 'Maven', 'crates.io', 'NuGet', 'RubyGems', 'Packagist', 'Hex', 'Pub', 'Wolfi', 'Chainguard']);

/** Parses "Debian:12", "Alpine:v3.20", "Ubuntu:22.04:LTS", "Ubuntu:Pro:18.04:LTS", "Red Hat:enterprise_linux:9::baseos", ... */
export function parseEcosystem(ecosystem: string): EcosystemRef {
  const colon = ecosystem.indexOf(':');
  const base = colon < 0 ? ecosystem : ecosystem.slice(0, colon);
  const suffix = colon < 0 ? '' : ecosystem.slice(colon + 1);
  if (suffix === '' || UNSCOPED.has(base)) return { base };
  switch (base) {
    case 'Alpine':
      return { base, release: suffix.replace(/^v/, '') };
    case 'Ubuntu': {
      const parts = suffix.split(':').filter((p) => p !== 'LTS');
      if (parts[0] === 'Pro') return { base, stream: 'Pro', release: parts.slice(1).join(':') };
      return { base, release: parts.join(':') };
    }
    case 'Red Hat': {
      // CPE without "cpe:/[oa]:redhat:": product:version[:update[:edition]], e.g. enterprise_linux:9::appstream
      const [product = '', version = ''] = suffix.split(':');
      return { base, stream: product, release: version };
    }
    default:
      return { base, release: suffix };
  }
}

/**
 * The index key of an ecosystem: equal for every spelling that means the same package universe.
 * "Ubuntu:22.04:LTS" and "Ubuntu:22.04" share a key; Red Hat's appstream/baseos/crb repositories
 * of one product release share a key; Ubuntu Pro keeps its own.
 */
export function ecosystemKey(ecosystem: string | EcosystemRef): string {
  const ref = typeof ecosystem === 'string' ? parseEcosystem(ecosystem) : ecosystem;
  let key = ref.base.toLowerCase();
  if (ref.stream) key += `:${ref.stream.toLowerCase()}`;
  if (ref.release) key += `:${ref.release.toLowerCase()}`;
  return key;
}

/** PEP 503 normalised project name. */
export function normalizePypiName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/**
 * The name under which a package is indexed and looked up, by index key ("pypi", "nuget",
 * "debian:12", as ecosystemKey() makes them): PEP 503 for PyPI; lower case for NuGet (package ids
 * are case-insensitive) and Packagist ("vendor/package" is case-insensitive on Packagist);
 * everything else as published (Maven "group:artifact", npm names, Go module paths, RubyGems and
 * crates.io names, and distro package names are compared as written). The index build, the
 * matcher's lookups and the distributed affected-images query all use this one function.
 */
export function normalizeName(key: string, name: string): string {
  const colon = key.indexOf(':');
  switch (colon < 0 ? key : key.slice(0, colon)) {
    case 'pypi':
      return normalizePypiName(name);
    case 'nuget':
    case 'packagist':
      return name.toLowerCase();
    default:
      return name;
  }
}

/** normalizeName() for an OSV ecosystem string ("PyPI", "NuGet", "Debian:12"). */
export function normalizePackageName(ecosystem: string, name: string): string {
  return normalizeName(ecosystemKey(ecosystem), name);
}

const major = (v: string): string => v.split('.')[0] ?? v;
const majorMinor = (v: string): string => v.split('.').slice(0, 2).join('.');

/**
 * The OSV ecosystems that hold advisories for an OS's packages, most specific first.
 * Empty when OSV has no feed for the distribution (e.g. Amazon Linux, Oracle Linux, Fedora).
 */
export function osEcosystems(os: OsInfo): string[] {
  const v = os.name.trim();
  switch (os.family) {
    case 'debian':
      return /^\d/.test(v) ? [`Debian:${major(v)}`] : [];
    case 'ubuntu':
      // OSV spells LTS releases with a ':LTS' suffix; the key ignores it, so one string is enough.
      return [`Ubuntu:${majorMinor(v)}`];
    case 'alpine':
      return /^\d+\.\d+/.test(v) ? [`Alpine:v${majorMinor(v)}`] : [];
    case 'rocky':
      return [`Rocky Linux:${major(v)}`];
    case 'alma':
      return [`AlmaLinux:${major(v)}`];
    case 'redhat':
    case 'centos':
      // CentOS has no feed of its own; like other scanners, use the RHEL release it rebuilds.
      return [`Red Hat:enterprise_linux:${major(v)}`];
    case 'wolfi':
      return ['Wolfi'];
    case 'chainguard':
      // Chainguard images install from both the Chainguard and the Wolfi repositories.
      return ['Chainguard', 'Wolfi'];
    case 'azurelinux':
    case 'cbl-mariner':
      // CBL-Mariner 2.0 was renamed Azure Linux; OSV publishes both under "Azure Linux:<major>".
      return [`Azure Linux:${major(v)}`];
    case 'photon':
      return [`Photon OS:${majorMinor(v)}`];
    case 'opensuse-leap':
      return [`openSUSE:openSUSE Leap ${v}`];
    case 'opensuse-tumbleweed':
      return ['openSUSE:openSUSE Tumbleweed'];
    case 'suse linux enterprise server':
      return os.prettyName ? [`SUSE:${os.prettyName}`] : [];
    default:
      return [];
  }
}

/** The OSV ecosystem of a language package type (OS package types map through the OS instead). */
export function packageEcosystem(type: PackageType): string | undefined {
  switch (type) {
    case 'npm':
      return 'npm';
    case 'pypi':
      return 'PyPI';
    case 'gobinary':
      return 'Go';
    case 'jar':
      return 'Maven';
    case 'cargo':
      return 'crates.io';
    case 'composer':
      return 'Packagist';
    case 'gem':
      return 'RubyGems';
    case 'nuget':
      return 'NuGet';
    default:
      // conda: OSV has no conda ecosystem (its packages are inventoried, not matched).
      return undefined;
  }
}

/** Every ecosystem key an inventory can need: its OS ecosystems and its language ecosystems. */
export function inventoryEcosystemKeys(inventory: { os?: OsInfo; applications: { type: PackageType }[] }): string[] {
  const keys = new Set<string>();
  if (inventory.os) for (const e of osEcosystems(inventory.os)) keys.add(ecosystemKey(e));
  for (const set of inventory.applications) {
    const e = packageEcosystem(set.type);
    if (e) keys.add(ecosystemKey(e));
  }
  return [...keys].sort();
}
