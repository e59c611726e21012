// Coverage oracle: Trivy and Strata scan the same coverage image (infra/local/images/coverage: one
// package set per ecosystem, from the real registries) and Strata must find every package Trivy
// finds. Both inventories are read from their CycloneDX output and compared by canonical PURL:
//   - parsed and written again by packageurl-js (one encoding: `+` vs `%2B`, qualifier order);
//   - qualifiers dropped except `arch` and `epoch` (they identify the package; `distro=debian-12.15`
//     vs `debian-12` is only how precisely each tool names the OS), and the subpath dropped;
//   - nothing else: no case folding, no version rewriting, so a PURL Strata writes differently from
//     Trivy counts as missing.
// Trivy runs offline (`--offline-scan --skip-db-update --skip-java-db-update`, CycloneDX output, which
// needs no vulnerability DB) with the empty Java DB of infra/local/trivy-java-db.mjs, so it names jars
// from their pom.properties only. What Strata finds beyond Trivy must be one of EXPECTED_EXTRAS.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { PackageURL } from 'packageurl-js';
import { infra, loadImages, repoRoot, skipUnless, skipUnlessImages, trivyEnv, trivyOfflineArgs } from '@strata/testing';
import { runStrata } from './testing/index.js';

/**
 * Packages Trivy finds that Strata does not find yet, by PURL prefix, with the reason. Each PURL of
 * Trivy's inventory that one of these covers runs as its own `todo` sub-test (shown, not counted);
 * any other missing PURL fails. Remove an entry when its analyzer lands (its sub-test then passes).
 */
const KNOWN_GAPS: Array<{ prefix: string; reason: string }> = [];

/**
 * What Strata may find beyond Trivy: the packages Trivy misses (issue 14). Each must be found; one
 * with a `gap` (the reason Strata does not find it yet) runs as a `todo` sub-test.
 */
const EXPECTED_EXTRAS: Array<{ what: string; test: (p: PackageURL) => boolean; gap?: string }> = [
  // Trivy does not read conda-meta in images
  {
    what: 'conda zlib 1.2.11 (conda-meta)',
    test: (p) => p.type === 'conda' && p.name === 'zlib' && p.version === '1.2.11',
  },
  // jars without pom.properties, named from MANIFEST.MF and the file name. Spring's manifests name no
  // group, so these are listed with a generic PURL and a note (a Maven PURL needs the groupId)
  ...['spring-core', 'spring-beans'].map((name) => ({
    what: `${name} 5.3.17 (MANIFEST.MF)`,
    test: (p: PackageURL) => (p.type === 'maven' || p.type === 'generic') && p.name === name && p.version === '5.3.17',
  })),
];

/** The ecosystems the coverage image holds, each of which Trivy must report (else the oracle is broken). */
const TRIVY_TYPES = ['deb', 'maven', 'npm', 'pypi', 'golang', 'cargo', 'composer', 'gem', 'nuget'];

/** The canonical form described at the top of this file. */
function canonicalPurl(purl: string): string {
  const p = PackageURL.fromString(purl);
  const kept: Record<string, string> = {};
  for (const key of ['arch', 'epoch']) {
    const value = p.qualifiers?.[key];
    if (value) kept[key] = value;
  }
  return new PackageURL(p.type, p.namespace, p.name, p.version, Object.keys(kept).length > 0 ? kept : undefined, undefined).toString();
}

/** Every `purl` of a CycloneDX document's components, nested ones included. */
function cyclonedxPurls(bom: unknown): string[] {
  const out: string[] = [];
  const walk = (components: unknown): void => {
    if (!Array.isArray(components)) return;
    for (const c of components as Array<{ purl?: unknown; components?: unknown }>) {
      if (typeof c.purl === 'string') out.push(c.purl);
      walk(c.components);
    }
  };
  walk((bom as { components?: unknown }).components);
  return out;
}

const skip = skipUnless('trivy') || skipUnlessImages(false) || coverageMissing();
function coverageMissing(): string | false {
  if (loadImages().images.coverage) return false;
  const reason = 'the coverage image is not built (images.json has no images.coverage; run sudo bash infra/local/images.sh)';
  if (process.env.STRATA_REQUIRE_INFRA === '1') throw new Error(`required for this test run but missing: ${reason}`);
  return reason;
}

test('coverage image: Strata finds every package Trivy finds (canonical PURLs)', { skip }, async (t) => {
  const trivy = infra.trivy();
  const archive = loadImages().images.coverage?.dockerArchive?.path;
  assert.ok(trivy && archive);
  const work = mkdtempSync(join(tmpdir(), 'strata-coverage-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));

  // Trivy: a private cache holding only the empty Java DB
  cpSync(trivy.javaDbDir, join(work, 'trivy-cache/java-db'), { recursive: true });
  const trivyRun = spawnSync(trivy.bin, trivyOfflineArgs(['--input', archive], join(work, 'trivy-cache'), join(work, 'trivy.cdx.json')), {
    encoding: 'utf8',
    env: trivyEnv(),
  });
  assert.equal(trivyRun.status, 0, `trivy failed: ${trivyRun.stderr}`);
  const trivyPurls = new Set(cyclonedxPurls(JSON.parse(readFileSync(join(work, 'trivy.cdx.json'), 'utf8'))).map(canonicalPurl));

  const strataRun = runStrata(work, [
    'image',
    '--input',
    archive,
    '--cache-dir',
    join(work, 'strata-cache'),
    '--db',
    join(repoRoot, 'fixtures/advisories'),
    '--format',
    'cyclonedx',
    '--no-progress',
  ]);
  assert.equal(strataRun.status, 0, `strata failed: ${strataRun.stderr}`);
  const strataPurls = new Set(cyclonedxPurls(JSON.parse(strataRun.stdout)).map(canonicalPurl));

  t.diagnostic(`Trivy: ${trivyPurls.size} PURLs, Strata: ${strataPurls.size} PURLs`);
  const types = new Set([...trivyPurls].map((p) => PackageURL.fromString(p).type));
  assert.deepEqual(
    TRIVY_TYPES.filter((type) => !types.has(type)),
    [],
    'Trivy must report every ecosystem of the image (is the oracle set up right?)',
  );

  const gapOf = (purl: string) => KNOWN_GAPS.find((g) => purl.startsWith(g.prefix));
  const missing = [...trivyPurls].filter((p) => !strataPurls.has(p)).sort();
  await t.test('no PURL of Trivy is missing from Strata, except the known gaps below', () => {
    assert.deepEqual(
      missing.filter((p) => !gapOf(p)),
      [],
    );
  });
  await t.test('every known gap still names a package Trivy finds', () => {
    assert.deepEqual(
      KNOWN_GAPS.filter((g) => ![...trivyPurls].some((p) => p.startsWith(g.prefix))).map((g) => g.prefix),
      [],
    );
  });
  for (const purl of [...trivyPurls].filter((p) => gapOf(p)).sort()) {
    await t.test(`Strata finds ${purl}`, { todo: gapOf(purl)?.reason ?? true }, () => {
      assert.ok(strataPurls.has(purl), `${purl} is not in Strata's inventory`);
    });
  }

  const extras = [...strataPurls].filter((p) => !trivyPurls.has(p)).sort();
  t.diagnostic(`Strata beyond Trivy: ${extras.join(' ') || 'nothing'}`);
  await t.test('what Strata finds beyond Trivy is expected', () => {
    assert.deepEqual(
      extras.filter((p) => !EXPECTED_EXTRAS.some((e) => e.test(PackageURL.fromString(p)))),
      [],
    );
  });
  for (const extra of EXPECTED_EXTRAS) {
    await t.test(`Strata also finds ${extra.what}`, { todo: extra.gap ?? false }, () => {
      assert.ok(
        extras.some((p) => extra.test(PackageURL.fromString(p))),
        `no PURL for ${extra.what} in ${extras.join(' ')}`,
      );
    });
  }
});
