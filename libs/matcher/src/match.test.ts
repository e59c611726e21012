// Matching rules on small databases written here: which name and version each package type is
// looked up by, ecosystem suffixes, and the failure paths that must warn instead of throwing.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { type AdvisoryIndex, type OsvRecord } from '@strata/advisories';
import type { Package } from '@strata/model';
import { skipUnless, tempDirs } from '@strata/testing';
import { matchInventory } from './index.js';
import { advisoryDb, appSet, osInventory, placed } from './testing/index.js';

const tempDir = tempDirs('strata-match');
const db = async (records: OsvRecord[]): Promise<AdvisoryIndex> => (await advisoryDb(await tempDir(), records)).index;

const rec = (id: string, ecosystem: string, name: string, events: Record<string, string>[], extra: Partial<OsvRecord> = {}): OsvRecord => ({
  id,
  modified: '2026-01-01T00:00:00Z',
  affected: [{ package: { ecosystem, name }, ranges: [{ type: 'ECOSYSTEM', events }] }],
  ...extra,
});

test('rpm: binary name and [epoch:]version-release; the source RPM name is looked up too', { skip: skipUnless('tool:rpm') }, async () => {
  const index = await db([
    rec('RHSA-2099:0001', 'Red Hat:enterprise_linux:9::baseos', 'openssl-libs', [{ introduced: '0' }, { fixed: '1:3.0.7-25.el9_3' }], {
      upstream: ['CVE-2099-1001'],
    }),
    rec('RHSA-2099:0002', 'Red Hat:enterprise_linux:9::appstream', 'openssl-libs', [{ introduced: '0' }, { fixed: '1:3.0.7-20.el9' }], {
      upstream: ['CVE-2099-1002'],
    }),
    rec('RLSA-2099:0003', 'Rocky Linux:9', 'openssl', [{ introduced: '0' }, { fixed: '1:3.0.7-27.el9' }], { upstream: ['CVE-2099-1003'] }),
  ]);
  const pkg: Package = {
    type: 'rpm',
    name: 'openssl-libs',
    version: '3.0.7',
    release: '24.el9',
    epoch: 1,
    arch: 'x86_64',
    srcName: 'openssl',
    srcVersion: '3.0.7',
    srcRelease: '24.el9',
    purl: 'pkg:rpm/redhat/openssl-libs@3.0.7-24.el9?epoch=1',
  };
  // Oracle: rpm's own version comparison.
  const rpmLess = (a: string, b: string): boolean =>
    execFileSync('rpm', ['--eval', `%{lua: print(rpm.vercmp("${a}", "${b}"))}`])
      .toString()
      .trim() === '-1';
  const rhel = matchInventory(osInventory({ family: 'redhat', name: '9.3' }, placed([pkg], 'var/lib/rpm/rpmdb.sqlite')), index);
  assert.deepEqual(rhel.warnings, []);
  assert.deepEqual(
    rhel.findings.map((f) => [f.vulnerabilityId, f.installedVersion, f.fixedVersion]),
    [['CVE-2099-1001', '1:3.0.7-24.el9', '1:3.0.7-25.el9_3']].filter(([, inst, fixed]) => rpmLess(inst as string, fixed as string)),
  );
  assert.ok(!rpmLess('1:3.0.7-24.el9', '1:3.0.7-20.el9'), 'the appstream fix is below installed');
  const rocky = matchInventory(osInventory({ family: 'rocky', name: '9.3' }, placed([pkg], 'var/lib/rpm/rpmdb.sqlite')), index);
  assert.deepEqual(
    rocky.findings.map((f) => [f.pkgName, f.vulnerabilityId]),
    [['openssl-libs', 'CVE-2099-1003']],
  );
});

test('Ubuntu: the :LTS suffix matches the OS version; Ubuntu Pro and other releases do not', async () => {
  const index = await db([
    rec('UBUNTU-CVE-2099-2001', 'Ubuntu:22.04:LTS', 'openssl', [{ introduced: '0' }, { fixed: '3.0.2-0ubuntu1.99' }], {
      upstream: ['CVE-2099-2001'],
      severity: [{ type: 'Ubuntu', score: 'medium' }],
    }),
    rec('UBUNTU-CVE-2099-2002', 'Ubuntu:Pro:22.04:LTS', 'openssl', [{ introduced: '0' }, { fixed: '3.0.2-0ubuntu1.99+esm1' }], { upstream: ['CVE-2099-2002'] }),
    rec('UBUNTU-CVE-2099-2003', 'Ubuntu:20.04:LTS', 'openssl', [{ introduced: '0' }, { fixed: '3.0.2-0ubuntu1.99' }], { upstream: ['CVE-2099-2003'] }),
  ]);
  const pkg: Package = {
    type: 'dpkg',
    name: 'libssl3',
    version: '3.0.2-0ubuntu1.10',
    srcName: 'openssl',
    srcVersion: '3.0.2-0ubuntu1.10',
    purl: 'pkg:deb/ubuntu/libssl3',
  };
  const { findings } = matchInventory(osInventory({ family: 'ubuntu', name: '22.04' }, placed([pkg], 'var/lib/dpkg/status')), index);
  assert.deepEqual(
    findings.map((f) => f.vulnerabilityId),
    ['CVE-2099-2001'],
  );
  assert.equal(findings[0]?.severity, 'MEDIUM');
  assert.equal(findings[0]?.severitySource, 'vendor');
  assert.equal(findings[0]?.target, 'ubuntu 22.04');
});

test('invalid versions become warnings on the package; nothing throws and other packages still match', async () => {
  const index = await db([
    rec('ALPINE-CVE-2099-3001', 'Alpine:v3.20', 'busybox', [{ introduced: '0' }, { fixed: '1.36.1-r31' }], { upstream: ['CVE-2099-3001'] }),
    rec('ALPINE-CVE-2099-3002', 'Alpine:v3.20', 'musl', [{ introduced: '0' }, { fixed: 'not a version!' }], { upstream: ['CVE-2099-3002'] }),
    rec('GHSA-aaaa-bbbb-cccc', 'npm', 'left-pad', [{ introduced: '0' }, { fixed: '1.3.0' }], { aliases: ['CVE-2099-3003'] }),
  ]);
  const apk = (name: string, version: string, origin: string): Package => ({
    type: 'apk',
    name,
    version,
    srcName: origin,
    srcVersion: version,
    purl: `pkg:apk/alpine/${name}`,
  });
  const inventory = osInventory(
    { family: 'alpine', name: '3.20.3' },
    placed([apk('busybox', '1.36.1-r29', 'busybox'), apk('ssl_client', 'garbage version', 'busybox'), apk('musl', '1.2.5-r0', 'musl')], 'lib/apk/db/installed'),
    [
      appSet('npm', 'app/node_modules/left-pad/package.json', [{ name: 'left-pad', version: 'latest' }]),
      appSet('npm', 'app2/node_modules/left-pad/package.json', [{ name: 'left-pad', version: '1.1.0' }]),
    ],
  );
  const { findings, warnings } = matchInventory(inventory, index);
  assert.deepEqual(
    findings.map((f) => `${f.pkgName} ${f.vulnerabilityId}`),
    ['busybox CVE-2099-3001', 'left-pad CVE-2099-3003'],
  );
  const messages = warnings.map((w) => `${w.path}: ${w.message}`);
  assert.ok(
    messages.some((m) => m.startsWith('lib/apk/db/installed: ssl_client garbage version: not a valid apk version')),
    messages.join('\n'),
  );
  assert.ok(
    messages.some((m) => m.startsWith('app/node_modules/left-pad/package.json: left-pad latest: not a valid semver version')),
    messages.join('\n'),
  );
  assert.ok(
    messages.some((m) => m.includes('ALPINE-CVE-2099-3002') && m.includes('not a version!')),
    messages.join('\n'),
  );
  assert.ok(warnings.every((w) => w.analyzer === 'matcher'));
});

test('missing data is a warning: no OS detected, no OSV feed for the OS, ecosystem absent from the db', async () => {
  const index = await db([rec('GHSA-dddd-eeee-ffff', 'npm', 'x', [{ introduced: '0' }])]);
  const deb: Package = { type: 'dpkg', name: 'bash', version: '5.2.15-2+b13', srcName: 'bash', srcVersion: '5.2.15-2', purl: 'pkg:deb/debian/bash' };
  const noOs = matchInventory({ osPackages: placed([deb], 'var/lib/dpkg/status'), applications: [], layers: [], warnings: [] }, index);
  assert.match(noOs.warnings[0]?.message ?? '', /OS not detected: 1 OS package/);
  const amazon = matchInventory(osInventory({ family: 'amazon', name: '2023' }, placed([{ ...deb, type: 'rpm' }], 'var/lib/rpm/rpmdb.sqlite')), index);
  assert.match(amazon.warnings[0]?.message ?? '', /OSV publishes no advisories for amazon 2023/);
  const debian = matchInventory(
    osInventory({ family: 'debian', name: '12' }, placed([deb], 'var/lib/dpkg/status'), [appSet('pypi', 'x/METADATA', [{ name: 'jinja2', version: '2.8' }])]),
    index,
  );
  assert.deepEqual(debian.findings, []);
  assert.deepEqual(
    debian.warnings.map((w) => w.message),
    [
      'the advisory database has no Debian:12 records: OS packages were not matched (fetch them with "strata db update")',
      'the advisory database has no PyPI records: PyPI packages were not matched (fetch them with "strata db update")',
    ],
  );
});

test('Go: module versions with "v", stdlib under its own name, (devel) main modules skipped; versions lists and last_affected', async () => {
  const index = await db([
    {
      id: 'GO-2099-0001',
      modified: '2026-01-01T00:00:00Z',
      aliases: ['CVE-2099-4001'],
      affected: [
        {
          package: { ecosystem: 'Go', name: 'stdlib' },
          ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.21.11' }, { introduced: '1.22.0-0' }, { fixed: '1.22.4' }] }],
        },
      ],
    },
    {
      id: 'GO-2099-0002',
      modified: '2026-01-01T00:00:00Z',
      affected: [{ package: { ecosystem: 'Go', name: 'example.com/mod' }, versions: ['1.0.0', '1.0.1'] }],
    },
    {
      id: 'GO-2099-0003',
      modified: '2026-01-01T00:00:00Z',
      affected: [
        { package: { ecosystem: 'Go', name: 'example.com/last' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { last_affected: '2.0.0' }] }] },
      ],
    },
  ]);
  const set = appSet('gobinary', 'usr/local/bin/tool', [
    { name: 'example.com/tool', version: '(devel)', isMainModule: true },
    { name: 'stdlib', version: 'v1.22.1' },
    { name: 'example.com/mod', version: 'v1.0.1' },
    { name: 'example.com/last', version: 'v2.0.0' },
  ]);
  const { findings, warnings } = matchInventory(osInventory({ family: 'alpine', name: '3.20.3' }, [], [set]), index);
  assert.deepEqual(warnings, []);
  assert.deepEqual(
    findings.map((f) => [f.pkgName, f.vulnerabilityId, f.status, f.fixedVersion]),
    [
      ['example.com/last', 'GO-2099-0003', 'affected', ''],
      ['example.com/mod', 'GO-2099-0002', 'affected', ''],
      ['stdlib', 'CVE-2099-4001', 'fixed', '1.22.4'],
    ],
  );
});
