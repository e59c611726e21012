import type { OsFamily, OsInfo } from '@strata/model';
import type { AnalyzerOutput, CollectedFile, PostAnalyzer } from '../types.js';

/** Parses the shell-style KEY=value lines of os-release / lsb-release. */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    const q = value[0];
    if ((q === '"' || q === "'") && value.length >= 2 && value.endsWith(q)) {
      value = value.slice(1, -1);
      if (q === '"') value = value.replace(/\\(["$`\\])/g, '$1');
    }
    out[key] = value;
  }
  return out;
}

const ID_TO_FAMILY: Record<string, OsFamily> = {
  debian: 'debian',
  ubuntu: 'ubuntu',
  alpine: 'alpine',
  rhel: 'redhat',
  centos: 'centos',
  rocky: 'rocky',
  almalinux: 'alma',
  fedora: 'fedora',
  amzn: 'amazon',
  ol: 'oracle',
  sles: 'suse linux enterprise server',
  sles_sap: 'suse linux enterprise server',
  'opensuse-leap': 'opensuse-leap',
  opensuse: 'opensuse-leap',
  'opensuse-tumbleweed': 'opensuse-tumbleweed',
  photon: 'photon',
  wolfi: 'wolfi',
  chainguard: 'chainguard',
  azurelinux: 'azurelinux',
  mariner: 'cbl-mariner',
};

const OS_RELEASE_PATHS = ['etc/os-release', 'usr/lib/os-release'];
const RELEASE_FILES = [
  'etc/alpine-release',
  'etc/debian_version',
  'etc/lsb-release',
  'etc/redhat-release',
  'etc/centos-release',
  'etc/rocky-release',
  'etc/almalinux-release',
  'etc/fedora-release',
  'etc/oracle-release',
  'etc/system-release',
  'etc/photon-release',
  'etc/mariner-release',
  'etc/azurelinux-release',
  'etc/SuSE-release',
];
const WANTED = new Set([...OS_RELEASE_PATHS, ...RELEASE_FILES]);

interface Candidate {
  os: OsInfo;
  path: string;
  rank: number;
}

function debianVersionName(text: string): string {
  const v = text.trim().split(/\s+/)[0] ?? '';
  const m = /^(\d+)(\.\d+)*$/.exec(v);
  return m ? (m[1] ?? v) : v;
}

function fromOsRelease(path: string, text: string, debianVersion: string | undefined): Candidate | undefined {
  const f = parseOsRelease(text);
  const id = (f.ID ?? '').toLowerCase();
  // ID comes from the image: `constructor` or `__proto__` must not reach Object.prototype.
  const family = Object.hasOwn(ID_TO_FAMILY, id) ? ID_TO_FAMILY[id] : undefined;
  if (!family) return undefined;
  let name = f.VERSION_ID ?? '';
  if (!name && family === 'debian') name = debianVersion ? debianVersionName(debianVersion) : (f.VERSION_CODENAME ?? '');
  if (!name && family === 'opensuse-tumbleweed') name = f.VERSION ?? '';
  const os: OsInfo = { family, name };
  if (f.PRETTY_NAME) os.prettyName = f.PRETTY_NAME;
  const codename = f.VERSION_CODENAME ?? f.UBUNTU_CODENAME;
  if (codename) os.codename = codename;
  if (family === 'debian' && /distroless/i.test(`${f.PRETTY_NAME ?? ''} ${f.HOME_URL ?? ''}`)) os.distroless = true;
  return { os, path, rank: path === 'etc/os-release' ? 100 : 90 };
}

function redHatFamily(product: string): OsFamily | undefined {
  const p = product.toLowerCase();
  if (p.includes('centos')) return 'centos';
  if (p.includes('rocky')) return 'rocky';
  if (p.includes('almalinux')) return 'alma';
  if (p.includes('fedora')) return 'fedora';
  if (p.includes('oracle')) return 'oracle';
  if (p.includes('amazon linux')) return 'amazon';
  if (p.includes('red hat')) return 'redhat';
  return undefined;
}

// Specific vendor files outrank the generic ones: Oracle Linux ships a redhat-release that says "Red Hat".
const RELEASE_RANK: Record<string, number> = {
  'etc/alpine-release': 80,
  'etc/centos-release': 70,
  'etc/rocky-release': 70,
  'etc/almalinux-release': 70,
  'etc/fedora-release': 70,
  'etc/oracle-release': 70,
  'etc/photon-release': 70,
  'etc/mariner-release': 70,
  'etc/azurelinux-release': 70,
  'etc/SuSE-release': 70,
  'etc/lsb-release': 60,
  'etc/system-release': 50,
  'etc/redhat-release': 40,
  'etc/debian_version': 10,
};

function fromReleaseFile(path: string, text: string): Candidate | undefined {
  const rank = (Object.hasOwn(RELEASE_RANK, path) ? RELEASE_RANK[path] : undefined) ?? 0;
  const firstLine = (text.split(/\r?\n/).find((l) => l.trim() !== '') ?? '').trim();
  const make = (family: OsFamily, name: string, prettyName?: string): Candidate | undefined => {
    if (!name) return undefined;
    const os: OsInfo = { family, name };
    if (prettyName) os.prettyName = prettyName;
    return { os, path, rank };
  };
  switch (path) {
    case 'etc/alpine-release':
      return make('alpine', firstLine);
    case 'etc/debian_version':
      return make('debian', debianVersionName(firstLine));
    case 'etc/lsb-release': {
      const f = parseOsRelease(text);
      if ((f.DISTRIB_ID ?? '').toLowerCase() !== 'ubuntu') return undefined;
      const c = make('ubuntu', f.DISTRIB_RELEASE ?? '', f.DISTRIB_DESCRIPTION);
      if (c && f.DISTRIB_CODENAME) c.os.codename = f.DISTRIB_CODENAME;
      return c;
    }
    case 'etc/photon-release': {
      const m = /Photon OS\s+(\d+(?:\.\d+)*)/i.exec(text);
      return m ? make('photon', m[1] ?? '', firstLine) : undefined;
    }
    case 'etc/mariner-release':
    case 'etc/azurelinux-release': {
      const m = /(\d+\.\d+)/.exec(firstLine);
      const family: OsFamily = path === 'etc/mariner-release' ? 'cbl-mariner' : 'azurelinux';
      return m ? make(family, m[1] ?? '', firstLine) : undefined;
    }
    case 'etc/SuSE-release': {
      const version = /^VERSION\s*=\s*(\S+)/m.exec(text)?.[1] ?? '';
      const patch = /^PATCHLEVEL\s*=\s*(\S+)/m.exec(text)?.[1];
      const name = patch && patch !== '0' ? `${version}.${patch}` : version;
      if (/opensuse/i.test(firstLine)) return make('opensuse-leap', name, firstLine);
      if (/suse linux enterprise server/i.test(firstLine)) return make('suse linux enterprise server', name, firstLine);
      return undefined;
    }
    default: {
      const m = /^(.*?)\s+release\s+(\d+(?:\.\d+)*)/i.exec(firstLine);
      if (!m) return undefined;
      const family = redHatFamily(m[1] ?? '');
      return family ? make(family, m[2] ?? '', firstLine) : undefined;
    }
  }
}

/**
 * How much a release file's word counts (higher wins): os-release(5) puts /etc/os-release first and
 * /usr/lib/os-release second; vendor files follow. Undefined for paths that are no release file.
 */
export function releaseFileRank(path: string): number | undefined {
  if (path === 'etc/os-release') return 100;
  if (path === 'usr/lib/os-release') return 90;
  return Object.hasOwn(RELEASE_RANK, path) ? RELEASE_RANK[path] : undefined;
}

/** Every release file of a layer that states OS facts, best first. */
export function detectOsCandidates(files: Array<{ path: string; text: string }>): Candidate[] {
  const byPath = new Map(files.map((f) => [f.path, f.text]));
  const debianVersion = byPath.get('etc/debian_version');
  const candidates: Candidate[] = [];
  for (const { path, text } of files) {
    const c = OS_RELEASE_PATHS.includes(path) ? fromOsRelease(path, text, debianVersion) : fromReleaseFile(path, text);
    if (c) candidates.push(c);
  }
  candidates.sort((a, b) => b.rank - a.rank);
  // Ubuntu and its derivatives ship an etc/debian_version too ("bookworm/sid"): it only counts
  // when nothing in the layer says the system is something other than Debian.
  const ids = OS_RELEASE_PATHS.map((p) => byPath.get(p))
    .filter((t) => t !== undefined)
    .map((t) => parseOsRelease(t).ID ?? '');
  if (ids.some((id) => id !== 'debian') || byPath.has('etc/lsb-release')) return candidates.filter((c) => c.path !== 'etc/debian_version');
  return candidates;
}

/** Picks the OS of a layer from every release file the layer holds. */
export function detectOs(files: Array<{ path: string; text: string }>): Candidate | undefined {
  const [best] = detectOsCandidates(files);
  // etc/debian_version alone decides only when it is the only word (see detectOsCandidates)
  return best;
}

export const osReleaseAnalyzer: PostAnalyzer = {
  type: 'os-release',
  version: 2,
  required: (path) => WANTED.has(path),
  maxSize: () => 64 * 1024,
  locations: [...WANTED],
  async postAnalyze(files: CollectedFile[]): Promise<AnalyzerOutput | undefined> {
    const candidates = detectOsCandidates(files.map((f) => ({ path: f.path, text: f.content.toString('utf8') })));
    const best = candidates[0];
    if (!best) return undefined;
    return { os: best.os, osPath: best.path, osFiles: candidates.map((c) => ({ path: c.path, os: c.os })) };
  },
};
