// End to end, embedded: an image holding a Cargo.lock, a Composer vendor/composer/installed.json, an
// installed gemspec and a .NET *.deps.json is scanned against OSV records written here (the shared
// data has no crates.io, Packagist, RubyGems or NuGet records) for each of those ecosystems: the
// analyzers find the packages, the matcher applies each ecosystem's version and name rules, and
// the SARIF, CycloneDX and SPDX reports carry the new package types and their findings.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { renderReport, validateCycloneDx } from '@strata/report';
import { scanImage } from './index.js';
import { ociImage } from './testing/index.js';

const work = mkdtempSync(join(tmpdir(), 'strata-new-ecosystems-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

const record = (id: string, cve: string, ecosystem: string, name: string, events: Record<string, string>[]) => ({
  id,
  aliases: [cve],
  modified: '2026-01-01T00:00:00Z',
  summary: `${name}: test record`,
  affected: [{ package: { ecosystem, name }, ranges: [{ type: ecosystem === 'crates.io' ? 'SEMVER' : 'ECOSYSTEM', events }] }],
});

const RECORDS = [
  record('GHSA-e2e1-0000-0001', 'CVE-2099-31001', 'crates.io', 'smallvec', [{ introduced: '1.0.0' }, { fixed: '1.6.1' }]),
  record('GHSA-e2e1-0000-0002', 'CVE-2099-31002', 'crates.io', 'time', [{ introduced: '0' }, { fixed: '0.2.23' }]),
  record('GHSA-e2e2-0000-0001', 'CVE-2099-32001', 'Packagist', 'symfony/http-kernel', [{ introduced: '5.0.0' }, { fixed: '5.4.20' }]),
  record('GHSA-e2e2-0000-0002', 'CVE-2099-32002', 'Packagist', 'Guzzlehttp/Guzzle', [{ introduced: '7.0.0' }, { fixed: '7.4.5' }]),
  record('GHSA-e2e2-0000-0003', 'CVE-2099-32003', 'Packagist', 'twig/twig', [{ introduced: '3.0.0' }, { fixed: '3.4.3' }]),
  record('GHSA-e2e3-0000-0001', 'CVE-2099-33001', 'RubyGems', 'rack', [{ introduced: '2.0.0' }, { fixed: '2.2.6.3' }]),
  record('GHSA-e2e3-0000-0002', 'CVE-2099-33002', 'RubyGems', 'nokogiri', [{ introduced: '0' }, { fixed: '1.13.10' }]),
  record('GHSA-e2e4-0000-0001', 'CVE-2099-34001', 'NuGet', 'Newtonsoft.Json', [{ introduced: '0' }, { fixed: '13.0.1' }]),
  record('GHSA-e2e4-0000-0002', 'CVE-2099-34002', 'NuGet', 'System.Net.Http', [{ introduced: '4.1.0' }, { fixed: '4.1.2.1' }]),
];

const gemspec = (name: string, version: string): string =>
  `# -*- encoding: utf-8 -*-\n# stub: ${name} ${version} ruby lib\n\nGem::Specification.new do |s|\n  s.name = "${name}".freeze\n  s.version = "${version}"\n  s.licenses = ["MIT".freeze]\nend\n`;

const FILES: Record<string, string> = {
  'etc/os-release': 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n',
  'srv/rust-app/Cargo.lock': [
    'version = 3',
    '',
    '[[package]]',
    'name = "smallvec"',
    'version = "1.6.0"',
    'source = "registry+https://github.com/rust-lang/crates.io-index"',
    '',
    '[[package]]',
    'name = "time"',
    'version = "0.2.23"',
    'source = "registry+https://github.com/rust-lang/crates.io-index"',
    '',
  ].join('\n'),
  'var/www/vendor/composer/installed.json': JSON.stringify({
    packages: [
      { name: 'symfony/http-kernel', version: 'v5.4.0', version_normalized: '5.4.0.0', type: 'library' },
      { name: 'guzzlehttp/guzzle', version: '7.4.4', version_normalized: '7.4.4.0', type: 'library' },
      { name: 'twig/twig', version: 'v3.4.3', version_normalized: '3.4.3.0', type: 'library' },
    ],
    dev: false,
  }),
  'usr/local/bundle/specifications/rack-2.2.6.2.gemspec': gemspec('rack', '2.2.6.2'),
  'usr/local/bundle/specifications/nokogiri-1.13.10.rc1.gemspec': gemspec('nokogiri', '1.13.10.rc1'),
  'app/web.deps.json': JSON.stringify({
    runtimeTarget: { name: '.NETCoreApp,Version=v6.0', signature: '' },
    targets: {
      '.NETCoreApp,Version=v6.0': {
        'web/1.0.0': { dependencies: { 'Newtonsoft.Json': '12.0.3' }, runtime: { 'web.dll': {} } },
        'newtonsoft.json/12.0.3': { runtime: { 'lib/netstandard2.0/Newtonsoft.Json.dll': {} } },
        'System.Net.Http/4.1.2': { runtime: { 'lib/netstandard1.3/System.Net.Http.dll': {} } },
      },
    },
    libraries: {
      'web/1.0.0': { type: 'project', serviceable: false, sha512: '' },
      'newtonsoft.json/12.0.3': { type: 'package', serviceable: true, sha512: 'sha512-x', path: 'newtonsoft.json/12.0.3' },
      'System.Net.Http/4.1.2': { type: 'package', serviceable: true, sha512: 'sha512-y', path: 'system.net.http/4.1.2' },
    },
  }),
};

// Not reported: time 0.2.23 (= fixed), twig v3.4.3 (= fixed 3.4.3).
const EXPECTED = [
  'guzzlehttp/guzzle 7.4.4 CVE-2099-32002 7.4.5', // the record spells it Guzzlehttp/Guzzle: Packagist names are case-insensitive
  'System.Net.Http 4.1.2 CVE-2099-34002 4.1.2.1', // four-part NuGet versions
  'newtonsoft.json 12.0.3 CVE-2099-34001 13.0.1', // a NuGet id differing only in case
  'nokogiri 1.13.10.rc1 CVE-2099-33002 1.13.10', // a RubyGems prerelease
  'rack 2.2.6.2 CVE-2099-33001 2.2.6.3',
  'smallvec 1.6.0 CVE-2099-31001 1.6.1',
  'symfony/http-kernel v5.4.0 CVE-2099-32001 5.4.20', // Composer's "v" prefix
].sort();

test('crates.io, Packagist, RubyGems and NuGet packages in an image get their findings, and every report carries them', async () => {
  const dbDir = join(work, 'db');
  mkdirSync(dbDir, { recursive: true });
  for (const r of RECORDS) writeFileSync(join(dbDir, `${r.id}.json`), JSON.stringify(r));
  const ref = await ociImage(join(work, 'image'), FILES);
  const result = await scanImage(ref, { cacheDir: join(work, 'cache'), dbDir });

  const byType = new Map<string, string[]>();
  for (const set of result.inventory.applications) for (const p of set.packages) byType.set(p.type, [...(byType.get(p.type) ?? []), `${p.name}@${p.version}`]);
  assert.deepEqual(Object.fromEntries([...byType].map(([t, list]) => [t, list.sort()])), {
    cargo: ['smallvec@1.6.0', 'time@0.2.23'],
    composer: ['guzzlehttp/guzzle@7.4.4', 'symfony/http-kernel@v5.4.0', 'twig/twig@v3.4.3'],
    gem: ['nokogiri@1.13.10.rc1', 'rack@2.2.6.2'],
    nuget: ['System.Net.Http@4.1.2', 'newtonsoft.json@12.0.3', 'web@1.0.0'], // the project itself too, as Trivy lists it
  });
  const got = result.findings.map((f) => `${f.pkgName} ${f.installedVersion} ${f.vulnerabilityId} ${f.fixedVersion}`).sort();
  assert.deepEqual(got, EXPECTED);
  assert.deepEqual(
    result.warnings.filter((w) => w.analyzer === 'matcher'),
    [],
  );

  const cves = result.findings.map((f) => f.vulnerabilityId).sort();
  const purls = result.findings.map((f) => f.pkg.purl).sort();
  assert.ok(
    purls.every((p) => /^pkg:(cargo|composer|gem|nuget)\//.test(p)),
    purls.join(' '),
  );

  const sarif = JSON.parse(renderReport(result, 'sarif')) as { runs: { results: { ruleId: string }[] }[] };
  assert.deepEqual(sarif.runs.flatMap((r) => r.results.map((x) => x.ruleId)).sort(), cves);

  const cdxText = renderReport(result, 'cyclonedx');
  assert.equal(await validateCycloneDx(cdxText), null);
  const cdx = JSON.parse(cdxText) as { components: { purl?: string; 'bom-ref': string }[]; vulnerabilities?: { id: string; affects: { ref: string }[] }[] };
  assert.deepEqual((cdx.vulnerabilities ?? []).map((v) => v.id).sort(), cves);
  const refPurl = new Map(cdx.components.map((c) => [c['bom-ref'], c.purl]));
  assert.deepEqual((cdx.vulnerabilities ?? []).flatMap((v) => v.affects.map((a) => refPurl.get(a.ref))).sort(), purls);

  const spdx = JSON.parse(renderReport(result, 'spdx-json')) as { packages: { externalRefs?: { referenceType: string; referenceLocator: string }[] }[] };
  const spdxPurls = new Set(spdx.packages.flatMap((p) => (p.externalRefs ?? []).filter((r) => r.referenceType === 'purl').map((r) => r.referenceLocator)));
  for (const set of result.inventory.applications) for (const p of set.packages) assert.ok(spdxPurls.has(p.purl), p.purl);
});
