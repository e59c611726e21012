// Real GHSA records (lodash, urllib3, Jinja2) matched against installed versions. The expected
// findings come from the ecosystems' own range libraries: npm `semver` ranges for lodash and
// Python `packaging` specifier sets for PyPI, built from each record's events.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import semver from 'semver';
import { openAdvisoryIndex, type OsvRecord } from '@strata/advisories';
import { sharedDataDir, skipUnless } from '@strata/testing';
import { matchInventory, ratingForScore, type Finding } from './index.js';
import { appSet, osInventory, pep440Contains, pythonCvssBase } from './testing/index.js';

interface Interval {
  record: OsvRecord;
  lower?: string;
  upper?: { version: string; inclusive: boolean };
}

/** The record's intervals for one package, read pairwise from its (already ordered) events. */
function intervals(records: OsvRecord[], ecosystem: string, name: (n: string) => boolean): Interval[] {
  const out: Interval[] = [];
  for (const record of records) {
    for (const a of record.affected ?? []) {
      if (a.package.ecosystem !== ecosystem || !name(a.package.name)) continue;
      for (const r of a.ranges ?? []) {
        let open: Interval | undefined;
        for (const e of r.events) {
          if (e.introduced !== undefined) open = e.introduced === '0' ? { record } : { record, lower: e.introduced };
          else if (open && (e.fixed !== undefined || e.last_affected !== undefined)) {
            out.push({ ...open, upper: { version: (e.fixed ?? e.last_affected) as string, inclusive: e.fixed === undefined } });
            open = undefined;
          }
        }
        if (open) out.push(open);
      }
    }
  }
  return out;
}

const npmRange = (i: Interval): string =>
  [i.lower ? `>=${i.lower}` : '>=0.0.0', i.upper ? `${i.upper.inclusive ? '<=' : '<'}${i.upper.version}` : ''].join(' ').trim();
const pepSpec = (i: Interval): string =>
  [i.lower ? `>=${i.lower}` : '', i.upper ? `${i.upper.inclusive ? '<=' : '<'}${i.upper.version}` : ''].filter(Boolean).join(',');

/** "<record id> <fixed>" lines the oracle expects for one installed version. */
function expectedLines(ivs: Interval[], contains: boolean[]): string[] {
  const byRecord = new Map<string, Set<string>>();
  ivs.forEach((iv, k) => {
    if (!contains[k]) return;
    const fixed = byRecord.get(iv.record.id) ?? new Set<string>();
    if (iv.upper && !iv.upper.inclusive) fixed.add(iv.upper.version);
    byRecord.set(iv.record.id, fixed);
  });
  return [...byRecord].map(([id, fixed]) => `${id} ${[...fixed].join(', ')}`).sort();
}

const gotLines = (findings: Finding[], path: string): string[] =>
  findings
    .filter((f) => f.target === path)
    .map((f) => `${f.vendorIds.join(',')} ${f.fixedVersion}`)
    .sort();

async function ghsaRecords(): Promise<OsvRecord[]> {
  const dir = join(sharedDataDir() as string, 'osv/ghsa');
  const names = (await readdir(dir)).filter((n) => n.endsWith('.json'));
  return Promise.all(names.map(async (n) => JSON.parse(await readFile(join(dir, n), 'utf8')) as OsvRecord));
}

const LODASH = ['3.6.0', '3.7.0', '4.17.4', '4.17.5', '4.17.11', '4.17.12', '4.17.15', '4.17.19', '4.17.20', '4.17.21'];
const URLLIB3 = ['1.24.1', '1.24.2', '1.25.4', '1.26.5', '1.26.17', '1.26.18', '1.26.19', '2.0.0', '2.0.6', '2.0.7', '2.2.1', '2.2.2'];
const JINJA2 = ['2.8', '2.8.1', '2.10', '2.10.1', '2.11.2', '2.11.3', '3.1.2', '3.1.3', '3.1.4'];

test('GHSA lodash / urllib3 / Jinja2 findings equal what npm semver and Python packaging say', {
  skip: skipUnless('data', 'tool:python3') || skipUnless('python:packaging'),
}, async () => {
  const records = await ghsaRecords();
  const { index } = await openAdvisoryIndex({ dbDir: join(sharedDataDir() as string, 'osv/ghsa') });
  const sets = [
    ...LODASH.map((v) => appSet('npm', `app/lodash-${v}/node_modules/lodash/package.json`, [{ name: 'lodash', version: v }])),
    ...URLLIB3.map((v) => appSet('pypi', `usr/lib/python3/urllib3-${v}.dist-info/METADATA`, [{ name: 'urllib3', version: v }])),
    // The analyzer normalises PyPI names; the index must find "Jinja2" records under "jinja2".
    ...JINJA2.map((v) => appSet('pypi', `usr/lib/python3/Jinja2-${v}.dist-info/METADATA`, [{ name: 'jinja2', version: v }])),
  ];
  const { findings, warnings } = matchInventory(osInventory({ family: 'debian', name: '12' }, [], sets), index);
  assert.deepEqual(warnings, []);

  const lodash = intervals(records, 'npm', (n) => n === 'lodash');
  for (const v of LODASH) {
    const want = expectedLines(
      lodash,
      lodash.map((iv) => semver.satisfies(v, npmRange(iv))),
    );
    assert.deepEqual(gotLines(findings, `app/lodash-${v}/node_modules/lodash/package.json`), want, `lodash ${v}`);
  }
  for (const [pkg, versions, path] of [
    ['urllib3', URLLIB3, (v: string) => `usr/lib/python3/urllib3-${v}.dist-info/METADATA`],
    ['jinja2', JINJA2, (v: string) => `usr/lib/python3/Jinja2-${v}.dist-info/METADATA`],
  ] as const) {
    const ivs = intervals(records, 'PyPI', (n) => n.toLowerCase() === pkg);
    const verdicts = pep440Contains(versions.flatMap((v) => ivs.map((iv) => ({ version: v, spec: pepSpec(iv) }))));
    versions.forEach((v, k) => {
      const want = expectedLines(ivs, verdicts.slice(k * ivs.length, (k + 1) * ivs.length));
      assert.deepEqual(gotLines(findings, path(v)), want, `${pkg} ${v}`);
    });
  }
  // lodash 4.17.15 (the demo image's version) is hit by several advisories.
  assert.ok(findings.filter((f) => f.installedVersion === '4.17.15').length >= 3);
  for (const f of findings) {
    assert.equal(f.vulnerabilityId, f.cves[0]);
    assert.equal(f.cves.length, 1);
    assert.equal(f.dataSource.id, 'ghsa');
    assert.equal(f.targetClass, 'lang-pkgs');
  }
});

test("GHSA severities: the scored CVSS vector (checked against Python cvss), else GitHub's rating", {
  skip: skipUnless('data', 'tool:python3') || skipUnless('python:cvss'),
}, async () => {
  const records = await ghsaRecords();
  const { index } = await openAdvisoryIndex({ dbDir: join(sharedDataDir() as string, 'osv/ghsa') });
  const sets = [
    appSet('npm', 'app/node_modules/lodash/package.json', [{ name: 'lodash', version: '4.17.4' }]),
    appSet('pypi', 'usr/lib/python3/urllib3.dist-info/METADATA', [{ name: 'urllib3', version: '1.24.1' }]),
    appSet('pypi', 'usr/lib/python3/jinja2.dist-info/METADATA', [{ name: 'jinja2', version: '2.8' }]),
  ];
  const { findings } = matchInventory(osInventory({ family: 'debian', name: '12' }, [], sets), index);
  assert.ok(findings.length >= 10);
  const vectors = records.flatMap((r) => (r.severity ?? []).map((s) => ({ type: s.type, vector: s.score })));
  const scores = pythonCvssBase(vectors);
  const oracle = new Map(vectors.map((v, i) => [v.vector, scores[i]]));
  let byCvss = 0;
  let byDatabase = 0;
  for (const f of findings) {
    const record = records.find((r) => r.id === f.vendorIds[0]) as OsvRecord;
    const vector = record.severity?.[0];
    if (vector) {
      const base = oracle.get(vector.score);
      assert.equal(typeof base, 'number');
      assert.equal(f.cvss[0]?.score, base, `${record.id} score`);
      assert.equal(f.severitySource, 'cvss');
      assert.equal(f.severity, ratingForScore(vector.type as 'CVSS_V3', base as number));
      byCvss++;
    } else {
      const rating = String(record.database_specific?.severity);
      assert.equal(f.severitySource, 'database');
      assert.equal(f.severity, rating === 'MODERATE' ? 'MEDIUM' : rating);
      byDatabase++;
    }
  }
  assert.ok(byCvss > 0 && byDatabase > 0, `both rules exercised (cvss ${byCvss}, database ${byDatabase})`);
});
