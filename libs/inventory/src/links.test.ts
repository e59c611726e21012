// Links and type changes at package-DB locations: the merged image is unpacked by umoci (a real OCI
// unpacker) and read the way the package manager or os-release(5) reads it; that is the oracle.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DPKG_INSTALLED_STATES } from '@strata/analyzers';
import type { ImageInventory } from '@strata/model';
import { skipUnless } from '@strata/testing';
import { findLinkGaps, mergeLayers, planMerge } from './merge.js';
import { analyzeImage, packTar, rpmSqliteDatabases, umociRootfs } from './testing/index.js';
import type { TarEntry, TestImage } from './testing/index.js';

const osRelease = (id: string, version: string): string => `NAME="${id}"\nID=${id}\nVERSION_ID="${version}"\nPRETTY_NAME="${id} ${version}"\n`;
const DEBIAN = osRelease('debian', '12');
const ALPINE = osRelease('alpine', '3.20.3');
const UBUNTU = osRelease('ubuntu', '24.04');
const FEDORA = osRelease('fedora', '40');

const stanza = (name: string, version: string): string =>
  `Package: ${name}\nStatus: install ok installed\nArchitecture: all\nVersion: ${version}\nMaintainer: Strata <strata@example.org>\nDescription: test\n`;
const status = (...names: string[]): string => names.map((n) => stanza(n, '1.0-1')).join('\n');

/** os-release(5) on the unpacked rootfs: /etc/os-release, else /usr/lib/os-release; `ID-VERSION_ID`. */
function osOfRootfs(rootfs: string): string | undefined {
  for (const p of ['etc/os-release', 'usr/lib/os-release']) {
    let text: string;
    try {
      text = readFileSync(join(rootfs, p), 'utf8');
    } catch {
      continue; // missing, dangling or a loop (ELOOP): the next file counts
    }
    const id = /^ID=(.*)$/m.exec(text)?.[1];
    const version = /^VERSION_ID="?([^"\n]*)"?$/m.exec(text)?.[1];
    return `${id}-${version}`;
  }
  return undefined;
}

/** dpkg-query on the unpacked rootfs: the installed package names dpkg itself would list. */
function dpkgNamesOfRootfs(rootfs: string): string[] {
  const admin = join(rootfs, 'var/lib/dpkg');
  if (!existsSync(join(admin, 'status'))) return [];
  const out = execFileSync('dpkg-query', [`--admindir=${admin}`, '-W', '-f=${Package}\t${db:Status-Status}\n'], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => l.split('\t'))
    .filter((c) => DPKG_INSTALLED_STATES.has(c[1] ?? ''))
    .map((c) => c[0]!)
    .sort();
}

const osOf = (inv: ImageInventory): string | undefined => (inv.os ? `${inv.os.family}-${inv.os.name}` : undefined);
const names = (inv: ImageInventory): string[] => inv.osPackages.map((p) => p.name).sort();

async function image(...layers: TarEntry[][]): Promise<TestImage> {
  const out: TestImage = { layers: [] };
  for (const [i, entries] of layers.entries()) out.layers.push({ createdBy: `layer ${i + 1}`, tar: await packTar(entries) });
  return out;
}

/** Merges the image and unpacks it with umoci; hands both to `check`. */
async function withOracle(img: TestImage, check: (inv: ImageInventory, rootfs: string) => void): Promise<ImageInventory> {
  const inv = mergeLayers(await analyzeImage(img));
  const { rootfs, cleanup } = umociRootfs(img);
  try {
    check(inv, rootfs);
  } finally {
    cleanup();
  }
  return inv;
}

test('os-release(5): an upper layer adding only usr/lib/os-release does not switch the OS of an image with /etc/os-release', {
  skip: skipUnless('tool:umoci'),
}, async () => {
  const img = await image(
    [
      { name: 'etc/os-release', content: DEBIAN },
      { name: 'usr/lib/os-release', content: DEBIAN },
    ],
    [{ name: 'usr/lib/os-release', content: ALPINE }],
  );
  await withOracle(img, (inv, rootfs) => {
    assert.equal(osOfRootfs(rootfs), 'debian-12');
    assert.equal(osOf(inv), osOfRootfs(rootfs));
  });
});

test("os-release(5): Debian's etc/os-release → ../usr/lib/os-release is followed through every later rewrite", { skip: skipUnless('tool:umoci') }, async () => {
  const base = [
    { name: 'usr/lib/os-release', content: DEBIAN },
    { name: 'etc/os-release', type: 'symlink' as const, linkname: '../usr/lib/os-release' },
  ];
  const stages = [
    [base],
    [base, [{ name: 'usr/lib/os-release', content: UBUNTU }]],
    [base, [{ name: 'etc/os-release', content: FEDORA }]],
    [base, [{ name: 'etc/os-release', content: FEDORA }], [{ name: 'usr/lib/os-release', content: ALPINE }]],
    [base, [{ name: 'usr/lib/.wh.os-release' }]],
  ];
  const seen: Array<string | undefined> = [];
  for (const layers of stages) {
    await withOracle(await image(...layers), (inv, rootfs) => {
      assert.equal(osOf(inv), osOfRootfs(rootfs), JSON.stringify(layers.map((l) => l.map((e) => e.name))));
      seen.push(osOf(inv));
    });
  }
  assert.deepEqual(seen, ['debian-12', 'ubuntu-24.04', 'fedora-40', 'fedora-40', undefined]);
});

test('os-release(5): a hard link at etc/os-release keeps the content it was linked to', { skip: skipUnless('tool:umoci') }, async () => {
  const img = await image(
    [
      { name: 'usr/lib/os-release', content: DEBIAN },
      { name: 'etc/os-release', type: 'link', linkname: 'usr/lib/os-release' },
    ],
    [{ name: 'usr/lib/os-release', content: ALPINE }],
  );
  await withOracle(img, (inv, rootfs) => {
    assert.equal(osOf(inv), osOfRootfs(rootfs));
    assert.equal(osOf(inv), 'debian-12');
  });
});

test('os-release: a symlink loop at etc/os-release falls back to usr/lib/os-release, with a warning', { skip: skipUnless('tool:umoci') }, async () => {
  const img = await image([
    { name: 'usr/lib/os-release', content: ALPINE },
    { name: 'etc/os-release', type: 'symlink', linkname: 'os-release.d' },
    // relative, so that reading the unpacked rootfs on this host stays inside it
    { name: 'etc/os-release.d', type: 'symlink', linkname: './os-release' },
  ]);
  const inv = await withOracle(img, (inv, rootfs) => assert.equal(osOf(inv), osOfRootfs(rootfs)));
  assert.equal(osOf(inv), 'alpine-3.20.3');
  assert.ok(
    inv.warnings.some((w) => w.path === 'etc/os-release' && /loop/.test(w.message) && /NOT in this report/.test(w.message)),
    JSON.stringify(inv.warnings),
  );
});

test('os-release: a link climbing above the root stops at the root, as in the container (never leaves the image)', async () => {
  const inv = mergeLayers(
    await analyzeImage(
      await image([
        { name: 'usr/lib/os-release', content: DEBIAN },
        { name: 'etc/os-release', type: 'symlink', linkname: '../../../../../etc/alpine/os-release' },
        { name: 'etc/alpine/os-release', content: ALPINE },
      ]),
    ),
  );
  // /etc/os-release → /etc/alpine/os-release, which no analyzer reads: the fallback counts, and Strata says so
  assert.equal(osOf(inv), 'debian-12');
  assert.ok(
    inv.warnings.some((w) => w.path === 'etc/os-release' && w.message.includes('etc/alpine/os-release') && /NOT in this report/.test(w.message)),
    JSON.stringify(inv.warnings),
  );
});

test('overlay: a lower var/lib/dpkg replaced by a file, a symlink or a device-like entry takes its packages along', {
  skip: skipUnless('tool:umoci') || skipUnless('tool:dpkg-query'),
}, async () => {
  const lower: TarEntry[] = [
    { name: 'etc/os-release', content: DEBIAN },
    { name: 'var/lib/dpkg/updates/', type: 'directory' },
    { name: 'var/lib/dpkg/status', content: status('libssl3', 'zlib1g') },
  ];
  const uppers: TarEntry[][] = [
    [{ name: 'var/lib/dpkg', content: 'not a directory any more\n' }],
    [{ name: 'var/lib', content: 'not a directory any more\n' }],
    [
      { name: 'var/lib/dpkg', type: 'symlink', linkname: '../../opt/empty' },
      { name: 'opt/empty/', type: 'directory' },
    ],
    [{ name: 'var/lib/dpkg/status', type: 'symlink', linkname: '/opt/status' }],
  ];
  for (const upper of uppers) {
    const inv = await withOracle(await image(lower, upper), (inv, rootfs) => assert.deepEqual(names(inv), dpkgNamesOfRootfs(rootfs), JSON.stringify(upper)));
    assert.deepEqual(names(inv), []);
  }
  // the symlinked database leads nowhere Strata read: that is said out loud
  const inv = mergeLayers(await analyzeImage(await image(lower, uppers[3]!)));
  assert.ok(
    inv.warnings.some((w) => w.analyzer === 'dpkg' && w.path === 'var/lib/dpkg/status' && /NOT in this report/.test(w.message)),
    JSON.stringify(inv.warnings),
  );
});

test('overlay: a dpkg status hard-linked to a file no analyzer read is flagged, never silently kept from below', {
  skip: skipUnless('tool:umoci') || skipUnless('tool:dpkg-query'),
}, async () => {
  const img = await image(
    [
      { name: 'etc/os-release', content: DEBIAN },
      { name: 'var/lib/dpkg/updates/', type: 'directory' },
      { name: 'var/lib/dpkg/status', content: status('old-one', 'old-two') },
    ],
    [
      { name: 'opt/hidden-status', content: status('libssl3', 'zlib1g') },
      { name: 'var/lib/dpkg/status', type: 'link', linkname: 'opt/hidden-status' },
    ],
  );
  const inv = await withOracle(img, (inv, rootfs) => {
    // dpkg reads the new content; Strata cannot (the walk is one pass): the old packages must not stand in for it
    assert.deepEqual(dpkgNamesOfRootfs(rootfs), ['libssl3', 'zlib1g']);
    assert.ok(
      names(inv).every((n) => !n.startsWith('old-')),
      names(inv).join(','),
    );
  });
  assert.ok(
    inv.warnings.some(
      (w) =>
        w.analyzer === 'dpkg' && w.path === 'var/lib/dpkg/status' && /hard link to opt\/hidden-status/.test(w.message) && /NOT in this report/.test(w.message),
    ),
    JSON.stringify(inv.warnings),
  );
});

test('overlay: an rpmdb written below a symlinked var/lib/rpm lands where the link points (Fedora layout; rpm -qa is the oracle)', {
  skip: skipUnless('tool:umoci') || skipUnless('tool:rpmbuild') || skipUnless('tool:rpm'),
}, async () => {
  const work = mkdtempSync(join(tmpdir(), 'strata-inventory-rpmlink-'));
  try {
    const [lowerDb, upperDb] = rpmSqliteDatabases(work, [
      ['strata-one-1.0', 'strata-two-2.0'],
      ['strata-one-1.0', 'strata-three-3.0'],
    ]);
    const img = await image(
      [
        { name: 'usr/lib/sysimage/rpm/rpmdb.sqlite', content: lowerDb! },
        { name: 'var/lib/rpm', type: 'symlink', linkname: '../../usr/lib/sysimage/rpm' },
      ],
      // no var/lib/rpm directory entry: the file goes through the lower layer's link
      [{ name: 'var/lib/rpm/rpmdb.sqlite', content: upperDb! }],
    );
    const inv = await withOracle(img, (inv, rootfs) => {
      const expected = execFileSync('rpm', ['--root', rootfs, '--dbpath', '/var/lib/rpm', '-qa', '--qf', '%{NAME}\\n'], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean)
        .sort();
      assert.deepEqual(names(inv), expected);
    });
    assert.deepEqual(names(inv), ['strata-one', 'strata-three']);
    assert.deepEqual([...new Set(inv.osPackages.map((p) => p.setPath))], ['usr/lib/sysimage/rpm/rpmdb.sqlite']);
    const layerOf = (n: string): number => inv.layers.indexOf(inv.osPackages.find((p) => p.name === n)!.layer);
    assert.deepEqual([layerOf('strata-one'), layerOf('strata-three')], [0, 1], 'strata-one stays attributed to the lower layer');
    assert.deepEqual(inv.warnings, []);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('planMerge: the merge that reuses the overlay which found the gaps equals mergeLayers (warnings included), every time', async () => {
  const images = [
    // a symlink loop (a warning of the link lookup), a link climbing above the root (a gap), a hard link to an unread file (a gap)
    await image([
      { name: 'usr/lib/os-release', content: ALPINE },
      { name: 'etc/os-release', type: 'symlink', linkname: 'os-release.d' },
      { name: 'etc/os-release.d', type: 'symlink', linkname: './os-release' },
    ]),
    await image([
      { name: 'usr/lib/os-release', content: DEBIAN },
      { name: 'etc/os-release', type: 'symlink', linkname: '../../../../../etc/alpine/os-release' },
      { name: 'etc/alpine/os-release', content: ALPINE },
    ]),
    await image(
      [
        { name: 'etc/os-release', content: DEBIAN },
        { name: 'var/lib/dpkg/status', content: status('old-one', 'old-two') },
        { name: 'lib', type: 'symlink', linkname: 'usr/lib' },
      ],
      [
        { name: 'opt/hidden-status', content: status('libssl3', 'zlib1g') },
        { name: 'var/lib/dpkg/status', type: 'link', linkname: 'opt/hidden-status' },
      ],
    ),
    // no link at all: nothing to reuse
    await image([
      { name: 'etc/os-release', content: DEBIAN },
      { name: 'var/lib/dpkg/status', content: status('one') },
    ]),
  ];
  let warned = 0;
  for (const img of images) {
    const layers = await analyzeImage(img);
    const expected = mergeLayers(layers);
    warned += expected.warnings.length;
    const plan = planMerge(layers);
    assert.deepEqual(plan.gaps, findLinkGaps(layers));
    assert.deepEqual(plan.merge(), expected);
    assert.deepEqual(plan.merge(), expected, 'a second merge overlays again');
  }
  assert.ok(warned >= 3, 'the images exercise the warnings the overlay carries');
});
