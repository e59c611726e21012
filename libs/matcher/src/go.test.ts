// The Go vulnerability database (4,291 records, 17 withdrawn) against Go modules and the standard
// library. Expected record sets come from npm `semver` ranges built from each record's SEMVER
// events (the Go database writes semver without the "v"), over every record that is not withdrawn.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import semver from 'semver';
import { openAdvisoryIndex, type AdvisoryIndex, type OsvRecord } from '@strata/advisories';
import { sharedDataDir, skipUnless } from '@strata/testing';
import { matchInventory } from './index.js';
import { appSet, osInventory } from './testing/index.js';

let records: OsvRecord[] = [];
let index: AdvisoryIndex;
const byModule = new Map<string, OsvRecord[]>();

before(async () => {
  if (skipUnless('data')) return;
  const dir = join(sharedDataDir() as string, 'osv/go');
  const names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  records = await Promise.all(names.map(async (n) => JSON.parse(await readFile(join(dir, n), 'utf8')) as OsvRecord));
  index = (await openAdvisoryIndex({ dbDir: dir })).index;
  for (const r of records) {
    for (const name of new Set((r.affected ?? []).map((a) => a.package.name))) byModule.set(name, [...(byModule.get(name) ?? []), r]);
  }
});

/** npm semver range for one SEMVER range's events, read pairwise. */
function rangeOf(events: NonNullable<NonNullable<OsvRecord['affected']>[number]['ranges']>[number]['events']): string {
  const parts: string[] = [];
  let lower: string | undefined;
  for (const e of events) {
    if (e.introduced !== undefined) lower = e.introduced === '0' ? '0.0.0-0' : e.introduced;
    else if (lower !== undefined && e.fixed !== undefined) {
      parts.push(`>=${lower} <${e.fixed}`);
      lower = undefined;
    }
  }
  if (lower !== undefined) parts.push(`>=${lower}`);
  return parts.join(' || ');
}

/** Record ids whose ranges for `module` contain `version`, per the oracle. */
function oracle(module: string, version: string, withWithdrawn = false): string[] {
  const ids = new Set<string>();
  for (const r of byModule.get(module) ?? []) {
    if (r.withdrawn && !withWithdrawn) continue;
    for (const a of r.affected ?? []) {
      if (a.package.name !== module) continue;
      for (const range of a.ranges ?? []) {
        if (range.type === 'SEMVER' && semver.satisfies(version, rangeOf(range.events), { includePrerelease: true })) ids.add(r.id);
      }
    }
  }
  return [...ids].sort();
}

/** Modules to probe: a spread over the database, plus every version named in their events. */
function probes(): { module: string; versions: string[] }[] {
  const active = records.filter((r) => !r.withdrawn);
  const picked = active.filter((_, i) => i % 97 === 0);
  const modules = new Set(picked.flatMap((r) => (r.affected ?? []).map((a) => a.package.name)));
  modules.add('stdlib');
  return [...modules].map((module) => {
    const versions = new Set<string>(['0.0.1']);
    for (const r of byModule.get(module) ?? []) {
      if (r.withdrawn) continue;
      for (const a of r.affected ?? []) {
        if (a.package.name !== module) continue;
        for (const range of a.ranges ?? []) {
          for (const e of range.events) for (const v of [e.introduced, e.fixed]) if (v && v !== '0') versions.add(v);
        }
      }
    }
    // stdlib has hundreds of event versions; a deterministic sample keeps the test quick.
    const list = [...versions].filter((v) => semver.valid(v));
    return { module, versions: module === 'stdlib' ? list.filter((_, i) => i % 7 === 0) : list };
  });
}

test('Go modules and stdlib: matched records equal the oracle; withdrawn records never match', { skip: skipUnless('data') }, async () => {
  const cases = probes();
  assert.ok(cases.length > 30);
  const sets = cases.flatMap(({ module, versions }) =>
    // Go binaries record module versions with a "v" prefix.
    versions.map((v) => appSet('gobinary', `usr/bin/app-${module}@${v}`, [{ name: module, version: `v${v}` }])),
  );
  const { findings, warnings } = matchInventory(osInventory({ family: 'alpine', name: '3.20.3' }, [], sets), index);
  assert.deepEqual(warnings, []);
  const byTarget = new Map<string, Set<string>>();
  for (const f of findings) {
    const ids = byTarget.get(f.target) ?? new Set<string>();
    for (const id of f.vendorIds) ids.add(id);
    byTarget.set(f.target, ids);
  }
  let checked = 0;
  let affected = 0;
  for (const { module, versions } of cases) {
    for (const v of versions) {
      const want = oracle(module, v);
      assert.deepEqual([...(byTarget.get(`usr/bin/app-${module}@${v}`) ?? [])].sort(), want, `${module} v${v}`);
      checked++;
      if (want.length > 0) affected++;
    }
  }
  assert.ok(affected > 50, `${affected} of ${checked} probes are affected`);
  console.log(`go: ${checked} module@version probes, ${affected} affected, all equal to the oracle`);
});

test('withdrawn Go records are skipped even for versions inside their ranges', { skip: skipUnless('data') }, async () => {
  const withdrawn = records.filter((r) => r.withdrawn);
  assert.ok(withdrawn.length > 0);
  let probed = 0;
  for (const r of withdrawn) {
    for (const a of r.affected ?? []) {
      const range = a.ranges?.find((x) => x.type === 'SEMVER');
      const fixed = range?.events.find((e) => e.fixed)?.fixed;
      const intro = range?.events.find((e) => e.introduced)?.introduced;
      if (!range || !intro) continue;
      // A version inside the withdrawn record's range, per the oracle.
      const candidate = [intro === '0' ? '0.0.1' : intro, fixed ? semver.inc(fixed, 'prerelease', 'alpha') : undefined]
        .filter((v): v is string => !!v && semver.valid(v) !== null)
        .find((v) => oracle(a.package.name, v, true).includes(r.id));
      if (!candidate) continue;
      const { findings } = matchInventory(
        osInventory({ family: 'alpine', name: '3.20.3' }, [], [appSet('gobinary', 'usr/bin/app', [{ name: a.package.name, version: `v${candidate}` }])]),
        index,
      );
      assert.ok(!findings.some((f) => f.vendorIds.includes(r.id)), `${r.id} (withdrawn) not reported for ${a.package.name} ${candidate}`);
      probed++;
    }
  }
  assert.ok(probed > 0);
});

test('Go records without severity data are UNKNOWN, with the Go database as data source', { skip: skipUnless('data') }, () => {
  const { findings } = matchInventory(
    osInventory({ family: 'alpine', name: '3.20.3' }, [], [appSet('gobinary', 'usr/bin/app', [{ name: 'github.com/gin-gonic/gin', version: 'v1.5.0' }])]),
    index,
  );
  const f = findings.find((x) => x.vendorIds.includes('GO-2020-0001'));
  assert.ok(f);
  assert.equal(f.vulnerabilityId, 'CVE-2020-36567');
  assert.equal(f.fixedVersion, '1.6.0');
  assert.equal(f.status, 'fixed');
  assert.equal(f.severity, 'UNKNOWN');
  assert.equal(f.severitySource, 'none');
  assert.equal(f.primaryUrl, 'https://pkg.go.dev/vuln/GO-2020-0001');
  assert.equal(f.dataSource.id, 'go-vulndb');
  assert.equal(f.title, 'Arbitrary log line injection in github.com/gin-gonic/gin');
});
