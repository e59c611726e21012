import { createRequire } from 'node:module';
import type { PackageURL as PackageURLClass } from 'packageurl-js';
import type { OsFamily, OsInfo, Package } from '@strata/model';

type Qualifiers = Record<string, string>;

/**
 * The same string, flat. A PURL built by concatenation is a tree of string pieces in V8 (about 260
 * bytes a package more than its text): reading it as a number flattens it in place, and the next
 * garbage collection drops the pieces. Every package holds one PURL, so an inventory of 150,000
 * packages is about 40 MB smaller.
 */
export function flatString(text: string): string {
  // kept in a module variable so that no compiler drops the conversion as unused
  sink.value = Number(text);
  return text;
}
const sink = { value: 0 };

// packageurl-js builds and freezes its tables as it loads: only a scan that builds a PURL needs it.
// In the CLI bundle (tools/bundle.mjs --deps) `require` is defined and esbuild compiles the package in,
// evaluated on this first call (no resolution in node_modules); from source (ESM) Node loads it.
let PackageURL: typeof PackageURLClass | undefined;
const packageUrl = (): typeof PackageURLClass =>
  (PackageURL ??=
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a direct require() call is what esbuild compiles in
    ((typeof require === 'function' ? require('packageurl-js') : createRequire(import.meta.url)('packageurl-js')) as { PackageURL: typeof PackageURLClass })
      .PackageURL);

/**
 * Builds a PURL with packageurl-js (as a flat string, see flatString). When the library refuses a component (e.g. a Go version that is
 * not strict semver), falls back to plain percent-encoding so every package still gets an identifier.
 */
export function purl(type: string, namespace: string | undefined, name: string, version: string | undefined, qualifiers?: Qualifiers): string {
  return flatString(buildPurl(type, namespace, name, version, qualifiers));
}

/** Characters encodeURIComponent leaves as they are, lower case only (what the lower-casing types keep). */
const PLAIN_LOWER = /^[a-z0-9._~-]+$/;
const PLAIN = /^[A-Za-z0-9._~-]+$/;
/** packageurl-js keeps ':' and '+' of a version as they are. */
const PLAIN_VERSION = /^[A-Za-z0-9._~+:-]+$/;
/** Qualifier values are form-urlencoded, which escapes '~' too. */
const PLAIN_QUALIFIER_VALUE = /^[A-Za-z0-9._-]+$/;
const PLAIN_QUALIFIER_KEY = /^[a-z][a-z0-9._-]*$/;
/** Types packageurl-js only lower-cases (the namespace, and the name when true): nothing else to normalize or validate. */
const LOWERED_NAME: ReadonlyMap<string, boolean> = new Map([
  ['deb', true],
  ['apk', true],
  ['npm', true],
  ['alpm', true],
  ['rpm', false],
]);

/**
 * The PURL packageurl-js would build, without it, for the common case where no component needs
 * escaping or normalizing (e.g. `pkg:deb/debian/libc6@2.36-9?arch=amd64`): building one with the
 * library costs several microseconds, and an image may list hundreds of thousands of packages.
 * Anything else (upper case where the type lowers it, characters to escape, blank parts) returns
 * undefined and goes through the library. A test compares both on a corpus of inputs.
 */
export function plainPurl(type: string, namespace: string | undefined, name: string, version: string | undefined, qualifiers?: Qualifiers): string | undefined {
  const lowersName = LOWERED_NAME.get(type);
  if (lowersName === undefined) return undefined;
  if (!(lowersName ? PLAIN_LOWER : PLAIN).test(name)) return undefined;
  let out = `pkg:${type}/`;
  if (namespace !== undefined && namespace !== '') {
    if (!PLAIN_LOWER.test(namespace)) return undefined;
    out += `${namespace}/`;
  }
  out += name;
  if (version !== undefined && version !== '') {
    if (!PLAIN_VERSION.test(version)) return undefined;
    out += `@${version}`;
  }
  if (qualifiers) {
    const keys = Object.keys(qualifiers);
    if (keys.length > 1) keys.sort();
    let sep = '?';
    for (const k of keys) {
      const v = qualifiers[k];
      if (v === undefined || !PLAIN_QUALIFIER_KEY.test(k) || !PLAIN_QUALIFIER_VALUE.test(v)) return undefined;
      out += `${sep}${k}=${v}`;
      sep = '&';
    }
  }
  return out;
}

function buildPurl(type: string, namespace: string | undefined, name: string, version: string | undefined, qualifiers?: Qualifiers): string {
  const q = qualifiers && Object.keys(qualifiers).length > 0 ? qualifiers : undefined;
  const plain = plainPurl(type, namespace, name, version, q);
  if (plain !== undefined) return plain;
  try {
    return new (packageUrl())(type, namespace, name, version, q, undefined).toString();
  } catch {
    const enc = (s: string): string => encodeURIComponent(s);
    let out = `pkg:${type}/`;
    if (namespace) out += namespace.split('/').map(enc).join('/') + '/';
    out += enc(name);
    if (version) out += '@' + enc(version);
    if (q) {
      out +=
        '?' +
        Object.keys(q)
          .sort()
          .map((k) => `${k}=${enc(q[k] ?? '')}`)
          .join('&');
    }
    return out;
  }
}

const RPM_VENDOR: Partial<Record<OsFamily, string>> = {
  redhat: 'redhat',
  centos: 'centos',
  rocky: 'rocky',
  alma: 'almalinux',
  fedora: 'fedora',
  amazon: 'amazon',
  oracle: 'oracle',
  'suse linux enterprise server': 'suse',
  'opensuse-leap': 'opensuse',
  'opensuse-tumbleweed': 'opensuse',
  photon: 'photon',
  azurelinux: 'azurelinux',
  'cbl-mariner': 'mariner',
};

function distroQualifier(os: OsInfo | undefined, family: OsFamily | undefined): string | undefined {
  if (!os || !family || os.family !== family || !os.name) return undefined;
  const slug = family.replace(/ /g, '-');
  return `${slug}-${os.name}`;
}

/** dpkg-style version without its epoch (the epoch goes into a qualifier, as Trivy does). */
function stripEpoch(version: string): string {
  const i = version.indexOf(':');
  return i >= 0 && /^\d+$/.test(version.slice(0, i)) ? version.slice(i + 1) : version;
}

/**
 * The PURL of an OS package, given what is known about the OS. Layers are analyzed one at a time,
 * so the OS may only be known at merge time: the merge calls this again with the image's OS.
 */
export function osPackagePurl(pkg: Package, os?: OsInfo): string {
  const q: Qualifiers = {};
  if (pkg.arch) q.arch = pkg.arch;
  switch (pkg.type) {
    case 'dpkg': {
      const ns = os && (os.family === 'ubuntu' || os.family === 'debian') ? os.family : 'debian';
      if (pkg.epoch) q.epoch = String(pkg.epoch);
      const d = distroQualifier(os, ns as OsFamily);
      if (d) q.distro = d;
      return purl('deb', ns, pkg.name, stripEpoch(pkg.version), q);
    }
    case 'apk': {
      const ns = os && (os.family === 'alpine' || os.family === 'wolfi' || os.family === 'chainguard') ? os.family : 'alpine';
      if (os && os.family === ns && os.name) q.distro = os.name;
      return purl('apk', ns, pkg.name, pkg.version, q);
    }
    case 'rpm': {
      const vendor = os ? RPM_VENDOR[os.family] : undefined;
      if (pkg.epoch) q.epoch = String(pkg.epoch);
      const d = os ? distroQualifier(os, os.family) : undefined;
      if (d) q.distro = d;
      const ver = pkg.release ? `${pkg.version}-${pkg.release}` : pkg.version;
      return purl('rpm', vendor, pkg.name, ver, q);
    }
    default:
      return pkg.purl;
  }
}
