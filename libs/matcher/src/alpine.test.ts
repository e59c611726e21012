// The real Alpine 3.20.3 minirootfs package DB against the real Alpine advisories must give exactly
// the findings of osv/alpine/EXPECTED.tsv (every comparison there was made with apk-tools itself).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { openAdvisoryIndex } from '@strata/advisories';
import { detectOs, parseApkInstalled } from '@strata/analyzers';
import { sharedDataDir, skipUnless } from '@strata/testing';
import { isEndOfLife, matchInventory } from './index.js';
import { osInventory, placed } from './testing/index.js';

async function alpineInventory() {
  const root = join(sharedDataDir() as string, 'alpine/3.20.3');
  const installed = parseApkInstalled(await readFile(join(root, 'lib/apk/db/installed'), 'utf8'));
  assert.deepEqual(installed.warnings, []);
  const os = detectOs([{ path: 'etc/os-release', text: await readFile(join(root, 'etc/os-release'), 'utf8') }])?.os;
  assert.ok(os);
  return osInventory(os, placed(installed.packages, 'lib/apk/db/installed'));
}

async function expected(): Promise<Set<string>> {
  const tsv = await readFile(join(sharedDataDir() as string, 'osv/alpine/EXPECTED.tsv'), 'utf8');
  const [header, ...lines] = tsv.trim().split('\n');
  assert.equal(header, 'package\torigin\tinstalled\tfixed\tosv_id\tcve');
  return new Set(
    lines.map((l) => {
      const [pkg, , installed, fixed, osvId, cve] = l.split('\t');
      return [pkg, installed, fixed, osvId, cve].join(' ');
    }),
  );
}

test('Alpine 3.20.3 minirootfs x real Alpine advisories = exactly EXPECTED.tsv', { skip: skipUnless('data') }, async () => {
  const inventory = await alpineInventory();
  assert.equal(inventory.os?.family, 'alpine');
  const { index, warnings: dbWarnings } = await openAdvisoryIndex({ dbDir: join(sharedDataDir() as string, 'osv/alpine') });
  assert.deepEqual(dbWarnings, []);
  const { findings, warnings } = matchInventory(inventory, index);
  assert.deepEqual(warnings, []);

  const want = await expected();
  const got = findings.map((f) => [f.pkgName, f.installedVersion, f.fixedVersion, f.vendorIds.join(','), f.vulnerabilityId].join(' '));
  assert.equal(new Set(got).size, got.length, 'no duplicate findings');
  assert.deepEqual(new Set(got), want);
  console.log(`alpine: ${findings.length}/${want.size} expected findings`);

  for (const f of findings) {
    // Keyed by origin: ssl_client and libcrypto3 are matched through busybox and openssl.
    assert.equal(f.status, 'fixed');
    assert.equal(f.targetClass, 'os-pkgs');
    assert.equal(f.target, 'alpine 3.20.3');
    assert.equal(f.layer, f.pkg.layer);
    assert.equal(f.pkgId, `${f.pkgName}@${f.installedVersion}`);
    // The Alpine records carry no vendor rating, vector or database severity.
    assert.equal(f.severity, 'UNKNOWN');
    assert.equal(f.severitySource, 'none');
    assert.match(f.primaryUrl, /^https:\/\/security\.alpinelinux\.org\/vuln\/CVE-/);
    assert.equal(f.dataSource.id, 'alpine');
  }
});

test('Alpine 3.20 is past its end of life on the day the shared data was collected', { skip: skipUnless('data') }, async () => {
  const inventory = await alpineInventory();
  const os = inventory.os;
  assert.ok(os);
  assert.equal(isEndOfLife(os, new Date('2026-11-26T00:00:00Z')), true);
  assert.equal(isEndOfLife(os, new Date('2025-01-01T00:00:00Z')), false);
});
