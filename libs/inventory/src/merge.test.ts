import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import type { ImageInventory, InventoryPackage, LayerResult } from '@strata/model';
import { sharedDataDir, skipUnless } from '@strata/testing';
import { mergeLayers } from './merge.js';
import { analyzeImage, dpkgLine, dpkgQuery, packTar, umociRootfs } from './testing/index.js';
import type { TestImage } from './testing/index.js';

const run = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'pipe'] });
const pkgJson = (name: string, version: string, pad = ''): string => `{${pad}"name": "${name}", "version": "${version}"}\n`;
const layerOf = (inv: ImageInventory, p: InventoryPackage): number => inv.layers.indexOf(p.layer);

/** Every node_modules package root in a real (unpacked) filesystem. */
function nodePackagesOnDisk(rootfs: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(join(dir, e.name), path);
      else if (e.name === 'package.json' && /(^|\/)node_modules\/(@[^/]+\/)?[^/@][^/]*\/package\.json$/.test(path)) {
        const json = JSON.parse(readFileSync(join(dir, e.name), 'utf8')) as { name: string; version: string };
        out.push(`${path} ${json.name}@${json.version}`);
      }
    }
  };
  walk(rootfs, '');
  return out.sort();
}

test('merge: node_modules deleted by whiteouts and opaque dirs contribute nothing (umoci is the oracle)', { skip: skipUnless('tool:umoci') }, async () => {
  const image: TestImage = {
    layers: [
      {
        createdBy: 'COPY base /',
        tar: await packTar([
          { name: 'app/node_modules/a/package.json', content: pkgJson('a', '1.0.0') },
          { name: 'app/node_modules/b/package.json', content: pkgJson('b', '1.0.0') },
          { name: 'app/node_modules/b/index.js', content: 'module.exports = 1;\n' },
          { name: 'srv/node_modules/c/package.json', content: pkgJson('c', '1.0.0') },
          { name: 'usr/lib/node_modules/d/package.json', content: pkgJson('d', '1.0.0') },
          { name: 'usr/lib/node_modules/d/node_modules/f/package.json', content: pkgJson('f', '0.1.0') },
          { name: 'usr/lib/node_modules/@scope/g/package.json', content: pkgJson('@scope/g', '3.0.0') },
        ]),
      },
      {
        createdBy: 'RUN rm -rf app/node_modules/b srv/node_modules/* usr/lib/node_modules/d/node_modules/f && npm i e',
        tar: await packTar([
          { name: 'app/node_modules/.wh.b', content: '' },
          { name: 'srv/node_modules/', type: 'directory' },
          { name: 'srv/node_modules/.wh..wh..opq', content: '' },
          { name: 'srv/node_modules/e/package.json', content: pkgJson('e', '1.0.0') },
          { name: 'usr/lib/node_modules/d/node_modules/.wh.f', content: '' },
        ]),
      },
      {
        createdBy: 'RUN npm i a@1.0.0 b@2.0.0',
        tar: await packTar([
          { name: 'app/node_modules/a/package.json', content: pkgJson('a', '1.0.0', ' ') },
          { name: 'app/node_modules/b/package.json', content: pkgJson('b', '2.0.0') },
          { name: 'usr/lib/node_modules/@scope/.wh.g', content: '' },
        ]),
      },
    ],
  };
  const inv = await mergedBothWays(image);
  const { rootfs, cleanup } = umociRootfs(image);
  try {
    const ours = inv.applications.flatMap((s) => s.packages.map((p) => `${s.path} ${p.name}@${p.version}`)).sort();
    assert.deepEqual(ours, nodePackagesOnDisk(rootfs));
  } finally {
    cleanup();
  }
  const pkg = (name: string): InventoryPackage => {
    const found = inv.applications.flatMap((s) => s.packages).find((p) => p.name === name);
    assert.ok(found, name);
    return found;
  };
  assert.equal(layerOf(inv, pkg('a')), 0, "a@1.0.0 was rewritten unchanged: still the base layer's");
  assert.equal(layerOf(inv, pkg('b')), 2);
  assert.equal(layerOf(inv, pkg('d')), 0);
  assert.equal(layerOf(inv, pkg('e')), 1);
  assert.equal(pkg('e').layer.createdBy, image.layers[1]?.createdBy);
  assert.equal(pkg('e').layer.diffId, inv.layers[1]?.diffId);
});

/**
 * The image analysed and merged, without warnings; handing the results over (reuseResults) gives the
 * same inventory, made of the results' own package objects.
 */
async function mergedBothWays(image: TestImage): Promise<ImageInventory> {
  const layers = await analyzeImage(image);
  const inv = mergeLayers(structuredClone(layers));
  assert.deepEqual(inv.warnings, []);
  const reused = mergeLayers(layers, undefined, { reuseResults: true });
  assert.deepEqual(reused, inv);
  const topSet = layers[1]!.result.packageSets[0]!;
  assert.ok(
    reused.osPackages.every((p) => topSet.packages.includes(p)),
    'reuseResults copied the packages',
  );
  return inv;
}

function stanzas(text: string): string[] {
  return text.split(/\n\n+/).filter((s) => s.trim() !== '');
}
const field = (stanza: string, name: string): string | undefined => new RegExp(`^${name}: (.*)$`, 'm').exec(stanza)?.[1];

test('merge: dpkg status rewritten by upper layers equals dpkg-query on the unpacked image', {
  skip: skipUnless('tool:umoci') || skipUnless('tool:dpkg-query'),
}, async () => {
  const host = stanzas(readFileSync('/var/lib/dpkg/status', 'utf8')).slice(0, 60);
  const [removed, upgraded] = [host[10]!, host[20]!];
  const upgradedTo = `${field(upgraded, 'Version')}+strata1`;
  const added =
    'Package: strata-added\nStatus: install ok installed\nArchitecture: all\nVersion: 1.0-1\nMaintainer: Strata <strata@example.org>\nDescription: added in layer 2\n';
  const layer2 = [...host.filter((s) => s !== removed).map((s) => (s === upgraded ? s.replace(/^Version: .*$/m, `Version: ${upgradedTo}`) : s)), added];
  const osRelease = readFileSync('/usr/lib/os-release');
  const image: TestImage = {
    layers: [
      {
        createdBy: 'debootstrap',
        tar: await packTar([
          { name: 'usr/lib/os-release', content: osRelease },
          { name: 'etc/os-release', type: 'symlink', linkname: '../usr/lib/os-release' },
          { name: 'var/lib/dpkg/updates/', type: 'directory' },
          { name: 'var/lib/dpkg/status', content: `${host.join('\n\n')}\n` },
        ]),
      },
      { createdBy: 'RUN apt-get purge … && apt-get install …', tar: await packTar([{ name: 'var/lib/dpkg/status', content: `${layer2.join('\n\n')}\n` }]) },
      { createdBy: 'COPY app /app', tar: await packTar([{ name: 'app/readme', content: 'hi\n' }]) },
    ],
  };
  const inv = await mergedBothWays(image);
  const { rootfs, cleanup } = umociRootfs(image);
  try {
    assert.deepEqual(inv.osPackages.map(dpkgLine).sort(), dpkgQuery(join(rootfs, 'var/lib/dpkg')));
  } finally {
    cleanup();
  }
  const find = (name: string): InventoryPackage | undefined => inv.osPackages.find((p) => p.name === name);
  assert.equal(find(field(removed, 'Package')!), undefined);
  assert.equal(layerOf(inv, find('strata-added')!), 1);
  assert.equal(layerOf(inv, find(field(upgraded, 'Package')!)!), 1);
  assert.equal(find(field(upgraded, 'Package')!)!.version, upgradedTo);
  assert.equal(layerOf(inv, find(field(host[0]!, 'Package')!)!), 0);
  const osId = /^ID=(.*)$/m.exec(osRelease.toString())?.[1];
  const versionId = /^VERSION_ID="?([^"\n]*)"?$/m.exec(osRelease.toString())?.[1];
  assert.equal(inv.os?.family, osId);
  assert.ok(
    inv.osPackages.every((p) => p.purl.startsWith(`pkg:deb/${osId}/`) && p.purl.includes(`distro=${osId}-${versionId}`)),
    inv.osPackages[0]?.purl,
  );
});

test('merge: distroless status.d files merge path by path', { skip: skipUnless('tool:umoci') || skipUnless('tool:dpkg-query') }, async () => {
  const host = stanzas(readFileSync('/var/lib/dpkg/status', 'utf8')).slice(0, 6);
  // distroless writes each package's control stanza (no Status) to status.d/<name>
  const entry = (s: string): { name: string; content: string } => ({
    name: `var/lib/dpkg/status.d/${field(s, 'Package')}`,
    content: `${s.replace(/^Status: .*\n/m, '')}\n`,
  });
  const image: TestImage = {
    layers: [
      {
        createdBy: 'bazel base',
        tar: await packTar([{ name: 'etc/os-release', content: readFileSync('/usr/lib/os-release') }, ...host.slice(0, 4).map(entry)]),
      },
      {
        createdBy: 'bazel cc',
        tar: await packTar([...host.slice(4).map(entry), { name: `var/lib/dpkg/status.d/.wh.${field(host[1]!, 'Package')}`, content: '' }]),
      },
    ],
  };
  const inv = mergeLayers(await analyzeImage(image));
  assert.equal(inv.os?.distroless, true);
  const { rootfs, cleanup } = umociRootfs(image);
  try {
    // dpkg-query cannot read status.d: give it the surviving files as one status file, marked installed
    const dir = join(tmpdir(), `strata-distroless-${process.pid}`);
    mkdirSync(join(dir, 'updates'), { recursive: true });
    const statusD = join(rootfs, 'var/lib/dpkg/status.d');
    const files = readdirSync(statusD).sort();
    writeFileSync(join(dir, 'status'), files.map((f) => `Status: install ok installed\n${readFileSync(join(statusD, f), 'utf8').trim()}\n`).join('\n'));
    try {
      assert.deepEqual(inv.osPackages.map(dpkgLine).sort(), dpkgQuery(dir));
      assert.deepEqual(
        [...new Set(inv.osPackages.map((p) => p.setPath))].sort(),
        files.map((f) => `var/lib/dpkg/status.d/${f}`),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    cleanup();
  }
  assert.ok(inv.osPackages.filter((p) => layerOf(inv, p) === 1).length === 2);
});

test('merge: a rewritten rpmdb replaces the lower one wholesale (rpm -qa on the unpacked image is the oracle)', {
  skip: skipUnless('tool:umoci') || skipUnless('tool:rpmbuild') || skipUnless('tool:rpm'),
}, async () => {
  const work = join(tmpdir(), `strata-inventory-rpm-${process.pid}`);
  try {
    const top = join(work, 'top');
    mkdirSync(join(top, 'SPECS'), { recursive: true });
    const rpms: Record<string, string> = {};
    for (const [name, version] of [
      ['strata-one', '1.0'],
      ['strata-two', '2.0'],
      ['strata-three', '3.0'],
    ] as const) {
      const spec = join(top, 'SPECS', `${name}.spec`);
      writeFileSync(spec, `Name: ${name}\nVersion: ${version}\nRelease: 1\nLicense: MIT\nSummary: test\nBuildArch: noarch\n%description\ntest\n%files\n`);
      run('rpmbuild', ['-bb', '--define', `_topdir ${top}`, '--define', '_build_id_links none', spec]);
      rpms[name] = join(top, 'RPMS/noarch', `${name}-${version}-1.noarch.rpm`);
    }
    const install = (root: string, names: string[]): void => {
      run('rpm', ['--root', root, '--dbpath', '/var/lib/rpm', '--define', '_db_backend sqlite', '-i', '--nodeps', '--justdb', ...names.map((n) => rpms[n]!)]);
    };
    const root1 = join(work, 'root1');
    mkdirSync(root1);
    install(root1, ['strata-one', 'strata-two']);
    const root2 = join(work, 'root2');
    cpSync(root1, root2, { recursive: true });
    install(root2, ['strata-three']);
    const db = (root: string): Buffer => readFileSync(join(root, 'var/lib/rpm/rpmdb.sqlite'));
    const image: TestImage = {
      layers: [
        { createdBy: 'base', tar: await packTar([{ name: 'var/lib/rpm/rpmdb.sqlite', content: db(root1) }]) },
        { createdBy: 'RUN dnf install strata-three', tar: await packTar([{ name: 'var/lib/rpm/rpmdb.sqlite', content: db(root2) }]) },
      ],
    };
    const inv = mergeLayers(await analyzeImage(image));
    assert.deepEqual(inv.warnings, []);
    const { rootfs, cleanup } = umociRootfs(image);
    try {
      const expected = run('rpm', ['--root', rootfs, '--dbpath', '/var/lib/rpm', '-qa', '--qf', '%{NAME}-%{VERSION}-%{RELEASE}\\n'])
        .split('\n')
        .filter(Boolean)
        .sort();
      assert.deepEqual(inv.osPackages.map((p) => `${p.name}-${p.version}-${p.release}`).sort(), expected);
    } finally {
      cleanup();
    }
    const layerOfName = (n: string): number => layerOf(inv, inv.osPackages.find((p) => p.name === n)!);
    assert.deepEqual(['strata-one', 'strata-two', 'strata-three'].map(layerOfName), [0, 0, 1]);
    assert.ok(inv.osPackages.every((p) => p.setPath === 'var/lib/rpm/rpmdb.sqlite'));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('merge: OS facts go when their release file is deleted; warnings carry the layer digest', { skip: skipUnless('data') }, async () => {
  const dir = join(sharedDataDir() ?? '', 'alpine/3.20.3');
  const image: TestImage = {
    layers: [
      {
        createdBy: 'ADD alpine-minirootfs',
        tar: await packTar(['etc/os-release', 'etc/alpine-release', 'lib/apk/db/installed'].map((name) => ({ name, content: readFileSync(join(dir, name)) }))),
      },
      { createdBy: 'COPY broken', tar: await packTar([{ name: 'app/node_modules/x/package.json', content: '{not json' }]) },
    ],
  };
  const layers = await analyzeImage(image);
  const withOs = mergeLayers(layers);
  assert.equal(withOs.os?.family, 'alpine');
  assert.equal(withOs.osPackages.length, 14);
  assert.ok(withOs.osPackages.every((p) => p.purl.includes('distro=3.20.3')));
  assert.deepEqual(
    withOs.warnings.map((w) => [w.path, w.layerDigest]),
    [['app/node_modules/x/package.json', layers[1]?.ref.digest]],
  );

  const removal = await analyzeImage({
    layers: [
      ...image.layers,
      { createdBy: 'RUN rm -f /etc/os-release /etc/alpine-release', tar: await packTar([{ name: 'etc/.wh.os-release' }, { name: 'etc/.wh.alpine-release' }]) },
    ],
  });
  const without = mergeLayers(removal);
  assert.equal(without.os, undefined);
  assert.equal(without.osPackages.length, 14, 'the apk DB is still there');
});

test('merge: a layer result for another diffID is refused', () => {
  const result: LayerResult = {
    diffId: 'sha256:' + 'a'.repeat(64),
    analyzerSetVersion: 'x',
    packageSets: [],
    applications: [],
    whiteouts: [],
    opaqueDirs: [],
    warnings: [],
  };
  assert.throws(() => mergeLayers([{ ref: { digest: 'sha256:' + 'c'.repeat(64), diffId: 'sha256:' + 'b'.repeat(64) }, result }]), /diffID/);
});

test('merge: a package folder replaced by an entry of another type hides the packages below it (umoci is the oracle)', {
  skip: skipUnless('tool:umoci'),
}, async () => {
  const image: TestImage = {
    layers: [
      {
        createdBy: 'COPY base /',
        tar: await packTar([
          { name: 'app/node_modules/a/package.json', content: pkgJson('a', '1.0.0') },
          { name: 'srv/node_modules/b/package.json', content: pkgJson('b', '1.0.0') },
          { name: 'opt/node_modules/c/package.json', content: pkgJson('c', '1.0.0') },
          { name: 'lib/node_modules/d/package.json', content: pkgJson('d', '1.0.0') },
          { name: 'usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA', content: 'Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\n' },
        ]),
      },
      {
        createdBy: 'RUN replace folders by files, links and empty dirs',
        tar: await packTar([
          { name: 'app/node_modules', content: 'a file now\n' },
          { name: 'srv/node_modules', type: 'symlink', linkname: '/opt/node_modules' },
          { name: 'lib/node_modules/d/package.json/', type: 'directory' },
          { name: 'usr/lib/python3/dist-packages/six-1.16.0.dist-info', content: 'x' },
        ]),
      },
      {
        createdBy: 'RUN mkdir again',
        tar: await packTar([{ name: 'app/node_modules/', type: 'directory' }]),
      },
    ],
  };
  const inv = mergeLayers(await analyzeImage(image));
  const { rootfs, cleanup } = umociRootfs(image);
  try {
    const ours = inv.applications.flatMap((s) => s.packages.map((p) => `${s.path} ${p.name}@${p.version}`)).sort();
    assert.deepEqual(ours, nodePackagesOnDisk(rootfs));
    assert.ok(!inv.applications.some((s) => s.type === 'pypi'), 'six went with its dist-info folder');
  } finally {
    cleanup();
  }
  assert.deepEqual(
    inv.applications.flatMap((s) => s.packages.map((p) => p.name)),
    ['c'],
  );
});
