// End to end, embedded, from the real registry: the debootstrap-based debian-multi image (built by
// infra/local/images.sh) against the repo's sample advisories. Expected findings are computed here
// from the image's real packages (dpkg-query on the unpacked final rootfs) with the real
// `dpkg --compare-versions`, never copied from a table.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import semver from 'semver';
import { loadImages, repoRoot, skipUnless, skipUnlessImages } from '@strata/testing';
import { scanImage, type ScanResult } from './index.js';

interface OsvEvent {
  introduced?: string;
  fixed?: string;
  last_affected?: string;
}
interface OsvRecord {
  id: string;
  withdrawn?: string;
  affected: Array<{ package: { ecosystem: string; name: string }; ranges?: Array<{ events: OsvEvent[] }> }>;
}

const skip = skipUnlessImages() || skipUnless('tool:dpkg');
const images = skip ? undefined : loadImages();
const dbDir = join(repoRoot, 'fixtures/advisories');
const work = mkdtempSync(join(tmpdir(), 'strata-e2e-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

const dpkgLess = (a: string, b: string): boolean => {
  try {
    execFileSync('dpkg', ['--compare-versions', a, 'lt', b]);
    return true;
  } catch {
    return false;
  }
};

function loadRecords(dir: string): OsvRecord[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.json'))
    .map((e) => JSON.parse(readFileSync(join(e.parentPath, e.name), 'utf8')) as OsvRecord);
}

/** (binary package, OSV id) pairs the oracle says must be reported for Debian records. */
function expectedDebianPairs(rootfs: string): Set<string> {
  const rows = execFileSync('dpkg-query', [`--admindir=${join(rootfs, 'var/lib/dpkg')}`, '-W', '-f', '${Package}\t${source:Package}\t${source:Version}\n'], {
    encoding: 'utf8',
  })
    .trim()
    .split('\n')
    .map((line) => line.split('\t') as [string, string, string]);
  const pairs = new Set<string>();
  for (const record of loadRecords(join(dbDir, 'debian'))) {
    if (record.withdrawn) continue;
    for (const affected of record.affected) {
      if (!affected.package.ecosystem.startsWith('Debian:12')) continue;
      for (const [binary, source, sourceVersion] of rows) {
        if (source !== affected.package.name) continue;
        const hit = (affected.ranges ?? []).some((range) => {
          const fixed = range.events.find((e) => e.fixed)?.fixed;
          return fixed === undefined || dpkgLess(sourceVersion, fixed);
        });
        if (hit) pairs.add(`${binary}\t${record.id}`);
      }
    }
  }
  return pairs;
}

const debianPairs = (result: ScanResult): Set<string> =>
  new Set(result.findings.filter((f) => f.pkg.type === 'dpkg').flatMap((f) => f.vendorIds.map((id) => `${f.pkgName}\t${id}`)));

const multi = images?.images['debian-multi'];
const registryRefs = images?.refs.filter((r) => r.image === 'debian-multi' && r.registry === 'anonymous') ?? [];

test('debian-multi from the registry: findings equal the dpkg oracle over the sample advisories', { skip }, async () => {
  assert.ok(multi?.rootfs, 'images.json names the unpacked rootfs');
  const expected = expectedDebianPairs(multi.rootfs);
  assert.ok(expected.size > 0, 'the sample advisories hit something in the image');
  const ref = registryRefs.find((r) => r.layerCompression === 'gzip' && r.manifestFormat === 'oci')?.ref;
  assert.ok(ref, 'a gzip OCI tag was pushed');
  const result = await scanImage(ref, { cacheDir: join(work, 'cache'), dbDir });
  assert.deepEqual([...debianPairs(result)].sort(), [...expected].sort());

  // the cases issue 5 names, each visible in the result
  const byRecord = (id: string) => result.findings.filter((f) => f.vendorIds.includes(id));
  assert.equal(byRecord('DEBIAN-CVE-2099-0001').length, 0, 'withdrawn record not reported');
  assert.equal(byRecord('DEBIAN-CVE-2099-0002').length, 0, 'tzdata was purged in an upper layer: not reported');
  assert.ok(!result.inventory.osPackages.some((p) => p.name === 'tzdata' || p.name === 'bzip2'), 'purged packages are absent');
  const unfixed = byRecord('DEBIAN-CVE-2022-0563');
  assert.ok(unfixed.length > 0 && unfixed.every((f) => f.status === 'affected' && f.fixedVersion === ''), 'unfixed → affected, no fixed version');
  assert.ok(
    unfixed.some((f) => f.pkgName !== 'util-linux' && f.pkg.srcName === 'util-linux'),
    'matched by source name where the binary name differs',
  );
  assert.ok(
    unfixed.every((f) => f.severity === 'LOW' && f.severitySource === 'vendor'),
    'urgency unimportant → LOW, from the vendor',
  );
  assert.equal(byRecord('DEBIAN-CVE-2019-12900').length, 0, 'fixed below the installed version: not reported');

  const lodash = result.findings.filter((f) => f.pkgName === 'lodash');
  assert.equal(lodash.length, semver.lt('4.17.15', '4.17.19') ? 1 : 0);
  assert.equal(lodash[0]?.vulnerabilityId, 'CVE-2020-8203');
  assert.equal(lodash[0]?.status, 'fixed');
  assert.equal(lodash[0]?.fixedVersion, '4.17.19');
  // each finding carries the layer of its package, with the history that made it
  assert.ok(result.findings.every((f) => f.layer.diffId.startsWith('sha256:') && result.metadata.diffIds.includes(f.layer.diffId)));
  assert.match(lodash[0]?.layer.createdBy ?? '', /lodash|node_modules|language/i);
});

test('every transport and media type of debian-multi gives the same inventory and findings', { skip }, async () => {
  const refs = [...registryRefs.map((r) => r.ref), multi?.ociLayout?.ref, multi?.dockerArchive?.ref].filter((r): r is string => !!r);
  assert.ok(refs.length >= 5, `expected gzip/zstd OCI, v2s2, oci layout and docker archive refs, got ${refs.join(', ')}`);
  const summary = (r: ScanResult) => ({
    packages: [...r.inventory.osPackages, ...r.inventory.applications.flatMap((s) => s.packages)]
      .map((p) => `${p.type}:${p.name}@${p.version}:${p.layer.diffId}`)
      .sort(),
    findings: r.findings.map((f) => `${f.pkgName}:${f.vulnerabilityId}:${f.status}:${f.severity}`).sort(),
  });
  const results = [];
  for (const ref of refs) results.push({ ref, summary: summary(await scanImage(ref, { cacheDir: join(work, 'cache-all'), dbDir })) });
  for (const { ref, summary: s } of results.slice(1)) assert.deepEqual(s, results[0]!.summary, `${ref} differs from ${results[0]!.ref}`);
});
