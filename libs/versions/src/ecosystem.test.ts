import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { sharedDataDir, skipUnless } from '@strata/testing';
import { comparator, schemeForEcosystem } from './index.js';

test('schemeForEcosystem maps OSV ecosystem names, with or without a release suffix', () => {
  const table: Array<[string, string | undefined]> = [
    ['Debian:12', 'dpkg'],
    ['Debian', 'dpkg'],
    ['Ubuntu:22.04:LTS', 'dpkg'],
    ['Ubuntu:Pro:18.04:LTS', 'dpkg'],
    ['Alpine:v3.20', 'apk'],
    ['Wolfi', 'apk'],
    ['Chainguard', 'apk'],
    ['Rocky Linux:9', 'rpm'],
    ['AlmaLinux:9', 'rpm'],
    ['Red Hat:enterprise_linux:9::appstream', 'rpm'],
    ['openSUSE:Leap 15.5', 'rpm'],
    ['SUSE:Linux Enterprise Server 15 SP5', 'rpm'],
    ['Mageia:9', 'rpm'],
    ['Azure Linux:3', 'rpm'],
    ['Photon OS:5.0', 'rpm'],
    ['npm', 'semver'],
    ['crates.io', 'semver'],
    ['Go', 'go'],
    ['PyPI', 'pep440'],
    ['Maven', 'maven'],
    ['NuGet', 'nuget'],
    ['RubyGems', 'rubygems'],
    ['Packagist', 'packagist'],
    ['GIT', undefined],
    ['', undefined],
    ['debian:12', undefined], // OSV names are case-sensitive
  ];
  for (const [ecosystem, scheme] of table) assert.equal(schemeForEcosystem(ecosystem), scheme, ecosystem);
});

interface OsvRecord {
  affected?: Array<{
    package: { ecosystem: string; name: string };
    ranges?: Array<{ type: string; events: Array<Record<string, string>> }>;
    versions?: string[];
  }>;
}

test('every version in the shared OSV records (Alpine, GHSA) is accepted by its ecosystem, and ranges ascend', { skip: skipUnless('data') }, (t) => {
  const counts = new Map<string, number>();
  for (const source of ['alpine', 'ghsa']) {
    const dir = join(sharedDataDir()!, 'osv', source);
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
      const record = JSON.parse(readFileSync(join(dir, file), 'utf8')) as OsvRecord;
      for (const affected of record.affected ?? []) {
        const scheme = schemeForEcosystem(affected.package.ecosystem);
        assert.ok(scheme, `${file}: ecosystem ${affected.package.ecosystem}`);
        const c = comparator(scheme);
        for (const v of affected.versions ?? []) assert.ok(c.isValid(v), `${file}: ${v}`);
        counts.set(scheme, (counts.get(scheme) ?? 0) + (affected.versions?.length ?? 0));
        for (const range of affected.ranges ?? []) {
          const points = range.events.flatMap((e) => Object.values(e));
          if (range.events[0]?.introduced === '0') points.shift(); // OSV's "from the start"
          for (const v of points) assert.ok(c.isValid(v), `${file}: ${v}`);
          for (let i = 1; i < points.length; i++) {
            assert.ok(c.compare(points[i - 1]!, points[i]!) < 0, `${file}: ${points[i - 1]} before ${points[i]}`);
          }
          counts.set(scheme, (counts.get(scheme) ?? 0) + points.length);
        }
      }
    }
  }
  assert.deepEqual([...counts.keys()].sort(), ['apk', 'pep440', 'semver']);
  t.diagnostic(`versions checked: ${JSON.stringify(Object.fromEntries(counts))}`);
});
