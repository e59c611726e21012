import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import type { AffectedEntry, IndexedRecord } from '@strata/advisories';
import { skipUnless } from '@strata/testing';
import { chooseSeverity, scoreRecord, scoreVector, vendorSeverity } from './index.js';
import { pythonCvssBase } from './testing/index.js';

const VECTORS = [
  { type: 'CVSS_V2', vector: 'AV:N/AC:L/Au:N/C:P/I:P/A:P' },
  { type: 'CVSS_V2', vector: 'AV:L/AC:H/Au:S/C:N/I:P/A:N' },
  { type: 'CVSS_V3', vector: 'CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' },
  { type: 'CVSS_V3', vector: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:H' },
  { type: 'CVSS_V3', vector: 'CVSS:3.1/AV:L/AC:L/PR:L/UI:R/S:C/C:L/I:N/A:N' },
  { type: 'CVSS_V3', vector: 'CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N' },
  { type: 'CVSS_V4', vector: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N' },
  { type: 'CVSS_V4', vector: 'CVSS:4.0/AV:L/AC:H/AT:P/PR:L/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N' },
  { type: 'CVSS_V4', vector: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:N/VI:L/VA:N/SC:N/SI:N/SA:N' },
];

test('CVSS v2, v3.0, v3.1 and v4.0 base scores equal Python cvss; ratings equal its qualitative ones', {
  skip: skipUnless('tool:python3') || skipUnless('python:cvss'),
}, () => {
  const base = pythonCvssBase(VECTORS);
  const ratings = JSON.parse(
    execFileSync(
      'python3',
      [
        '-c',
        [
          'import json, sys',
          'from cvss import CVSS3, CVSS4',
          'out = []',
          'for v in json.load(sys.stdin):',
          '    out.append(None if v["type"] == "CVSS_V2" else (CVSS3(v["vector"]).severities()[0] if v["type"] == "CVSS_V3" else CVSS4(v["vector"]).severity))',
          'print(json.dumps(out))',
        ].join('\n'),
      ],
      { input: JSON.stringify(VECTORS) },
    ).toString(),
  ) as (string | null)[];
  VECTORS.forEach((v, i) => {
    const s = scoreVector(v.type, v.vector, 'TEST-1');
    assert.ok(s, v.vector);
    assert.equal(s.score, base[i], v.vector);
    const rating = ratings[i];
    if (rating) assert.equal(s.severity, rating === 'None' ? 'LOW' : rating.toUpperCase(), v.vector);
  });
});

test('vectors the calculator refuses, or of the wrong declared type, are not scored', () => {
  assert.equal(scoreVector('CVSS_V3', 'CVSS:3.1/AV:N', 'X'), undefined);
  assert.equal(scoreVector('CVSS_V3', 'not a vector', 'X'), undefined);
  assert.equal(scoreVector('CVSS_V3', 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', 'X'), undefined);
  assert.equal(scoreVector('Ubuntu', 'high', 'X'), undefined);
});

test('vendor ratings: Debian urgency (unimportant is LOW) and Ubuntu priority', () => {
  const deb = (rating: string) => vendorSeverity({ vendor: 'debian', rating });
  assert.equal(deb('unimportant'), 'LOW');
  assert.equal(deb('low'), 'LOW');
  assert.equal(deb('low**'), 'LOW');
  assert.equal(deb('medium'), 'MEDIUM');
  assert.equal(deb('high'), 'HIGH');
  assert.equal(deb('not yet assigned'), undefined);
  assert.equal(deb('end-of-life'), undefined);
  const ubu = (rating: string) => vendorSeverity({ vendor: 'ubuntu', rating });
  assert.equal(ubu('negligible'), 'LOW');
  assert.equal(ubu('critical'), 'CRITICAL');
  assert.equal(ubu('untriaged'), undefined);
});

function record(partial: Partial<IndexedRecord>): IndexedRecord {
  return { id: 'X-1', aliases: [], upstream: [], cves: [], modified: '2024-01-01T00:00:00Z', severity: [], references: [], origin: 'x.json', ...partial };
}
function entry(rec: IndexedRecord, partial: Partial<AffectedEntry> = {}): AffectedEntry {
  return { recordId: rec.id, ecosystem: 'Debian:12', name: 'pkg', ranges: [], record: rec, ...partial };
}
const evidence = (rec: IndexedRecord, affected: AffectedEntry[]) => ({ record: rec, affected, cvss: scoreRecord(rec, affected) });

test('severity rules in order: vendor, then CVSS, then database_specific, then UNKNOWN', () => {
  const v3 = { type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' };
  const withAll = record({ severity: [v3], databaseSeverity: 'LOW' });
  // 1. vendor wins over a CRITICAL vector; "not yet assigned" falls through.
  assert.deepEqual(chooseSeverity([evidence(withAll, [entry(withAll, { vendorRating: { vendor: 'debian', rating: 'unimportant' } })])]), {
    severity: 'LOW',
    source: 'vendor',
    vendor: { vendor: 'debian', rating: 'unimportant' },
    from: 'X-1',
  });
  const nya = chooseSeverity([evidence(withAll, [entry(withAll, { vendorRating: { vendor: 'debian', rating: 'not yet assigned' } })])]);
  assert.deepEqual([nya.severity, nya.source], [scoreVector(v3.type, v3.score, 'X-1')?.severity, 'cvss']);
  // 2. an unusable vector falls through to 3.
  const badVector = record({ severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N' }], databaseSeverity: 'MODERATE' });
  assert.deepEqual(chooseSeverity([evidence(badVector, [entry(badVector)])]), { severity: 'MEDIUM', source: 'database', from: 'X-1' });
  // 4. nothing at all.
  const bare = record({});
  assert.deepEqual(chooseSeverity([evidence(bare, [entry(bare)])]), { severity: 'UNKNOWN', source: 'none' });
  // An affected-level vector counts, and v4 is preferred over v3 when both are there.
  const v4 = { type: 'CVSS_V4', score: 'CVSS:4.0/AV:L/AC:H/AT:P/PR:L/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N' };
  const both = record({ severity: [v3] });
  const scored = scoreRecord(both, [entry(both, { severity: [v4] })]);
  assert.deepEqual(
    scored.map((s) => s.type),
    ['CVSS_V4', 'CVSS_V3'],
  );
  assert.equal(chooseSeverity([{ record: both, affected: [], cvss: scored }]).severity, scored[0]?.severity);
});
