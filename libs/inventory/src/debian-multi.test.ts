import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { analyzeLayer } from '@strata/analyzers';
import type { ImageInventory, LayerResult, LayerRef } from '@strata/model';
import { skipUnless } from '@strata/testing';
import { mergeLayers } from './merge.js';
import { debianMultiFixture, dpkgLine, dpkgQuery, skipUnlessFixtureImage } from './testing/index.js';

const run = (cmd: string, args: string[], cwd?: string): string =>
  execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'pipe'], ...(cwd ? { cwd } : {}) });

let cached: { inventory: ImageInventory; results: Array<{ ref: LayerRef; result: LayerResult }> } | undefined;
async function scan(): Promise<NonNullable<typeof cached>> {
  if (cached) return cached;
  const image = debianMultiFixture()!;
  const results: Array<{ ref: LayerRef; result: LayerResult }> = [];
  for (const [i, layer] of image.layers.entries()) {
    const options = { diffId: layer.ref.diffId, label: `debian-multi layer ${i + 1}/${image.layers.length} ${layer.ref.digest}` };
    const result = await analyzeLayer(createReadStream(layer.blob), { ...options, mediaType: layer.ref.mediaType!, compressedSize: layer.ref.size! });
    results.push({ ref: layer.ref, result });
  }
  cached = { inventory: mergeLayers(results), results };
  return cached;
}

/** dpkg-query's view of one layer's own status file (extracted from the layer blob with GNU tar). */
function dpkgQueryOfLayer(blob: string): string[] | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'strata-layer-status-'));
  try {
    try {
      run('tar', ['-xzf', blob, '-C', dir, 'var/lib/dpkg/status']);
    } catch {
      return undefined; // this layer does not write the status file
    }
    run('mkdir', ['-p', join(dir, 'var/lib/dpkg/updates')]);
    return dpkgQuery(join(dir, 'var/lib/dpkg'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('debian-multi: dpkg inventory equals dpkg-query on the umoci-unpacked rootfs; purged absent, added attributed', {
  skip: skipUnlessFixtureImage() || skipUnless('tool:dpkg-query') || skipUnless('tool:tar'),
}, async () => {
  const image = debianMultiFixture()!;
  const { inventory } = await scan();
  const expected = dpkgQuery(join(image.rootfs, 'var/lib/dpkg'));
  assert.deepEqual(inventory.osPackages.map(dpkgLine).sort(), expected);
  console.log(`debian-multi: ${inventory.osPackages.length} dpkg packages, equal to dpkg-query`);
  for (const purged of image.dpkgPurged)
    assert.equal(
      inventory.osPackages.find((p) => p.name === purged),
      undefined,
      `${purged} was purged`,
    );

  // Attribution oracle: each layer's own status file read by dpkg-query; a package belongs to the
  // lowest layer of the unbroken run of status-writing layers that list it identically.
  const perLayer = image.layers.map((l) => dpkgQueryOfLayer(l.blob));
  for (const p of inventory.osPackages) {
    const line = dpkgLine(p);
    let owner = -1;
    for (let i = perLayer.length - 1; i >= 0; i--) {
      const listed = perLayer[i];
      if (listed === undefined) continue;
      if (!listed.includes(line)) break;
      owner = i;
    }
    assert.equal(inventory.layers.indexOf(p.layer), owner, `${p.name} ${p.version}`);
    assert.equal(p.layer.createdBy, image.layers[owner]?.ref.createdBy);
    assert.equal(p.layer.diffId, image.layers[owner]?.ref.diffId);
  }
  for (const added of image.aptInstalled.filter((n) => !image.dpkgPurged.includes(n))) {
    const p = inventory.osPackages.find((x) => x.name === added);
    assert.ok(p, `${added} installed by layer 2`);
    assert.equal(inventory.layers.indexOf(p.layer), 1, `${added} attributed to the apt-get layer`);
  }
  assert.equal(inventory.os?.family, 'debian');
  const versionId = run('sh', ['-c', '. "$1"; printf %s "$VERSION_ID"', 'sh', join(image.rootfs, 'usr/lib/os-release')]);
  assert.equal(inventory.os?.name, versionId);
  assert.ok(inventory.osPackages.every((p) => p.purl.includes(`distro=debian-${versionId}`)));
});

test('debian-multi: language packages equal what is on the unpacked rootfs (opaque node_modules honoured)', {
  skip: skipUnlessFixtureImage() || skipUnless('tool:python3'),
}, async () => {
  const image = debianMultiFixture()!;
  const { inventory, results } = await scan();
  const ours = inventory.applications.flatMap((s) => s.packages.map((p) => `${p.type} ${s.path} ${p.name}@${p.version}`)).sort();
  // npm: every package.json on disk with a name and a version (the app's own too), as Trivy's image scan reads them
  const onDisk: string[] = [];
  const walk = (dir: string, rel: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory() && !['proc', 'sys', 'dev'].includes(path)) walk(join(dir, e.name), path);
      else if (e.isFile() && e.name === 'package.json') {
        const j = JSON.parse(readFileSync(join(dir, e.name), 'utf8')) as { name?: unknown; version?: unknown };
        if (typeof j.name === 'string' && j.name && typeof j.version === 'string' && j.version) onDisk.push(`npm ${path} ${j.name}@${j.version}`);
      }
    }
  };
  walk(image.rootfs, '');
  // pypi: Python's importlib.metadata over the image's dist-packages
  const site = join(image.rootfs, 'usr/lib/python3/dist-packages');
  const py = run('python3', [
    '-c',
    [
      'import sys, importlib.metadata as m',
      'from packaging.utils import canonicalize_name',
      'for d in m.distributions(path=[sys.argv[1]]):',
      '    print("pypi", str(d._path)[len(sys.argv[2]) + 1:] + "/METADATA", canonicalize_name(d.metadata["Name"]) + "@" + d.version)',
    ].join('\n'),
    site,
    image.rootfs,
  ]);
  onDisk.push(...py.split('\n').filter(Boolean));
  assert.deepEqual(ours, onDisk.sort());
  // layer 4's node_modules (left-pad, ms, minimist 1.2.5) were analyzed, then the opaque dir removed them
  assert.ok(results[3]?.result.applications.some((s) => s.packages.some((p) => p.name === 'left-pad')));
  assert.ok(!ours.some((l) => l.includes('left-pad')));
  console.log(`debian-multi: ${ours.length} language packages: ${ours.join(', ')}`);
});
