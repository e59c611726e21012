// Matching for crates.io, Packagist, RubyGems and NuGet on records written here (the shared data
// holds no OSV records for these ecosystems): fixed below installed, installed = fixed, unfixed,
// withdrawn, and the edge cases of each ecosystem's version and name rules. Where the ecosystem's
// own tool runs here (Ruby's Gem::Version, composer/semver under php), it confirms every
// "installed < fixed" verdict the expected findings rest on.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { type AdvisoryIndex, type OsvRecord } from '@strata/advisories';
import type { PackageType } from '@strata/model';
import { skipUnless, tempDirs } from '@strata/testing';
import { matchInventory } from './index.js';
import { advisoryDb, appSet, osInventory } from './testing/index.js';

const tempDir = tempDirs('strata-match-new');
const db = async (records: OsvRecord[]): Promise<AdvisoryIndex> => (await advisoryDb(await tempDir(), records)).index;

type Events = Record<string, string>[];
const cveOf = (id: string): string => `CVE-2099-${id.replace(/\D/g, '')}`;
const rec = (
  id: string,
  ecosystem: string,
  name: string,
  events: Events,
  extra: Partial<OsvRecord> & { rangeType?: 'ECOSYSTEM' | 'SEMVER' } = {},
): OsvRecord => {
  const { rangeType = 'ECOSYSTEM', ...rest } = extra;
  return {
    id,
    modified: '2026-01-01T00:00:00Z',
    aliases: [cveOf(id)],
    affected: [{ package: { ecosystem, name }, ranges: [{ type: rangeType, events }] }],
    ...rest,
  };
};

interface Case {
  type: PackageType;
  ecosystem: string;
  records: OsvRecord[];
  /** installed name and version */
  packages: Array<[string, string]>;
  /** "<name> <installed> <record> <fixed>" lines */
  expected: string[];
}

const withdrawn = { withdrawn: '2026-02-01T00:00:00Z' };

const CASES: Case[] = [
  {
    type: 'cargo',
    ecosystem: 'crates.io',
    records: [
      // crates.io records use SEMVER ranges (RustSec): strict SemVer 2.0.0 precedence.
      rec('GHSA-0001-0001-0001', 'crates.io', 'smallvec', [{ introduced: '0.6.10' }, { fixed: '0.6.14' }, { introduced: '1.0.0' }, { fixed: '1.6.1' }], {
        rangeType: 'SEMVER',
      }),
      rec('GHSA-0001-0001-0002', 'crates.io', 'time', [{ introduced: '0' }, { fixed: '0.2.23' }], { rangeType: 'SEMVER' }),
      rec('GHSA-0001-0001-0003', 'crates.io', 'lazy-rs', [{ introduced: '0' }], { rangeType: 'SEMVER' }),
      rec('GHSA-0001-0001-0004', 'crates.io', 'smallvec', [{ introduced: '0' }, { fixed: '9.0.0' }], { rangeType: 'SEMVER', ...withdrawn }),
      rec('GHSA-0001-0001-0005', 'crates.io', 'regex', [{ introduced: '0' }, { fixed: '1.5.5' }], { rangeType: 'SEMVER' }),
    ],
    packages: [
      ['smallvec', '1.6.0'],
      ['time', '0.2.23'],
      ['lazy-rs', '0.1.0'],
      ['regex', '1.5.5-alpha.1'],
      ['Regex', '1.0.0'],
    ],
    expected: [
      'lazy-rs 0.1.0 GHSA-0001-0001-0003 ', // unfixed
      'regex 1.5.5-alpha.1 GHSA-0001-0001-0005 1.5.5', // a pre-release sorts below its release
      'smallvec 1.6.0 GHSA-0001-0001-0001 1.6.1', // second range; the withdrawn record is not reported
      // time 0.2.23 = fixed: none; "Regex" is another crate name (crate names are matched as written)
    ],
  },
  {
    type: 'composer',
    ecosystem: 'Packagist',
    records: [
      rec('GHSA-0002-0001-0001', 'Packagist', 'symfony/http-kernel', [{ introduced: '5.0.0' }, { fixed: '5.4.20' }]),
      rec('GHSA-0002-0001-0002', 'Packagist', 'guzzlehttp/guzzle', [{ introduced: '7.0.0' }, { fixed: '7.4.5' }]),
      rec('GHSA-0002-0001-0003', 'Packagist', 'Monolog/Monolog', [{ introduced: '1.0.0' }, { fixed: '1.25.2' }]),
      rec('GHSA-0002-0001-0004', 'Packagist', 'twig/twig', [{ introduced: '3.0.0' }, { fixed: '3.4.3' }]),
      rec('GHSA-0002-0001-0005', 'Packagist', 'twig/twig', [{ introduced: '0' }, { fixed: '3.9.0' }], withdrawn),
      rec('GHSA-0002-0001-0006', 'Packagist', 'league/flysystem', [{ introduced: '1.0.0' }]),
      rec('GHSA-0002-0001-0007', 'Packagist', 'laravel/framework', [{ introduced: '0' }, { fixed: '9.1.0' }]),
    ],
    packages: [
      ['symfony/http-kernel', 'v5.4.0'], // "v" prefix, as installed.json writes it
      ['guzzlehttp/guzzle', '7.4.5'], // = fixed
      ['monolog/monolog', '1.25.1'], // names are case-insensitive on Packagist
      ['twig/twig', 'v3.4.3-RC1'], // a release candidate sorts below the release
      ['league/flysystem', '1.1.10'], // unfixed
      ['laravel/framework', '9.1.0-p1'], // a patch release sorts above the release
    ],
    expected: [
      'league/flysystem 1.1.10 GHSA-0002-0001-0006 ',
      'monolog/monolog 1.25.1 GHSA-0002-0001-0003 1.25.2',
      'symfony/http-kernel v5.4.0 GHSA-0002-0001-0001 5.4.20',
      'twig/twig v3.4.3-RC1 GHSA-0002-0001-0004 3.4.3',
    ],
  },
  {
    type: 'gem',
    ecosystem: 'RubyGems',
    records: [
      rec('GHSA-0003-0001-0001', 'RubyGems', 'nokogiri', [{ introduced: '0' }, { fixed: '1.13.10' }]),
      rec('GHSA-0003-0001-0002', 'RubyGems', 'rack', [{ introduced: '2.0.0' }, { fixed: '2.2.6.3' }]),
      rec('GHSA-0003-0001-0003', 'RubyGems', 'actionpack', [{ introduced: '7.0.0' }, { fixed: '7.0.4.1' }]),
      rec('GHSA-0003-0001-0004', 'RubyGems', 'rexml', [{ introduced: '0' }, { fixed: '3.2.5' }]),
      rec('GHSA-0003-0001-0005', 'RubyGems', 'rexml', [{ introduced: '0' }, { fixed: '9.0' }], withdrawn),
      rec('GHSA-0003-0001-0006', 'RubyGems', 'yaml-unsafe', [{ introduced: '0' }]),
      rec('GHSA-0003-0001-0007', 'RubyGems', 'Nokogiri', [{ introduced: '0' }, { fixed: '99' }]),
    ],
    packages: [
      ['nokogiri', '1.13.10.rc1'], // a prerelease sorts below its release
      ['rack', '2.2.6.2'], // four and more parts
      ['actionpack', '7.0.4'], // 7.0.4 < 7.0.4.1
      ['rexml', '3.2.5.0'], // trailing zero: = fixed
      ['yaml-unsafe', '0.1'],
    ],
    expected: [
      'actionpack 7.0.4 GHSA-0003-0001-0003 7.0.4.1',
      'nokogiri 1.13.10.rc1 GHSA-0003-0001-0001 1.13.10', // "Nokogiri" is another gem: gem names are case-sensitive
      'rack 2.2.6.2 GHSA-0003-0001-0002 2.2.6.3',
      'yaml-unsafe 0.1 GHSA-0003-0001-0006 ',
    ],
  },
  {
    type: 'nuget',
    ecosystem: 'NuGet',
    records: [
      rec('GHSA-0004-0001-0001', 'NuGet', 'Newtonsoft.Json', [{ introduced: '0' }, { fixed: '13.0.1' }]),
      rec('GHSA-0004-0001-0002', 'NuGet', 'System.Text.Encodings.Web', [{ introduced: '4.0.0' }, { fixed: '4.5.1' }]),
      rec('GHSA-0004-0001-0003', 'NuGet', 'Microsoft.Data.SqlClient', [{ introduced: '2.1.0' }, { fixed: '2.1.2' }]),
      rec('GHSA-0004-0001-0004', 'NuGet', 'System.Net.Http', [{ introduced: '4.1.0' }, { fixed: '4.1.2.1' }]),
      rec('GHSA-0004-0001-0005', 'NuGet', 'Serilog', [{ introduced: '0' }, { fixed: '9.0.0' }], withdrawn),
      rec('GHSA-0004-0001-0006', 'NuGet', 'SharpZipLib', [{ introduced: '1.0.0' }]),
    ],
    packages: [
      ['newtonsoft.json', '12.0.3'], // ids are case-insensitive
      ['System.Text.Encodings.Web', '4.5.1'], // = fixed
      ['Microsoft.Data.SqlClient', '2.1.2-PREVIEW1'], // a pre-release sorts below its release
      ['System.Net.Http', '4.1.2'], // 4.1.2 = 4.1.2.0 < 4.1.2.1
      ['Serilog', '2.10.0'],
      ['SharpZipLib', '1.3.3'],
    ],
    expected: [
      'Microsoft.Data.SqlClient 2.1.2-PREVIEW1 GHSA-0004-0001-0003 2.1.2',
      'SharpZipLib 1.3.3 GHSA-0004-0001-0006 ',
      'System.Net.Http 4.1.2 GHSA-0004-0001-0004 4.1.2.1',
      'newtonsoft.json 12.0.3 GHSA-0004-0001-0001 13.0.1',
    ],
  },
];

for (const c of CASES) {
  test(`${c.ecosystem}: fixed below, fixed equal, unfixed, withdrawn and the ecosystem's version and name rules`, async () => {
    const index = await db(c.records);
    const path = `app/${c.type}`;
    const set = appSet(
      c.type,
      path,
      c.packages.map(([name, version]) => ({ name, version })),
    );
    const result = matchInventory(osInventory({ family: 'debian', name: '12' }, [], [set]), index);
    assert.deepEqual(result.warnings, []);
    const got = result.findings.map((f) => `${f.pkgName} ${f.installedVersion} ${f.vendorIds.join(',')} ${f.fixedVersion}`).sort();
    assert.deepEqual(got, [...c.expected].sort());
    for (const f of result.findings) {
      assert.equal(f.targetClass, 'lang-pkgs');
      assert.equal(f.status, f.fixedVersion ? 'fixed' : 'affected');
      assert.equal(f.vulnerabilityId, cveOf(f.vendorIds[0]!));
    }
  });
}

/** Every (installed, fixed) pair of a case, with whether the installed version is below the fix. */
function belowPairs(c: Case): Array<{ installed: string; fixed: string; below: boolean }> {
  const out: Array<{ installed: string; fixed: string; below: boolean }> = [];
  for (const [name, installed] of c.packages) {
    for (const r of c.records) {
      if (r.withdrawn) continue;
      for (const a of r.affected ?? []) {
        if (a.package.name !== name) continue;
        for (const e of a.ranges?.[0]?.events ?? []) {
          if (e.fixed === undefined) continue;
          out.push({ installed, fixed: e.fixed, below: c.expected.some((l) => l.startsWith(`${name} ${installed} ${r.id} `) && l.endsWith(` ${e.fixed}`)) });
        }
      }
    }
  }
  return out;
}

/** Runs the oracle with one "installed fixed" line per pair; it prints true/false per line (installed < fixed). */
function assertOracleAgrees(command: string, args: string[], pairs: ReturnType<typeof belowPairs>): void {
  const out = execFileSync(command, args, { input: pairs.map((p) => `${p.installed} ${p.fixed}\n`).join('') })
    .toString()
    .trim()
    .split('\n');
  assert.deepEqual(
    out,
    pairs.map((p) => String(p.below)),
  );
}

test('RubyGems: Ruby Gem::Version agrees with every installed/fixed verdict above', { skip: skipUnless('tool:ruby') }, () => {
  const c = CASES.find((x) => x.ecosystem === 'RubyGems')!;
  const pairs = belowPairs(c);
  const script = 'STDIN.each_line { |l| a, b = l.split; puts(Gem::Version.new(a) < Gem::Version.new(b)) }';
  assertOracleAgrees('ruby', ['-e', script], pairs);
});

const AUTOLOAD = '/usr/share/php/Composer/Semver/autoload.php';
test('Packagist: composer/semver agrees with every installed/fixed verdict above', {
  skip: skipUnless('tool:php') || (existsSync(AUTOLOAD) ? false : 'php-composer-semver not installed'),
}, () => {
  const c = CASES.find((x) => x.ecosystem === 'Packagist')!;
  const pairs = belowPairs(c);
  const script = `require '${AUTOLOAD}'; $p = new Composer\\Semver\\VersionParser();
    while (($l = fgets(STDIN)) !== false) { [$a, $b] = explode(' ', trim($l)); echo Composer\\Semver\\Comparator::lessThan($p->normalize($a), $p->normalize($b)) ? 'true' : 'false', "\\n"; }`;
  assertOracleAgrees('php', ['-r', script], pairs);
});

test('conda packages are inventoried but not matched: OSV has no conda ecosystem', async () => {
  const index = await db(CASES[0]!.records);
  const set = appSet('conda', 'opt/conda/conda-meta', [{ name: 'openssl', version: '1.1.1' }]);
  const result = matchInventory(osInventory({ family: 'debian', name: '12' }, [], [set]), index);
  assert.deepEqual(result.findings, []);
  assert.deepEqual(result.warnings, []);
});
