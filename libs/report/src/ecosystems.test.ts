// The language package types added for issue 14 (cargo, composer, gem, nuget, conda) in every format:
// each set gets Trivy's result Type (named by the analyzer that read it), and a package's notes
// (what the analyzer could not know) reach the JSON, CycloneDX and SPDX records.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { APP_TARGET_TYPES, appTargetType, LANGUAGE_PACKAGE_TYPES } from '@strata/model';
import type { ImageInventory, InventorySet, LayerRef, Package, PackageType } from '@strata/model';
import { renderCycloneDx, renderSpdx, reportResults, toTrivyJson, validateCycloneDx, type ScanReport } from './index.js';

const layer: LayerRef = { digest: `sha256:${'a'.repeat(64)}`, diffId: `sha256:${'b'.repeat(64)}` };

function set(analyzer: string, type: PackageType, path: string, pkgs: Omit<Package, 'type'>[]): InventorySet {
  return { path, analyzer, type, packages: pkgs.map((p) => ({ ...p, type, layer, setPath: path })) };
}

const NOTE = 'groupId unknown: no pom.properties and the manifest names no vendor';

function report(): ScanReport {
  const inventory: ImageInventory = {
    osPackages: [],
    applications: [
      set('rustbinary', 'cargo', 'usr/local/bin/demo', [
        { name: 'smallvec', version: '1.6.0', purl: 'pkg:cargo/smallvec@1.6.0', filePath: 'usr/local/bin/demo' },
      ]),
      set('cargo', 'cargo', 'src/demo/Cargo.lock', [{ name: 'smallvec', version: '1.6.0', purl: 'pkg:cargo/smallvec@1.6.0' }]),
      set('composer-vendor', 'composer', 'app/vendor/composer/installed.json', [
        { name: 'symfony/console', version: 'v5.4.0', purl: 'pkg:composer/symfony/console@v5.4.0' },
      ]),
      set('gemspec', 'gem', 'usr/lib/ruby/gems/3.1.0/specifications/rack-2.2.3.gemspec', [{ name: 'rack', version: '2.2.3', purl: 'pkg:gem/rack@2.2.3' }]),
      set('dotnet-core', 'nuget', 'app/App.deps.json', [{ name: 'Newtonsoft.Json', version: '12.0.1', purl: 'pkg:nuget/Newtonsoft.Json@12.0.1' }]),
      set('nuget', 'nuget', 'src/packages.lock.json', [{ name: 'Newtonsoft.Json', version: '12.0.1', purl: 'pkg:nuget/Newtonsoft.Json@12.0.1' }]),
      set('conda-pkg', 'conda', 'opt/conda/conda-meta/zlib-1.2.13-h5eee18b_0.json', [{ name: 'zlib', version: '1.2.13', purl: 'pkg:conda/zlib@1.2.13' }]),
      set('jar', 'jar', 'app/lib/spring-core-5.3.17.jar', [{ name: 'spring-core', version: '5.3.17', purl: 'pkg:maven/spring-core@5.3.17', notes: [NOTE] }]),
    ],
    layers: [layer],
    warnings: [],
  };
  return {
    artifactName: 'demo:1',
    metadata: {
      reference: 'demo:1',
      manifestDigest: `sha256:${'c'.repeat(64)}`,
      configDigest: `sha256:${'d'.repeat(64)}`,
      repoTags: [],
      repoDigests: [],
      diffIds: [layer.diffId],
      layers: [layer],
      config: {},
    },
    inventory,
    findings: [],
    warnings: [],
    createdAt: '2026-12-06T00:00:00Z',
  };
}

test('every language package type has a result Type, and the analyzers named in APP_TARGET_TYPES keep theirs', () => {
  for (const type of LANGUAGE_PACKAGE_TYPES) assert.ok(APP_TARGET_TYPES.includes(appTargetType({ type, analyzer: 'some-test-analyzer' })), type);
  for (const t of APP_TARGET_TYPES) assert.equal(appTargetType({ type: 'npm', analyzer: t }), t);
});

test("new ecosystems: each set is a result of its analyzer's Trivy type; notes reach JSON, CycloneDX and SPDX", async () => {
  const r = report();
  const results = reportResults(r);
  assert.deepEqual(
    results.map((x) => [x.target, x.type]),
    [...r.inventory.applications].sort((a, b) => (a.path < b.path ? -1 : 1)).map((s) => [s.path, s.analyzer]),
  );
  const json = toTrivyJson(r, new Date('2026-12-06T00:00:00Z'));
  const spring = json.Results?.flatMap((x) => x.Packages ?? []).find((p) => p.Name === 'spring-core');
  assert.deepEqual(spring?.Notes, [NOTE]);
  assert.equal(json.Results?.flatMap((x) => x.Packages ?? []).filter((p) => p.Notes !== undefined).length, 1, 'only packages with notes carry the field');

  const cdx = renderCycloneDx(r, { serialNumber: 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79', now: new Date('2026-12-06T00:00:00Z') });
  assert.equal(await validateCycloneDx(cdx), null);
  const bom = JSON.parse(cdx) as { components: { name: string; purl?: string; properties?: { name: string; value: string }[] }[] };
  assert.deepEqual(
    bom.components
      .find((c) => c.name === 'spring-core')
      ?.properties?.filter((p) => p.name === 'strata:Note')
      .map((p) => p.value),
    [NOTE],
  );
  for (const s of r.inventory.applications)
    for (const p of s.packages)
      assert.ok(
        bom.components.some((c) => c.purl === p.purl),
        p.purl,
      );

  const spdx = JSON.parse(renderSpdx(r, { uuid: 'd6a770ba-38f6-4ff0-8a2d-6e0a8e0b2e6b' })) as {
    packages: { name: string; annotations?: { comment: string }[] }[];
  };
  assert.ok(spdx.packages.find((p) => p.name === 'spring-core')?.annotations?.some((a) => a.comment.includes(NOTE)));
});
