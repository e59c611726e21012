// Matching reads the store in batches: an inventory's names are checked per ecosystem key at once
// (packagesIn), and a package's entries fixed at or below its version are left unread
// (lookupAffecting, by the bound keys the store keeps). Both must give exactly the findings and
// warnings of one full lookup per package, which this test gets from the same store with both
// turned off: on seeded advisory data with prototype-key names, withdrawn and replaced records,
// Debian and Ubuntu (dpkg: epochs, tildes, revisions), Red Hat (rpm: binary and source names,
// tildes, carets), Alpine (apk suffixes), npm, PyPI and Go (pre-releases, SEMVER ranges), DSAs
// folded into per-CVE findings, versions lists, last_affected, limits, ranges the scheme cannot
// sort, entries with ranges in two schemes and installed versions the scheme
// refuses; before and after an incremental update of the store.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openAdvisoryIndex, type AdvisoryIndex, type OsvAffected, type OsvRecord } from '@strata/advisories';
import type { ImageInventory, InventorySet } from '@strata/model';
import { prng } from '@strata/testing';
import { matchInventory } from './index.js';
import { appSet, osInventory, placed } from './testing/index.js';

const temps: string[] = [];
after(async () => {
  for (const d of temps) await rm(d, { recursive: true, force: true });
});

const rand = prng(0x13ba7c4);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;

const NAMES = ['linux', 'openssl', 'constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'zlib', 'glibc', 'curl'];
const DPKG = ['0', '1.0-1', '1.0-1+deb12u1', '1.0-2', '1.0~rc1-1', '1:0.9-1', '1:1.0-1', '2.0-1', '2.0-1~bpo1', '2.0.1-1', '3.0-1ubuntu0.1', '10.0-1'];
const SEMVER = ['0', '1.0.0', '1.0.0-alpha', '1.0.0-rc.1', '1.0.1', '1.2.0', '2.0.0-beta.2', '2.0.0', '2.0.0-beta.11', '3.1.4'];
const GO = ['0', '1.0.0', '1.2.0', '1.10.0', '2.0.0'];
const PYPI = ['0', '1.0', '1.0.post1', '1.0rc1', '2.0', '2.0.1'];
const RPM = ['0', '1.0-1.el9', '1.0-1.el9_2', '1:0.9-1.el9', '1.0~rc1-1.el9', '1.0^git1-1.el9', '2.0-1.el9', '2.0-10.el9', '10.0-1.el9'];
const APK = ['0', '1.0-r0', '1.0-r1', '1.0_rc1-r0', '1.0a-r0', '1.0_p1-r0', '2.0-r0', '10.0-r0'];
const INVALID = ['1.0-', 'not a version!', '1..2..3.4.5.6'];

/** One affected entry for the ecosystem, of a random shape. */
function entry(ecosystem: string, name: string, versions: readonly string[]): OsvAffected {
  const v = (): string => (rand() < 0.03 ? pick(INVALID) : pick(versions.slice(1)));
  const type = ecosystem === 'Go' && rand() < 0.5 ? 'SEMVER' : 'ECOSYSTEM';
  const shape = rand();
  const events =
    shape < 0.55
      ? [{ introduced: '0' }, { fixed: v() }]
      : shape < 0.7
        ? [{ introduced: v() }, { fixed: v() }, { introduced: v() }, { fixed: v() }]
        : shape < 0.8
          ? [{ introduced: v() }, { last_affected: v() }]
          : shape < 0.87
            ? [{ introduced: '0' }, { fixed: v() }, { limit: v() }]
            : shape < 0.93
              ? [{ introduced: v() }]
              : [{ fixed: v() }, { introduced: v() }];
  const a: OsvAffected = { package: { ecosystem, name }, ranges: [{ type, events }] };
  if (rand() < 0.1) a.versions = [v(), v()];
  if (rand() < 0.08) a.ranges = [...(a.ranges ?? []), { type: 'SEMVER', events: [{ introduced: '0' }, { fixed: pick(SEMVER.slice(1)) }] }];
  if (rand() < 0.05) a.ranges = [];
  if (ecosystem === 'Debian:12' && rand() < 0.3) a.ecosystem_specific = { urgency: pick(['low', 'medium', 'high']) };
  return a;
}

/** Per-CVE records, DSAs naming several of their CVEs, withdrawn records, for every ecosystem. */
function records(generation: number): OsvRecord[] {
  const out: OsvRecord[] = [];
  const ecosystems: [string, readonly string[]][] = [
    ['Debian:12', DPKG],
    ['Ubuntu:22.04:LTS', DPKG],
    ['npm', SEMVER],
    ['Go', GO],
    ['PyPI', PYPI],
    ['Red Hat:enterprise_linux:9::appstream', RPM],
    ['Alpine:v3.20', APK],
  ];
  let n = 0;
  for (const [ecosystem, versions] of ecosystems) {
    for (const name of NAMES) {
      const count = name === 'linux' ? 60 : 4 + Math.floor(rand() * 8);
      const cves: string[] = [];
      for (let i = 0; i < count; i++) {
        const cve = `CVE-2099-${String(10000 + n++).padStart(5, '0')}`;
        cves.push(cve);
        const os = ecosystem.includes(':');
        out.push({
          id: os ? `${ecosystem.startsWith('Debian') ? 'DEBIAN' : 'UBUNTU'}-${cve}` : `GHSA-${ecosystem.toLowerCase()}-${name}-${i}`,
          modified: `2024-0${generation}-01T00:00:00Z`,
          ...(os ? { upstream: [cve] } : { aliases: [cve] }),
          summary: `${name} ${i}`,
          affected: Array.from({ length: 1 + (rand() < 0.2 ? 1 : 0) }, () => entry(ecosystem, name, versions)),
          ...(rand() < 0.08 ? { withdrawn: '2024-02-01T00:00:00Z' } : {}),
        });
      }
      if (ecosystem === 'Debian:12' && cves.length >= 3) {
        out.push({
          id: `DSA-${name}-${generation}`,
          modified: `2024-0${generation}-01T00:00:00Z`,
          upstream: cves.slice(0, 3),
          affected: [{ package: { ecosystem, name }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: pick(DPKG.slice(1)) }] }] }],
        });
      }
    }
  }
  return out;
}

/** Every name at every version of its ecosystem (and a refused one): Debian 12, Ubuntu 22.04, RHEL 9 and Alpine 3.20 images. */
function inventories(): ImageInventory[] {
  const dpkgPackages = NAMES.flatMap((src) =>
    [...DPKG, INVALID[0] as string].map((version, i) => ({
      type: 'dpkg' as const,
      name: `${src}-bin${i}`,
      version,
      srcName: src,
      purl: `pkg:deb/debian/${src}-bin${i}@${version}`,
    })),
  );
  const apps: InventorySet[] = [
    appSet(
      'npm',
      'app/package-lock.json',
      NAMES.flatMap((name) => [...SEMVER, INVALID[1] as string].map((version) => ({ name, version }))),
    ),
    appSet(
      'gobinary',
      'usr/bin/app',
      NAMES.flatMap((name) => GO.map((version) => ({ name, version: `v${version}` }))),
    ),
    appSet(
      'pypi',
      'usr/lib/python3/dist-packages',
      NAMES.flatMap((name) => PYPI.map((version) => ({ name, version }))),
    ),
  ];
  const rpmPackages = NAMES.flatMap((src) =>
    RPM.slice(1).map((evr, i) => {
      const epoch = evr.includes(':') ? Number(evr.slice(0, evr.indexOf(':'))) : undefined;
      const [version = '', release = ''] = evr.replace(/^\d+:/, '').split('-');
      return {
        type: 'rpm' as const,
        name: i % 2 === 0 ? src : `${src}-libs${i}`,
        version,
        release,
        ...(epoch !== undefined ? { epoch } : {}),
        srcName: src,
        purl: `pkg:rpm/redhat/${src}-libs${i}@${evr}`,
      };
    }),
  );
  const apkPackages = NAMES.flatMap((src) =>
    APK.slice(1).map((version, i) => ({
      type: 'apk' as const,
      name: `${src}-sub${i}`,
      version,
      srcName: src,
      purl: `pkg:apk/alpine/${src}-sub${i}@${version}`,
    })),
  );
  return [
    osInventory({ family: 'debian', name: '12' }, placed(dpkgPackages, 'var/lib/dpkg/status'), apps),
    osInventory({ family: 'ubuntu', name: '22.04' }, placed(dpkgPackages, 'var/lib/dpkg/status')),
    osInventory({ family: 'redhat', name: '9.3' }, placed(rpmPackages, 'var/lib/rpm/rpmdb.sqlite')),
    osInventory({ family: 'alpine', name: '3.20.3' }, placed(apkPackages, 'lib/apk/db/installed')),
  ];
}

/** The same store with both batched paths off: every package is looked up whole, one by one. */
function oneByOne(index: AdvisoryIndex): AdvisoryIndex {
  return {
    manifest: index.manifest,
    version: index.version,
    lookup: (key, name) => index.lookup(key, name),
    lookupAffecting: () => undefined,
    packagesIn: (_key, names) => new Set(names),
    hasEcosystem: (key) => index.hasEcosystem(key),
    ecosystems: () => index.ecosystems(),
    record: (id) => index.record(id),
    recordIds: (id) => index.recordIds(id),
    manifestRecord: (id) => index.manifestRecord(id),
    manifestRecords: () => index.manifestRecords(),
  };
}

function assertSameMatches(index: AdvisoryIndex): number {
  let findings = 0;
  for (const inventory of inventories()) {
    const batched = matchInventory(inventory, index);
    const single = matchInventory(inventory, oneByOne(index));
    assert.deepEqual(batched.warnings, single.warnings);
    assert.deepEqual(batched.findings, single.findings);
    assert.ok(batched.findings.length > 20, `${inventory.os?.family}: ${batched.findings.length} findings: the data must hit`);
    findings += batched.findings.length;
    // and for a re-match limited to some records
    const only = new Set(single.findings.filter((_, i) => i % 3 === 0).flatMap((f) => f.vendorIds));
    assert.deepEqual(matchInventory(inventory, index, { onlyRecords: only }), matchInventory(inventory, oneByOne(index), { onlyRecords: only }));
  }
  return findings;
}

test('batched lookups give exactly the findings and warnings of one full lookup per package, before and after an incremental update', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-match-batched-'));
  const cacheDir = await mkdtemp(join(tmpdir(), 'strata-match-batched-cache-'));
  temps.push(dir, cacheDir);
  const first = records(1);
  await writeFile(join(dir, 'all.json'), JSON.stringify(first));
  const built = await openAdvisoryIndex({ dbDir: dir, cacheDir });
  assert.ok(built.rebuilt);
  const findings = assertSameMatches(built.index);
  assert.ok(findings > 100, `${findings} findings: the data must hit`);
  // Names it has and names it lacks, in one batch; prototype keys are names like any other.
  assert.deepEqual([...built.index.packagesIn('npm', ['constructor', '__proto__', 'nope', 'toString'])].sort(), ['__proto__', 'constructor', 'toString']);
  assert.deepEqual([...built.index.packagesIn('debian:12', ['__proto__', 'nope'])], ['__proto__']);
  assert.deepEqual([...built.index.packagesIn('no-such-key', ['linux'])], []);

  // An update: a third of the records rewritten (another fixed version, some withdrawn), new ones added.
  const second = records(2).filter((_, i) => i % 3 === 0);
  await writeFile(join(dir, 'update.json'), JSON.stringify(second));
  const updated = await openAdvisoryIndex({ dbDir: dir, cacheDir });
  assert.ok(updated.rebuilt);
  assertSameMatches(updated.index);
  // The package list follows the update: a package whose every record is withdrawn has no rows.
  const gone = await mkdtemp(join(tmpdir(), 'strata-match-batched-gone-'));
  temps.push(gone);
  await writeFile(join(gone, 'all.json'), JSON.stringify(first));
  const goneCache = await mkdtemp(join(tmpdir(), 'strata-match-batched-gone-cache-'));
  temps.push(goneCache);
  await openAdvisoryIndex({ dbDir: gone, cacheDir: goneCache });
  const withdrawn = first.filter((r) => r.affected?.some((a) => a.package.ecosystem === 'npm' && a.package.name === 'constructor'));
  await writeFile(
    join(gone, 'withdrawn.json'),
    JSON.stringify(withdrawn.map((r) => ({ ...r, modified: '2025-01-01T00:00:00Z', withdrawn: '2025-01-01T00:00:00Z' }))),
  );
  const after = await openAdvisoryIndex({ dbDir: gone, cacheDir: goneCache });
  assert.deepEqual([...after.index.packagesIn('npm', ['constructor', 'toString'])], ['toString']);
  assert.deepEqual(after.index.lookup('npm', 'constructor'), []);
  assertSameMatches(after.index);
});
