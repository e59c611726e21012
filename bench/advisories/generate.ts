// Writes a full-size synthetic OSV bucket: `<Ecosystem>/all.zip` and `<Ecosystem>/modified_id.csv`
// for Debian, Ubuntu, Alpine, Red Hat and eight language ecosystems, ~420k records in all, skewed
// as the real feeds are (a few packages such as `linux` carry thousands of records, most a handful),
// and with most records fixed in versions older than an up-to-date image ships, one in twenty not.
// Deterministic for a seed. Generation 2, 3, ... changes a further `--changed` share of the records
// (newer `modified`, another fixed version), withdraws a few, and also writes each changed record
// as `<Ecosystem>/<id>.json`, as the bucket serves them: the input of an incremental update.
//
//   bash tools/node.sh --import tsx bench/advisories/generate.ts [--out DIR] [--seed 1] [--scale 1]
//        [--generation 1] [--changed 0.01]
// DIR defaults to ${STRATA_INFRA_CACHE:-~/.cache/strata-infra}/advisories-bench/v2-bucket-g<generation>.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createZipWriter, prng } from '@strata/testing';

export interface GenerateOptions {
  out: string;
  seed?: number;
  /** multiplies every ecosystem's record count (1 = ~420k records) */
  scale?: number;
  /** 1 = the base set; each further generation changes `changed` of the records again */
  generation?: number;
  changed?: number;
}

export interface GeneratedEcosystem {
  ecosystem: string;
  records: number;
  changed: number;
  withdrawn: number;
}

/** Real source-package names first (the heavy head of the distribution), synthetic ones after. */
const DEBIAN_HEAD = [
  'linux',
  'chromium',
  'firefox-esr',
  'thunderbird',
  'imagemagick',
  'openjdk-17',
  'qemu',
  'xen',
  'php8.2',
  'mariadb',
  'postgresql-15',
  'glibc',
  'openssl',
  'systemd',
  'curl',
  'gnutls28',
  'libxml2',
  'krb5',
  'perl',
  'python3.11',
  'sqlite3',
  'zlib',
  'tiff',
  'ffmpeg',
  'expat',
  'libx11',
  'nss',
  'bind9',
  'apache2',
  'nginx',
  'git',
  'vim',
  'binutils',
  'gcc-12',
  'tar',
  'bash',
  'coreutils',
  'util-linux',
  'shadow',
  'pam',
  'e2fsprogs',
  'xz-utils',
  'bzip2',
  'ncurses',
  'readline',
  'libgcrypt20',
  'gnupg2',
  'libtasn1-6',
  'p11-kit',
  'libidn2',
  'libunistring',
  'pcre2',
  'libzstd',
  'lz4',
  'libseccomp',
  'apt',
  'dpkg',
  'sed',
  'grep',
  'findutils',
  'gzip',
  'openldap',
  'nghttp2',
  'libssh2',
  'libpsl',
  'brotli',
  'keyutils',
  'db5.3',
  'gdbm',
  'libffi',
  'cyrus-sasl2',
  'audit',
  'libselinux',
  'libcap2',
  'acl',
  'attr',
  'libxcrypt',
  'sysvinit',
  'tzdata',
  'ca-certificates',
];
const LANGUAGE_HEAD: Record<string, string[]> = {
  npm: ['lodash', 'express', 'axios', 'next', 'webpack', 'electron', 'minimist', 'jsonwebtoken', 'ws', 'undici'],
  PyPI: ['tensorflow', 'django', 'pillow', 'jinja2', 'requests', 'urllib3', 'cryptography', 'flask', 'numpy', 'PyYAML'],
  Maven: [
    'org.apache.logging.log4j:log4j-core',
    'com.fasterxml.jackson.core:jackson-databind',
    'org.springframework:spring-web',
    'org.apache.tomcat.embed:tomcat-embed-core',
  ],
  Go: ['github.com/golang/go', 'golang.org/x/net', 'golang.org/x/crypto', 'github.com/docker/docker', 'k8s.io/kubernetes'],
  'crates.io': ['tokio', 'openssl', 'hyper', 'regex', 'smallvec'],
  NuGet: ['System.Text.Encodings.Web', 'Newtonsoft.Json', 'Microsoft.AspNetCore.App.Runtime'],
  RubyGems: ['rails', 'nokogiri', 'rack', 'actionpack', 'activerecord'],
  Packagist: ['drupal/core', 'symfony/http-kernel', 'laravel/framework', 'magento/community-edition'],
};

interface EcosystemSpec {
  ecosystem: string;
  count: number;
  /** distinct packages; the first few carry most records */
  packages: number;
  head: string[];
  /** the affected ecosystems each record lists (one entry per release) */
  releases: (r: () => number) => string[];
  id: (n: number, r: () => number) => string;
  version: (r: () => number) => string;
  purlType?: string;
}

const pick = <T>(xs: readonly T[], r: () => number): T => xs[Math.floor(r() * xs.length)] as T;
const cveOf = (n: number): string => `CVE-${2005 + (n % 20)}-${String(10000 + n).padStart(5, '0')}`;
const semver = (r: () => number): string => `${Math.floor(r() * 8)}.${Math.floor(r() * 30)}.${Math.floor(r() * 50)}`;
const ghsa = (n: number): string => {
  const alphabet = '23456789cfghjmpqrvwx';
  let s = '';
  let x = n * 2654435761 + 12345;
  for (let i = 0; i < 12; i++) {
    s += alphabet[x % alphabet.length];
    x = Math.floor(x / alphabet.length) + i * 7919;
  }
  return `GHSA-${s.slice(0, 4)}-${s.slice(4, 8)}-${s.slice(8, 12)}`;
};

function specs(scale: number): EcosystemSpec[] {
  const n = (x: number): number => Math.max(1, Math.round(x * scale));
  const languages: [string, number, number, (r: () => number) => string][] = [
    ['npm', 50_000, 9_000, semver],
    ['PyPI', 40_000, 6_000, semver],
    ['Maven', 40_000, 6_000, semver],
    ['Go', 20_000, 3_000, (r) => `${Math.floor(r() * 3)}.${Math.floor(r() * 40)}.${Math.floor(r() * 20)}`],
    ['crates.io', 15_000, 2_500, semver],
    ['NuGet', 15_000, 2_500, semver],
    ['RubyGems', 15_000, 2_500, semver],
    ['Packagist', 15_000, 2_500, semver],
  ];
  return [
    {
      ecosystem: 'Debian',
      count: n(90_000),
      packages: n(4_000),
      head: DEBIAN_HEAD,
      releases: () => ['Debian:11', 'Debian:12', 'Debian:13'],
      id: (i) => `DEBIAN-${cveOf(i)}`,
      version: (r) => `${Math.floor(r() * 10)}.${Math.floor(r() * 20)}.${Math.floor(r() * 9)}-${1 + Math.floor(r() * 5)}+deb12u${1 + Math.floor(r() * 4)}`,
      purlType: 'deb/debian',
    },
    {
      ecosystem: 'Ubuntu',
      count: n(60_000),
      packages: n(3_000),
      head: DEBIAN_HEAD,
      releases: (r) => (r() < 0.3 ? ['Ubuntu:Pro:18.04:LTS', 'Ubuntu:Pro:16.04:LTS'] : ['Ubuntu:22.04:LTS', 'Ubuntu:24.04:LTS', 'Ubuntu:24.10']),
      id: (i) => `UBUNTU-${cveOf(i)}`,
      version: (r) => `${Math.floor(r() * 10)}.${Math.floor(r() * 20)}.${Math.floor(r() * 9)}-${1 + Math.floor(r() * 5)}ubuntu0.${1 + Math.floor(r() * 4)}`,
      purlType: 'deb/ubuntu',
    },
    {
      ecosystem: 'Alpine',
      count: n(20_000),
      packages: n(1_500),
      head: DEBIAN_HEAD.filter((p) => !p.includes('.')),
      releases: (r) => [pick(['Alpine:v3.18', 'Alpine:v3.19', 'Alpine:v3.20', 'Alpine:v3.21'], r)],
      id: (i) => `ALPINE-${cveOf(i)}`,
      version: (r) => `${Math.floor(r() * 10)}.${Math.floor(r() * 20)}.${Math.floor(r() * 9)}-r${Math.floor(r() * 9)}`,
      purlType: 'apk/alpine',
    },
    {
      ecosystem: 'Red Hat',
      count: n(40_000),
      packages: n(2_500),
      head: DEBIAN_HEAD,
      releases: (r) =>
        r() < 0.5 ? ['Red Hat:enterprise_linux:9::appstream', 'Red Hat:enterprise_linux:9::baseos'] : ['Red Hat:enterprise_linux:8::appstream'],
      id: (i) => `RHSA-${2015 + (i % 10)}:${String(i).padStart(5, '0')}`,
      version: (r) => `0:${Math.floor(r() * 10)}.${Math.floor(r() * 20)}.${Math.floor(r() * 9)}-${1 + Math.floor(r() * 40)}.el9_${Math.floor(r() * 5)}`,
      purlType: 'rpm/redhat',
    },
    ...languages.map(
      ([ecosystem, count, packages, version]): EcosystemSpec => ({
        ecosystem,
        count: n(count),
        packages: n(packages),
        head: LANGUAGE_HEAD[ecosystem] ?? [],
        releases: () => [ecosystem],
        id: (i) =>
          ecosystem === 'Go'
            ? `GO-${2019 + (i % 7)}-${i}`
            : ecosystem === 'crates.io'
              ? `RUSTSEC-${2017 + (i % 8)}-${String(i).padStart(4, '0')}`
              : ghsa(i + ecosystem.length * 1_000_003),
        version,
      }),
    ),
  ];
}

/** Package index for a record: a power law, so index 0 (`linux`) gets thousands, most a handful. */
const skewedPackage = (r: () => number, packages: number): number => Math.min(packages - 1, Math.floor(packages * r() ** 4));

function packageName(spec: EcosystemSpec, index: number): string {
  const head = spec.head[index];
  if (head) return head;
  if (spec.ecosystem === 'Maven') return `org.example${index % 97}:artifact-${index}`;
  if (spec.ecosystem === 'Go') return `github.com/example${index % 53}/module-${index}`;
  if (spec.ecosystem === 'Packagist') return `vendor${index % 71}/package-${index}`;
  return `pkg-${spec.ecosystem.toLowerCase().replace(/[^a-z]/g, '')}-${index}`;
}

/** Share of records whose fixed version is drawn across the whole range rather than long ago. */
const RECENT_SHARE = 0.05;

const isoDay = (base: number, days: number): string => new Date(base + days * 86_400_000).toISOString().replace('.000Z', 'Z');

function record(
  spec: EcosystemSpec,
  i: number,
  generation: number,
  seed: number,
  changedShare: number,
): { id: string; modified: string; json: string; changedAt: number; withdrawn: boolean } {
  // Per-record stream: the same record comes out the same whatever else changes.
  const r = prng(seed * 1_000_003 + i * 7 + spec.ecosystem.length * 104_729);
  const id = spec.id(i, r);
  const name = packageName(spec, skewedPackage(r, spec.packages));
  // The generation in which this record last changed (1 = never since the base set).
  const draws = Array.from({ length: generation - 1 }, () => r());
  let changedAt = 1;
  draws.forEach((d, g) => {
    if (d < changedShare) changedAt = g + 2;
  });
  // One in ten changed records is withdrawn instead of edited.
  const withdrawn = changedAt > 1 && prng(i * 31 + changedAt)() < 0.1;
  const base = Date.UTC(2020, 0, 1);
  const modified = isoDay(base, (i % 1500) + (changedAt - 1) * 1600);
  const cve = cveOf(i);
  // Most records were fixed long ago (the common case in the real feeds for an up-to-date image):
  // their fixed version sorts below what images ship (major 0). One in twenty is recent: a version
  // drawn across the whole range.
  const recent = r() < RECENT_SHARE;
  const drawn = spec.version(r);
  const version = recent ? drawn : drawn.replace(/^(0:)?\d+\./, (_m, epoch: string | undefined) => `${epoch ?? ''}0.`);
  const fixed = changedAt > 1 ? `${version}.g${changedAt}` : version;
  const affected = spec.releases(r).map((ecosystem) => ({
    package: { ecosystem, name, ...(spec.purlType ? { purl: `pkg:${spec.purlType}/${name}` } : {}) },
    ranges: [{ type: spec.ecosystem === 'Go' || spec.ecosystem === 'crates.io' ? 'SEMVER' : 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }],
    ...(spec.ecosystem === 'Debian' ? { ecosystem_specific: { urgency: pick(['low', 'medium', 'high', 'not yet assigned'], r) } } : {}),
  }));
  const isOs = spec.purlType !== undefined;
  const doc: Record<string, unknown> = {
    schema_version: '1.6.0',
    id,
    modified,
    published: isoDay(base, i % 1500),
    ...(isOs ? { upstream: [cve] } : { aliases: [cve] }),
    summary: `${name}: synthetic issue ${i} in the ${spec.ecosystem} feed`,
    details: `Generated advisory ${id} for benchmarking. `.repeat(1 + Math.floor(r() * 6)),
    affected,
    ...(spec.ecosystem === 'Ubuntu' ? { severity: [{ type: 'Ubuntu', score: pick(['low', 'medium', 'high'], r) }] } : {}),
    ...(!isOs
      ? {
          severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
          database_specific: { severity: pick(['LOW', 'MODERATE', 'HIGH', 'CRITICAL'], r) },
        }
      : {}),
    references: [{ type: 'ADVISORY', url: `https://example.invalid/${spec.ecosystem}/${id}` }],
  };
  if (withdrawn) doc.withdrawn = modified;
  return { id, modified, json: JSON.stringify(doc), changedAt, withdrawn };
}

export function generateBucket(opts: GenerateOptions): GeneratedEcosystem[] {
  const seed = opts.seed ?? 1;
  const generation = opts.generation ?? 1;
  const changedShare = opts.changed ?? 0.01;
  const out: GeneratedEcosystem[] = [];
  for (const spec of specs(opts.scale ?? 1)) {
    const dir = join(opts.out, spec.ecosystem);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const zip = createZipWriter(join(dir, 'all.zip'));
    const modified: [string, string][] = [];
    let changed = 0;
    let withdrawn = 0;
    const seen = new Set<string>();
    for (let i = 0; i < spec.count; i++) {
      const rec = record(spec, i, generation, seed, changedShare);
      if (seen.has(rec.id)) continue; // a synthetic id collision: one record per id, as in a real dump
      seen.add(rec.id);
      if (rec.changedAt === generation && generation > 1) {
        changed++;
        if (rec.withdrawn) withdrawn++;
      }
      // Half the withdrawn records are marked so, the other half disappear from the dump.
      if (rec.withdrawn && i % 2 === 0) continue;
      zip.add({ name: `${rec.id}.json`, content: rec.json });
      modified.push([rec.modified, rec.id]);
      if (rec.changedAt > 1) writeFileSync(join(dir, `${rec.id}.json`), rec.json);
    }
    zip.close();
    // The bucket lists the newest first.
    modified.sort((a, b) => (a[0] < b[0] ? 1 : a[0] > b[0] ? -1 : a[1] < b[1] ? -1 : 1));
    writeFileSync(join(dir, 'modified_id.csv'), modified.map(([m, id]) => `${m},${id}\n`).join(''));
    out.push({ ecosystem: spec.ecosystem, records: seen.size, changed, withdrawn });
  }
  return out;
}

export function defaultBucketDir(generation: number): string {
  // v2: fixed versions mostly long ago (v1 drew them across the whole range: a scan matched most of a package's records)
  return join(process.env.STRATA_INFRA_CACHE ?? join(homedir(), '.cache/strata-infra'), 'advisories-bench', `v2-bucket-g${generation}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      seed: { type: 'string', default: '1' },
      scale: { type: 'string', default: '1' },
      generation: { type: 'string', default: '1' },
      changed: { type: 'string', default: '0.01' },
    },
  });
  const generation = Number(values.generation);
  const out = values.out ?? defaultBucketDir(generation);
  const started = performance.now();
  const result = generateBucket({ out, seed: Number(values.seed), scale: Number(values.scale), generation, changed: Number(values.changed) });
  const total = result.reduce((n, e) => n + e.records, 0);
  for (const e of result)
    console.log(
      `${e.ecosystem.padEnd(10)} ${String(e.records).padStart(7)} records${generation > 1 ? `, ${e.changed} changed (${e.withdrawn} withdrawn)` : ''}`,
    );
  console.log(`${total} records in ${out} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
}
