// Class 1c/1d/1e: package databases behind hard links and symlinks, os-release precedence, and a
// lower layer's directory replaced by an entry of another type in an upper layer.
import assert from 'node:assert/strict';
import { assertSameFindings, readReport, scanJson, type CaseContext, type HonestScans, type HostileCase, type ScanReport } from './harness.js';
import { ALPINE_OS_RELEASE, APK_INSTALLED, DEBIAN_OS_RELEASE, HONEST_STATUS, LODASH_PACKAGE_JSON, UBUNTU_OS_RELEASE, writeOciImage } from './images.js';
import { tar, type Entry } from './tar.js';

async function scanLayers(ctx: CaseContext, honest: HonestScans, layers: Buffer[]): Promise<ScanReport> {
  const run = await scanJson(ctx, [writeOciImage(ctx.path('image'), { layers })], honest.db);
  assert.equal(run.status, 0, run.stderr);
  return readReport(run.stdout);
}

/** The Debian image with its base layer's entries replaced by `base`. */
async function sameAsHonestDebian(ctx: CaseContext, honest: HonestScans, layers: Buffer[]): Promise<void> {
  const run = await scanJson(ctx, [writeOciImage(ctx.path('image'), { layers })], honest.db);
  assertSameFindings(run, honest.debian);
}

const os = { name: 'etc/os-release', content: DEBIAN_OS_RELEASE };

const hasDpkgPackages = (r: ScanReport): boolean => r.packages.some((p) => p.startsWith('libhonest1@'));

export const linkCases: HostileCase[] = [
  {
    name: 'dpkg status is a hard link to an earlier entry of the same layer',
    kind: '1 package DB behind a link',
    run: (ctx, honest) =>
      sameAsHonestDebian(ctx, honest, [
        tar([
          os,
          { name: 'var/lib/dpkg/status-old', content: HONEST_STATUS },
          { name: 'var/lib/dpkg/status', type: 'hardlink', linkname: 'var/lib/dpkg/status-old' },
        ]),
        honest.app,
      ]),
  },
  {
    name: 'dpkg status is a relative symlink inside the layer',
    kind: '1 package DB behind a link',
    run: (ctx, honest) =>
      sameAsHonestDebian(ctx, honest, [
        tar([os, { name: 'opt/dpkg/status', content: HONEST_STATUS }, { name: 'var/lib/dpkg/status', type: 'symlink', linkname: '../../../opt/dpkg/status' }]),
        honest.app,
      ]),
  },
  {
    name: 'dpkg status is an absolute symlink to a file of a lower layer',
    kind: '1 package DB behind a link',
    run: (ctx, honest) =>
      sameAsHonestDebian(ctx, honest, [
        tar([os, { name: 'opt/dpkg/status', content: HONEST_STATUS }]),
        tar([{ name: 'var/lib/dpkg/status', type: 'symlink', linkname: '/opt/dpkg/status' }]),
        honest.app,
      ]),
  },
  {
    name: 'dpkg status symlink climbing past the root resolves inside the image (as the kernel clamps ..)',
    kind: '1 package DB behind a link',
    run: (ctx, honest) =>
      sameAsHonestDebian(ctx, honest, [
        tar([
          os,
          { name: 'opt/status', content: HONEST_STATUS },
          { name: 'var/lib/dpkg/status', type: 'symlink', linkname: '../../../../../../../../opt/status' },
        ]),
        honest.app,
      ]),
  },
  {
    name: 'dpkg status directory var/lib/dpkg is itself a symlink to a folder of the image',
    kind: '1 package DB behind a link',
    run: (ctx, honest) =>
      sameAsHonestDebian(ctx, honest, [
        tar([os, { name: 'opt/dpkg/status', content: HONEST_STATUS }, { name: 'var/lib/dpkg', type: 'symlink', linkname: '../../opt/dpkg' }]),
        honest.app,
      ]),
  },
  {
    name: 'dpkg status symlink to a host path never reads the host and warns',
    kind: '1 package DB behind a link',
    run: async (ctx, honest) => {
      // The host running the tests is a Debian with a real /var/lib/dpkg/status.
      const run = await scanJson(
        ctx,
        [
          writeOciImage(ctx.path('image'), {
            layers: [tar([os, { name: 'var/lib/dpkg/status', type: 'symlink', linkname: '/proc/self/root/var/lib/dpkg/status' }])],
          }),
        ],
        honest.db,
      );
      assert.equal(run.status, 0, run.stderr);
      const report = readReport(run.stdout);
      assert.ok(
        !report.packages.some((p) => /^(dpkg|coreutils|bash)@/.test(p)),
        `host packages leaked into the report: ${report.packages.slice(0, 5).join(', ')}`,
      );
      assert.match(run.stderr, /WARN.*status/, 'an unresolvable package DB link is a loud warning');
    },
  },
  {
    name: 'dpkg status symlink loop (status -> a -> status) warns and ends',
    kind: '1 package DB behind a link',
    run: async (ctx, honest) => {
      const run = await scanJson(
        ctx,
        [
          writeOciImage(ctx.path('image'), {
            layers: [
              tar([os, { name: 'var/lib/dpkg/a', type: 'symlink', linkname: 'status' }, { name: 'var/lib/dpkg/status', type: 'symlink', linkname: 'a' }]),
            ],
          }),
        ],
        honest.db,
      );
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stderr, /WARN.*status/, 'an unresolvable package DB link is a loud warning');
    },
  },
  {
    name: 'apk installed DB is a hard link',
    kind: '1 package DB behind a link',
    run: async (ctx, honest) => {
      const layer = tar([
        { name: 'etc/os-release', content: ALPINE_OS_RELEASE },
        { name: 'lib/apk/db/installed.real', content: APK_INSTALLED },
        { name: 'lib/apk/db/installed', type: 'hardlink', linkname: 'lib/apk/db/installed.real' },
      ]);
      const run = await scanJson(ctx, [writeOciImage(ctx.path('image'), { layers: [layer] })], honest.db);
      assertSameFindings(run, honest.alpine, 'the honest Alpine image');
    },
  },
  {
    name: 'apk installed DB is a symlink into another layer',
    kind: '1 package DB behind a link',
    run: async (ctx, honest) => {
      const layers = [
        tar([
          { name: 'etc/os-release', content: ALPINE_OS_RELEASE },
          { name: 'var/apk/installed', content: APK_INSTALLED },
        ]),
        tar([{ name: 'lib/apk/db/installed', type: 'symlink', linkname: '../../../var/apk/installed' }]),
      ];
      assertSameFindings(await scanJson(ctx, [writeOciImage(ctx.path('image'), { layers })], honest.db), honest.alpine, 'the honest Alpine image');
    },
  },
  {
    name: 'os-release: Debian layout, etc/os-release -> ../usr/lib/os-release',
    kind: '1 os-release behind a link',
    run: (ctx, honest) =>
      sameAsHonestDebian(ctx, honest, [
        tar([
          { name: 'usr/lib/os-release', content: DEBIAN_OS_RELEASE },
          { name: 'etc/os-release', type: 'symlink', linkname: '../usr/lib/os-release' },
          { name: 'var/lib/dpkg/status', content: HONEST_STATUS },
        ]),
        honest.app,
      ]),
  },
  {
    name: 'os-release: etc/os-release is a hard link',
    kind: '1 os-release behind a link',
    run: (ctx, honest) =>
      sameAsHonestDebian(ctx, honest, [
        tar([
          { name: 'usr/lib/os-release', content: DEBIAN_OS_RELEASE },
          { name: 'etc/os-release', type: 'hardlink', linkname: 'usr/lib/os-release' },
          { name: 'var/lib/dpkg/status', content: HONEST_STATUS },
        ]),
        honest.app,
      ]),
  },
  {
    name: 'os-release: an upper layer adding only usr/lib/os-release (Ubuntu) does not switch a Debian image',
    kind: '1 os-release precedence',
    run: (ctx, honest) => sameAsHonestDebian(ctx, honest, [honest.base, honest.app, tar([{ name: 'usr/lib/os-release', content: UBUNTU_OS_RELEASE }])]),
  },
  {
    name: 'os-release: an upper layer adding usr/lib/os-release (Alpine) and an apk DB keeps the Debian OS',
    kind: '1 os-release precedence',
    run: async (ctx, honest) => {
      const report = await scanLayers(ctx, honest, [honest.base, honest.app, tar([{ name: 'usr/lib/os-release', content: ALPINE_OS_RELEASE }])]);
      assert.equal(report.os, honest.debian.os);
    },
  },
  {
    name: 'overlay: var/lib/dpkg replaced by a regular file hides the dpkg packages below',
    kind: '1 type replacement in the overlay',
    run: async (ctx, honest) => {
      const report = await scanLayers(ctx, honest, [honest.base, honest.app, tar([{ name: 'var/lib/dpkg', content: 'not a folder any more\n' }])]);
      assert.ok(!hasDpkgPackages(report), `dpkg packages still reported: ${report.packages.join(', ')}`);
      assert.ok(
        report.findings.some((f) => f.pkg === 'lodash'),
        'the other layers still count',
      );
    },
  },
  {
    name: 'overlay: var/lib replaced by a symlink hides the dpkg packages below',
    kind: '1 type replacement in the overlay',
    run: async (ctx, honest) => {
      const report = await scanLayers(ctx, honest, [honest.base, honest.app, tar([{ name: 'var/lib', type: 'symlink', linkname: '/srv' }])]);
      assert.ok(!hasDpkgPackages(report), `dpkg packages still reported: ${report.packages.join(', ')}`);
    },
  },
  {
    name: 'overlay: var/lib/dpkg/status replaced by a directory hides the packages',
    kind: '1 type replacement in the overlay',
    run: async (ctx, honest) => {
      const report = await scanLayers(ctx, honest, [honest.base, honest.app, tar([{ name: 'var/lib/dpkg/status/', type: 'directory' } as Entry])]);
      assert.ok(!hasDpkgPackages(report), `dpkg packages still reported: ${report.packages.join(', ')}`);
    },
  },
  {
    name: 'overlay: srv/app/node_modules replaced by a file hides lodash, and a new dir in its place is empty',
    kind: '1 type replacement in the overlay',
    run: async (ctx, honest) => {
      const report = await scanLayers(ctx, honest, [
        honest.base,
        honest.app,
        tar([{ name: 'srv/app/node_modules', content: 'x' }]),
        tar([{ name: 'srv/app/node_modules/', type: 'directory' }]),
      ]);
      assert.ok(!report.packages.some((p) => p.startsWith('lodash@')), `lodash still reported: ${report.packages.join(', ')}`);
    },
  },
  {
    name: 'dpkg status behind a chain of symlinks spread over three layers',
    kind: '1 package DB behind a link (added)',
    run: (ctx, honest) =>
      sameAsHonestDebian(ctx, honest, [
        tar([os, { name: 'srv/db/status', content: HONEST_STATUS }]),
        tar([
          { name: 'opt/one', type: 'symlink', linkname: '/opt/two' },
          { name: 'opt/two', type: 'symlink', linkname: '../srv/db/status' },
        ]),
        tar([{ name: 'var/lib/dpkg/status', type: 'symlink', linkname: '../../../opt/one' }]),
        honest.app,
      ]),
  },
  {
    name: 'dpkg status symlink to a file of a lower layer that is itself a hard link',
    kind: '1 package DB behind a link (added)',
    run: (ctx, honest) =>
      sameAsHonestDebian(ctx, honest, [
        tar([os, { name: 'srv/db/real', content: HONEST_STATUS }, { name: 'srv/db/linked', type: 'hardlink', linkname: 'srv/db/real' }]),
        tar([{ name: 'var/lib/dpkg/status', type: 'symlink', linkname: '/srv/db/linked' }]),
        honest.app,
      ]),
  },
  {
    name: "dpkg status symlink chain of 45 links (past the kernel's 40) warns and ends",
    kind: '1 package DB behind a link (added)',
    run: async (ctx, honest) => {
      const links: Entry[] = Array.from({ length: 45 }, (_, i) => ({ name: `opt/l${i}`, type: 'symlink', linkname: i === 44 ? '/opt/status' : `l${i + 1}` }));
      const layer = tar([os, { name: 'opt/status', content: HONEST_STATUS }, ...links, { name: 'var/lib/dpkg/status', type: 'symlink', linkname: '/opt/l0' }]);
      const run = await scanJson(ctx, [writeOciImage(ctx.path('image'), { layers: [layer] })], honest.db);
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stderr, /WARN.*status.*more than 40 symbolic links/);
      assert.ok(!hasDpkgPackages(readReport(run.stdout)), 'the kernel gives up (ELOOP): dpkg sees no status');
    },
  },
  {
    name: 'dpkg status hard link to a later entry of the same layer warns (a tar link names an earlier entry)',
    kind: '1 package DB behind a link (added)',
    run: async (ctx, honest) => {
      const layer = tar([os, { name: 'var/lib/dpkg/status', type: 'hardlink', linkname: 'opt/later' }, { name: 'opt/later', content: HONEST_STATUS }]);
      const run = await scanJson(ctx, [writeOciImage(ctx.path('image'), { layers: [layer] })], honest.db);
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stderr, /WARN.*status.*comes before its target/);
      assert.match(run.stderr, /WARN.*status.*NOT in this report/);
    },
  },
  {
    name: 'dpkg status symlink to a file an upper layer deleted warns, and the lower file is not read',
    kind: '1 package DB behind a link (added)',
    run: async (ctx, honest) => {
      const layers = [
        tar([os, { name: 'opt/status', content: HONEST_STATUS }]),
        tar([
          { name: 'opt/.wh.status', content: '' },
          { name: 'var/lib/dpkg/status', type: 'symlink', linkname: '/opt/status' },
        ]),
      ];
      const run = await scanJson(ctx, [writeOciImage(ctx.path('image'), { layers })], honest.db);
      assert.equal(run.status, 0, run.stderr);
      assert.ok(!hasDpkgPackages(readReport(run.stdout)), 'a deleted file is not there for dpkg');
      assert.match(run.stderr, /WARN.*status.*NOT in this report/);
    },
  },
  {
    name: 'dpkg status symlink to a directory warns',
    kind: '1 package DB behind a link (added)',
    run: async (ctx, honest) => {
      const layer = tar([
        os,
        { name: 'opt/dir/', type: 'directory' },
        { name: 'opt/dir/status', content: HONEST_STATUS },
        { name: 'var/lib/dpkg/status', type: 'symlink', linkname: '/opt/dir' },
      ]);
      const run = await scanJson(ctx, [writeOciImage(ctx.path('image'), { layers: [layer] })], honest.db);
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stderr, /WARN.*status.*NOT in this report/);
    },
  },
  {
    name: 'overlay: the dist-packages folder replaced by a file hides Jinja2, the others stay',
    kind: '1 type replacement in the overlay (added)',
    run: async (ctx, honest) => {
      const report = await scanLayers(ctx, honest, [honest.base, honest.app, tar([{ name: 'usr/lib/python3/dist-packages', content: 'x' }])]);
      assert.ok(!report.packages.some((p) => /^jinja2@/i.test(p)), `Jinja2 still reported: ${report.packages.join(', ')}`);
      assert.ok(
        report.packages.some((p) => p.startsWith('lodash@')),
        'lodash stays',
      );
    },
  },
  {
    name: 'overlay: a Jinja2 .dist-info folder replaced by a symlink hides it',
    kind: '1 type replacement in the overlay (added)',
    run: async (ctx, honest) => {
      const report = await scanLayers(ctx, honest, [
        honest.base,
        honest.app,
        tar([{ name: 'usr/lib/python3/dist-packages/Jinja2-2.10.dist-info', type: 'symlink', linkname: '/nowhere' }]),
      ]);
      assert.ok(!report.packages.some((p) => /^jinja2@/i.test(p)), `Jinja2 still reported: ${report.packages.join(', ')}`);
    },
  },
  {
    name: 'overlay: a jar replaced by a directory of the same name hides its packages',
    kind: '1 type replacement in the overlay (added)',
    run: async (ctx, honest) => {
      const report = await scanLayers(ctx, honest, [honest.base, honest.app, tar([{ name: 'srv/app/lib/app.jar/', type: 'directory' }])]);
      assert.ok(!report.findings.some((f) => f.id === 'HOSTILE-MVN-0001'), `the jar's finding is still reported`);
      assert.ok(
        report.findings.some((f) => f.id === 'HOSTILE-NPM-0001'),
        'lodash stays',
      );
    },
  },

  {
    name: 'overlay: a parent folder srv/app replaced by a regular file hides the npm and Maven packages below it',
    kind: '1 type replacement in the overlay (added)',
    run: async (ctx, honest) => {
      const report = await scanLayers(ctx, honest, [honest.base, honest.app, tar([{ name: 'srv/app', content: 'a file now\n' }])]);
      assert.ok(!report.packages.some((p) => p.startsWith('lodash@')), `lodash still reported: ${report.packages.join(', ')}`);
      assert.ok(!report.findings.some((f) => f.id === 'HOSTILE-MVN-0001'), 'the jar below srv/app is still reported');
      assert.ok(hasDpkgPackages(report) && report.findings.some((f) => f.id === 'HOSTILE-PYPI-0001'), 'what is not below srv/app stays');
    },
  },
  {
    name: 'overlay: a parent folder srv/app replaced by a symlink hides the packages below it',
    kind: '1 type replacement in the overlay (added)',
    run: async (ctx, honest) => {
      const report = await scanLayers(ctx, honest, [honest.base, honest.app, tar([{ name: 'srv/app', type: 'symlink', linkname: '/nowhere' }])]);
      assert.ok(!report.packages.some((p) => p.startsWith('lodash@')), `lodash still reported: ${report.packages.join(', ')}`);
      assert.ok(!report.findings.some((f) => f.id === 'HOSTILE-MVN-0001'), 'the jar below srv/app is still reported');
      assert.ok(hasDpkgPackages(report), 'the dpkg packages stay');
    },
  },
  {
    name: 'overlay: srv replaced by a file, then a new srv/app in a later layer: only the new folder counts',
    kind: '1 type replacement in the overlay (added)',
    run: async (ctx, honest) => {
      const report = await scanLayers(ctx, honest, [
        honest.base,
        honest.app,
        tar([{ name: 'srv', content: 'x' }]),
        tar([
          { name: 'srv/', type: 'directory' },
          { name: 'srv/app/node_modules/lodash/package.json', content: LODASH_PACKAGE_JSON },
        ]),
      ]);
      assert.ok(
        report.findings.some((f) => f.id === 'HOSTILE-NPM-0001'),
        'the new lodash counts',
      );
      assert.ok(!report.findings.some((f) => f.id === 'HOSTILE-MVN-0001'), 'the old jar below srv is gone');
    },
  },
  {
    name: 'dpkg status through a link in a parent component: var/lib -> /opt/state',
    kind: '1 package DB behind a link (added)',
    run: (ctx, honest) =>
      sameAsHonestDebian(ctx, honest, [
        tar([os, { name: 'opt/state/dpkg/status', content: HONEST_STATUS }, { name: 'var/lib', type: 'symlink', linkname: '/opt/state' }]),
        honest.app,
      ]),
  },
  {
    name: 'dpkg status through var -> a folder of a lower layer',
    kind: '1 package DB behind a link (added)',
    run: (ctx, honest) =>
      sameAsHonestDebian(ctx, honest, [
        tar([os, { name: 'srv/rootvar/lib/dpkg/status', content: HONEST_STATUS }]),
        tar([{ name: 'var', type: 'symlink', linkname: 'srv/rootvar' }]),
        honest.app,
      ]),
  },
  {
    name: 'dpkg status through var/lib/dpkg -> .. (a folder above the DB folder): var/status is read',
    kind: '1 package DB behind a link (added)',
    run: (ctx, honest) =>
      sameAsHonestDebian(ctx, honest, [
        // a relative target is taken from the link's folder: var/lib/dpkg -> .. is var
        tar([os, { name: 'var/status', content: HONEST_STATUS }, { name: 'var/lib/dpkg', type: 'symlink', linkname: '..' }]),
        honest.app,
      ]),
  },
  {
    name: 'dpkg status through var/lib/dpkg -> / (the image root): /status is read, not the host',
    kind: '1 package DB behind a link (added)',
    run: (ctx, honest) =>
      sameAsHonestDebian(ctx, honest, [
        tar([os, { name: 'status', content: HONEST_STATUS }, { name: 'var/lib/dpkg', type: 'symlink', linkname: '/' }]),
        honest.app,
      ]),
  },
  {
    name: 'dpkg status through var/lib climbing past the root (clamped to /): dpkg/status is read',
    kind: '1 package DB behind a link (added)',
    run: (ctx, honest) =>
      sameAsHonestDebian(ctx, honest, [
        tar([os, { name: 'dpkg/status', content: HONEST_STATUS }, { name: 'var/lib', type: 'symlink', linkname: '../../../../../..' }]),
        honest.app,
      ]),
  },
  {
    name: 'dpkg status through var -> a host path in a parent component never reads the host',
    kind: '1 package DB behind a link (added)',
    run: async (ctx, honest) => {
      // the host running the tests is a Debian with a real /var/lib/dpkg/status; in the image,
      // proc/self/root/var holds nothing, so dpkg there would see no database
      const layer = tar([os, { name: 'var', type: 'symlink', linkname: '/proc/self/root/var' }]);
      const run = await scanJson(ctx, [writeOciImage(ctx.path('image'), { layers: [layer] })], honest.db);
      assert.equal(run.status, 0, run.stderr);
      const report = readReport(run.stdout);
      assert.deepEqual(report.packages, [], `host packages leaked: ${report.packages.slice(0, 5).join(', ')}`);
      assert.equal(report.os, honest.debian.os);
    },
  },
  {
    name: 'dpkg status through a parent-component link loop (var/lib -> lib2 -> lib) warns and ends',
    kind: '1 package DB behind a link (added)',
    run: async (ctx, honest) => {
      const layer = tar([os, { name: 'var/lib', type: 'symlink', linkname: 'lib2' }, { name: 'var/lib2', type: 'symlink', linkname: 'lib' }]);
      const run = await scanJson(ctx, [writeOciImage(ctx.path('image'), { layers: [layer] })], honest.db);
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stderr, /WARN.*var\/lib.*NOT in this report/, 'an unresolvable package DB link is a loud warning');
    },
  },
];
