// The repo's sample advisories (fixtures/advisories) against the packages of a debootstrap
// minbase bookworm root. Input: dpkg status stanzas as that root lists them; expected findings:
// `dpkg --compare-versions` (the real dpkg) over every record, withdrawn records excluded.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { openAdvisoryIndex, type AdvisoryIndex, type OsvRecord } from '@strata/advisories';
import { parseDpkgStatus } from '@strata/analyzers';
import type { InventoryPackage } from '@strata/model';
import { repoRoot, skipUnless } from '@strata/testing';
import { filterFindings, matchInventory, parseIgnoreFile } from './index.js';
import { appSet, dpkgCompare, osInventory, placed } from './testing/index.js';

const FIXTURES = join(repoRoot, 'fixtures/advisories');

// Stanzas of the minbase root's var/lib/dpkg/status (bookworm main), for the packages the sample
// records name, plus one (ncurses-base) that none names.
const STATUS = `
Package: libpcre2-8-0
Status: install ok installed
Architecture: amd64
Source: pcre2
Version: 10.42-1

Package: libc6
Status: install ok installed
Architecture: amd64
Source: glibc
Version: 2.36-9+deb12u14

Package: libc-bin
Status: install ok installed
Architecture: amd64
Source: glibc
Version: 2.36-9+deb12u14

Package: libbz2-1.0
Status: install ok installed
Architecture: amd64
Source: bzip2 (1.0.8-5)
Version: 1.0.8-5+b1

Package: liblzma5
Status: install ok installed
Architecture: amd64
Source: xz-utils
Version: 5.4.1-1+deb12u1

Package: zlib1g
Status: install ok installed
Architecture: amd64
Source: zlib
Version: 1:1.2.13.dfsg-1

Package: util-linux
Status: install ok installed
Architecture: amd64
Version: 2.38.1-5+deb12u3

Package: libblkid1
Status: install ok installed
Architecture: amd64
Source: util-linux
Version: 2.38.1-5+deb12u3

Package: bsdutils
Status: install ok installed
Architecture: amd64
Source: util-linux (2.38.1-5+deb12u3)
Version: 1:2.38.1-5+deb12u3

Package: ncurses-base
Status: install ok installed
Architecture: all
Source: ncurses
Version: 6.4-4
`;

const records: OsvRecord[] = [];
let index: AdvisoryIndex;
let packages: InventoryPackage[] = [];

before(async () => {
  for (const dir of ['debian', 'ghsa']) {
    for (const name of (await readdir(join(FIXTURES, dir))).filter((n) => n.endsWith('.json'))) {
      records.push(JSON.parse(await readFile(join(FIXTURES, dir, name), 'utf8')) as OsvRecord);
    }
  }
  index = (await openAdvisoryIndex({ dbDir: FIXTURES })).index;
  const parsed = parseDpkgStatus(STATUS, false);
  assert.deepEqual(parsed.warnings, []);
  packages = placed(parsed.packages, 'var/lib/dpkg/status');
});

/** "<binary> <record id> <fixed>" per the dpkg oracle. */
function oracleLines(): string[] {
  const out: string[] = [];
  for (const pkg of packages) {
    for (const r of records) {
      if (r.withdrawn) continue;
      for (const a of r.affected ?? []) {
        if (a.package.ecosystem !== 'Debian:12' || a.package.name !== pkg.srcName) continue;
        const fixed = a.ranges?.[0]?.events.find((e) => e.fixed)?.fixed;
        if (!fixed || dpkgCompare(pkg.srcVersion as string, 'lt', fixed)) out.push(`${pkg.name} ${r.id} ${fixed ?? ''}`);
      }
    }
  }
  return out.sort();
}

test('sample Debian advisories: findings equal dpkg --compare-versions over the source packages', { skip: skipUnless('tool:dpkg') }, () => {
  const { findings, warnings } = matchInventory(osInventory({ family: 'debian', name: '12.12' }, packages), index);
  assert.deepEqual(warnings, []);
  const got = findings.flatMap((f) => f.vendorIds.map((id) => `${f.pkgName} ${id} ${f.fixedVersion}`)).sort();
  assert.deepEqual(got, oracleLines());

  // Coverage the demo relies on: reported fixed, reported unfixed, binary name != source name.
  const pcre = findings.find((f) => f.pkgName === 'libpcre2-8-0');
  assert.equal(pcre?.status, 'fixed');
  assert.equal(pcre?.vulnerabilityId, 'CVE-2026-103111');
  assert.equal(pcre?.severity, 'HIGH');
  assert.equal(pcre?.severitySource, 'vendor');
  assert.deepEqual(pcre?.vendorSeverity, { vendor: 'debian', rating: 'high' });
  const util = findings.filter((f) => f.vulnerabilityId === 'CVE-2022-0563');
  assert.deepEqual(util.map((f) => f.pkgName).sort(), ['bsdutils', 'libblkid1', 'util-linux']);
  for (const f of util) {
    assert.equal(f.status, 'affected');
    assert.equal(f.fixedVersion, '');
    assert.equal(f.severity, 'LOW');
    assert.equal(f.severitySource, 'vendor');
  }
  assert.equal(util.find((f) => f.pkgName === 'bsdutils')?.installedVersion, '1:2.38.1-5+deb12u3');
  // Not reported: fixed below installed (bzip2, glibc), installed = fixed (xz-utils), withdrawn (zlib).
  for (const name of ['libbz2-1.0', 'libc6', 'libc-bin', 'liblzma5', 'zlib1g', 'ncurses-base']) {
    assert.ok(!findings.some((f) => f.pkgName === name), `${name} not reported`);
  }
});

test('a DSA naming several CVEs is folded into the per-CVE findings of the same package', { skip: skipUnless('tool:dpkg') }, () => {
  // An older glibc: DEBIAN-CVE-2023-4911 and DSA-5514-1 both match (fixed in deb12u3);
  // CVE-2023-4527/-4806 have per-CVE records fixed in deb12u2, so the DSA adds nothing of its own.
  const old = packages.filter((p) => p.name === 'libc6').map((p) => ({ ...p, version: '2.36-9+deb12u2', srcVersion: '2.36-9+deb12u2' }));
  assert.ok(dpkgCompare('2.36-9+deb12u2', 'lt', '2.36-9+deb12u3'));
  const { findings } = matchInventory(osInventory({ family: 'debian', name: '12.2' }, old), index);
  assert.equal(findings.length, 1);
  assert.equal(findings[0]?.vulnerabilityId, 'CVE-2023-4911');
  assert.deepEqual(findings[0]?.vendorIds, ['DEBIAN-CVE-2023-4911', 'DSA-5514-1']);
  assert.equal(findings[0]?.fixedVersion, '2.36-9+deb12u3');

  // Older still: each CVE has its own finding, and the DSA id joins all three.
  const older = old.map((p) => ({ ...p, version: '2.36-9+deb12u1', srcVersion: '2.36-9+deb12u1' }));
  const all = matchInventory(osInventory({ family: 'debian', name: '12.1' }, older), index).findings;
  assert.deepEqual(all.map((f) => f.vulnerabilityId).sort(), ['CVE-2023-4527', 'CVE-2023-4806', 'CVE-2023-4911']);
  for (const f of all) assert.ok(f.vendorIds.includes('DSA-5514-1') && f.vendorIds.includes(`DEBIAN-${f.vulnerabilityId}`));
});

test('sample GHSA: lodash 4.17.15 in the demo image is CVE-2020-8203, HIGH from its CVSS vector', () => {
  const apps = [appSet('npm', 'usr/lib/node_modules/app/node_modules/lodash/package.json', [{ name: 'lodash', version: '4.17.15' }])];
  const { findings } = matchInventory(osInventory({ family: 'debian', name: '12' }, [], apps), index);
  assert.equal(findings.length, 1);
  const f = findings[0];
  assert.equal(f?.vulnerabilityId, 'CVE-2020-8203');
  assert.deepEqual(f?.vendorIds, ['GHSA-p6mc-m468-83gw']);
  assert.equal(f?.fixedVersion, '4.17.19');
  assert.equal(f?.severitySource, 'cvss');
  assert.equal(f?.severity, 'HIGH');
  assert.equal(f?.targetType, 'node-pkg');
});

test('filters: --severity, --ignore-unfixed and .trivyignore with exp: dates', { skip: skipUnless('tool:dpkg') }, () => {
  const apps = [appSet('npm', 'app/node_modules/lodash/package.json', [{ name: 'lodash', version: '4.17.15' }])];
  const { findings } = matchInventory(osInventory({ family: 'debian', name: '12' }, packages, apps), index);
  const ids = (fs: typeof findings): string[] => [...new Set(fs.map((f) => f.vulnerabilityId))].sort();
  assert.deepEqual(ids(findings), ['CVE-2020-8203', 'CVE-2022-0563', 'CVE-2026-103111']);
  assert.deepEqual(ids(filterFindings(findings, { severities: ['HIGH', 'CRITICAL'] })), ['CVE-2020-8203', 'CVE-2026-103111']);
  assert.deepEqual(ids(filterFindings(findings, { ignoreUnfixed: true })), ['CVE-2020-8203', 'CVE-2026-103111']);

  const file = parseIgnoreFile(
    [
      '# accepted risks',
      'CVE-2022-0563',
      '',
      'GHSA-p6mc-m468-83gw exp:2026-01-01  # by record id; expired',
      'CVE-2026-103111 exp:2027-01-01',
      'CVE-1 exp:soon',
    ].join('\n'),
  );
  assert.deepEqual(file.problems, ['line 6: ignoring unknown option "exp:soon" for CVE-1']);
  const now = new Date('2026-11-26T12:00:00Z');
  assert.deepEqual(ids(filterFindings(findings, { ignore: file.rules, now })), ['CVE-2020-8203']);
  // After 2027-01-01 the pcre2 rule has expired too.
  assert.deepEqual(ids(filterFindings(findings, { ignore: file.rules, now: new Date('2027-01-01T00:00:00Z') })), ['CVE-2020-8203', 'CVE-2026-103111']);
});
