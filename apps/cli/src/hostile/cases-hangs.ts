// Class 3: tiny inputs that used to hang — negative PAX sizes in a docker archive, OCI index
// fan-out, quadratic overlay attribution, FIFOs where files are expected.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scanJson, type CaseContext, type HonestScans, type HostileCase } from './harness.js';
import { DEBIAN_OS_RELEASE, dockerArchive, dpkgStatus, writeBlob, writeImageManifest, writeLayoutIndex, writeOciImage, type DpkgPackage } from './images.js';
import { EOF_MARKER, entry, header, paxHeader, tar } from './tar.js';

/** A docker-archive-looking tar whose first entry is a PAX header with a negative size, ~22 KB. */
function negativePaxArchive(kind: 'record' | 'base256' | 'octal'): Buffer {
  const first =
    kind === 'record'
      ? paxHeader({ size: '-1536' })
      : header({
          name: 'PaxHeaders/x',
          type: 'pax',
          size:
            kind === 'base256'
              ? Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfa, 0x00])
              : Buffer.from('-3000\0\0\0\0\0\0\0', 'latin1'),
        });
  return Buffer.concat([first, entry({ name: 'manifest.json', content: '[]' }), Buffer.alloc(20 * 1024), EOF_MARKER]);
}

async function negativePax(ctx: CaseContext, db: string, kind: 'record' | 'base256' | 'octal'): Promise<void> {
  const path = ctx.path('image.tar');
  writeFileSync(path, negativePaxArchive(kind));
  const run = await scanJson(ctx, ['--input', path], db);
  assert.equal(run.status, 1, 'a broken archive is refused');
}

/** k nested platform-less indexes per level, `depth` levels, one arm64 manifest at the bottom. */
function fanOutLayout(dir: string, k: number, depth: number): void {
  const bottom = writeImageManifest(dir, {
    layers: [tar([{ name: 'etc/os-release', content: DEBIAN_OS_RELEASE }])],
    config: (c) => void (c.architecture = 'arm64'),
  });
  let level: object = { ...bottom, platform: { os: 'linux', architecture: 'arm64' } };
  for (let d = 0; d < depth; d++) {
    const index = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: Array.from({ length: k }, () => level) };
    level = { mediaType: 'application/vnd.oci.image.index.v1+json', ...writeBlob(dir, JSON.stringify(index)) };
  }
  writeLayoutIndex(dir, [{ ...level, annotations: { 'org.opencontainers.image.ref.name': 'test' } }]);
}

const packages = (n: number, tag: string): DpkgPackage[] => Array.from({ length: n }, (_, i) => ({ name: `pkg${i}`, version: `1.${i}-${tag}` }));

/** The honest base as an OCI layout whose layer blob `replace` puts back as something else: the scan fails with one message. */
async function layerBlobReplaced(ctx: CaseContext, honest: HonestScans, replace: (path: string) => void): Promise<void> {
  const ref = writeOciImage(ctx.path('image'), { layers: [honest.base] });
  const blobs = join(ctx.path('image'), 'blobs', 'sha256');
  const manifest = JSON.parse(execFileSync('cat', [join(blobs, manifestHex(ctx.path('image')))], { encoding: 'utf8' })) as {
    layers: Array<{ digest: string }>;
  };
  const layer = join(blobs, manifest.layers[0]!.digest.slice(7));
  execFileSync('rm', [layer]);
  replace(layer);
  assert.equal((await scanJson(ctx, [ref], honest.db)).status, 1);
}

function mkfifo(path: string): string {
  execFileSync('mkfifo', [path]);
  return path;
}

export const hangCases: HostileCase[] = [
  {
    name: 'docker-archive whose first entry is a PAX header with a size=-1536 record (--input)',
    kind: '3 PAX size=-1536',
    run: (ctx, h) => negativePax(ctx, h.db, 'record'),
  },
  {
    name: 'docker-archive whose first PAX header has a negative base-256 size field',
    kind: '3 PAX size=-1536',
    run: (ctx, h) => negativePax(ctx, h.db, 'base256'),
  },
  {
    name: 'docker-archive whose first PAX header has the octal text -3000 as size',
    kind: '3 PAX size=-1536',
    run: (ctx, h) => negativePax(ctx, h.db, 'octal'),
  },
  {
    name: 'docker-archive: ref to the same negative-PAX file',
    kind: '3 PAX size=-1536',
    run: async (ctx, honest) => {
      const path = ctx.path('image.tar');
      writeFileSync(path, negativePaxArchive('record'));
      assert.equal((await scanJson(ctx, [`docker-archive:${path}`], honest.db)).status, 1);
    },
  },
  {
    name: 'OCI index fan-out: 30 platform-less nested indexes per level, 4 levels',
    kind: '3 OCI index fan-out',
    run: async (ctx, honest) => {
      fanOutLayout(ctx.path('image'), 30, 4);
      const amd = await scanJson(ctx, [`oci:${ctx.path('image')}:test`], honest.db);
      assert.equal(amd.status, 1, 'no linux/amd64 image in there');
      const arm = await scanJson(ctx, [`oci:${ctx.path('image')}:test`], honest.db, ['--platform', 'linux/arm64']);
      assert.ok(arm.status === 0 || /descriptor|index/i.test(arm.stderr), arm.stderr);
    },
  },
  {
    name: 'OCI index fan-out: 40 distinct nested indexes of 30 entries each',
    kind: '3 OCI index fan-out',
    run: async (ctx, honest) => {
      const dir = ctx.path('image');
      const manifests = Array.from({ length: 40 }, (_, i) => {
        const inner = Array.from({ length: 30 }, (_, j) => ({
          ...writeImageManifest(dir, { layers: [tar([{ name: `f${i}-${j}`, content: 'x' }])] }),
          platform: { os: 'linux', architecture: 'arm64' },
        }));
        return { mediaType: 'application/vnd.oci.image.index.v1+json', ...writeBlob(dir, JSON.stringify({ schemaVersion: 2, manifests: inner })) };
      });
      writeLayoutIndex(dir, [
        {
          mediaType: 'application/vnd.oci.image.index.v1+json',
          ...writeBlob(dir, JSON.stringify({ schemaVersion: 2, manifests })),
          annotations: { 'org.opencontainers.image.ref.name': 'test' },
        },
      ]);
      assert.equal((await scanJson(ctx, [`oci:${dir}:test`], honest.db)).status, 1);
    },
  },
  {
    name: 'quadratic attribution: two layers each rewriting the dpkg status with 60k packages',
    kind: '3 quadratic overlay attribution',
    run: async (ctx, honest) => {
      const os = { name: 'etc/os-release', content: DEBIAN_OS_RELEASE };
      const layers = [
        tar([os, { name: 'var/lib/dpkg/status', content: dpkgStatus(packages(60_000, 'a')) }]),
        tar([{ name: 'var/lib/dpkg/status', content: dpkgStatus(packages(60_000, 'b')) }]),
      ];
      const run = await scanJson(ctx, [writeOciImage(ctx.path('image'), { layers })], honest.db);
      assert.equal(run.status, 0, run.stderr);
    },
  },
  {
    name: 'a FIFO given as --input',
    kind: '3 FIFO input',
    run: async (ctx, honest) => {
      const run = await scanJson(ctx, ['--input', mkfifo(ctx.path('pipe'))], honest.db);
      assert.equal(run.status, 1);
      assert.match(run.stderr, /FIFO|pipe|not a regular file/i);
    },
  },
  {
    name: 'a FIFO given as docker-archive: and oci-archive:',
    kind: '3 FIFO input',
    run: async (ctx, honest) => {
      const pipe = mkfifo(ctx.path('pipe'));
      assert.equal((await scanJson(ctx, [`docker-archive:${pipe}`], honest.db)).status, 1);
      assert.equal((await scanJson(ctx, [`oci-archive:${pipe}`], honest.db)).status, 1);
    },
  },
  {
    name: 'an OCI layout whose layer blob is a FIFO',
    kind: '3 FIFO input',
    run: (ctx, honest) => layerBlobReplaced(ctx, honest, mkfifo),
  },
  {
    name: 'an OCI layout whose layer blob is a symlink to /dev/zero',
    kind: '3 FIFO input',
    run: (ctx, honest) => layerBlobReplaced(ctx, honest, (path) => symlinkSync('/dev/zero', path)),
  },
  {
    name: 'a FIFO in the advisory db folder',
    kind: '3 FIFO input',
    run: async (ctx, honest) => {
      const db = ctx.path('db');
      execFileSync('cp', ['-r', honest.db, db]);
      mkfifo(join(db, 'pipe.json'));
      const run = await scanJson(ctx, [writeOciImage(ctx.path('image'), { layers: [honest.base, honest.app] })], db);
      assert.ok(run.status === 1 || run.status === 0);
    },
  },
  {
    name: 'OCI layout whose index.json is 40 MB of whitespace around a valid index',
    kind: 'untrusted layout (added)',
    run: async (ctx, honest) => {
      const ref = writeOciImage(ctx.path('image'), { layers: [honest.base, honest.app] });
      const index = execFileSync('cat', [join(ctx.path('image'), 'index.json')]);
      writeFileSync(join(ctx.path('image'), 'index.json'), Buffer.concat([Buffer.alloc(40 * 1024 * 1024, 0x20), index]));
      const run = await scanJson(ctx, [ref], honest.db);
      assert.equal(run.status, 1, 'an index.json past the JSON bound is refused');
    },
  },
  {
    name: "OCI layout whose manifest blob is a symlink to a host file (never read as the image's)",
    kind: 'untrusted layout (added)',
    run: async (ctx, honest) => {
      const ref = writeOciImage(ctx.path('image'), { layers: [honest.base, honest.app] });
      const path = join(ctx.path('image'), 'blobs', 'sha256', manifestHex(ctx.path('image')));
      rmSync(path);
      symlinkSync('/etc/os-release', path);
      const run = await scanJson(ctx, [ref], honest.db);
      assert.equal(run.status, 1, 'a blob whose bytes are not its digest is refused');
    },
  },
  {
    name: 'docker-archive whose manifest.json names a layer outside the archive (///…/../../etc/passwd)',
    kind: 'untrusted layout (added)',
    run: async (ctx, honest) => {
      const archive = dockerArchive({ layers: [honest.base] });
      const path = ctx.path('image.tar');
      // Same length as the original path, so the manifest.json entry keeps its size: '/' pads it.
      const original = `${'0'.repeat(64)}/layer.tar"`;
      const escape = `../../../../etc/passwd"`.padStart(original.length, '/');
      writeFileSync(path, Buffer.from(archive.toString('latin1').replace(original, escape), 'latin1'));
      const run = await scanJson(ctx, ['--input', path], honest.db);
      assert.equal(run.status, 1, 'a layer path outside the archive is refused');
      assert.doesNotMatch(run.stdout, /root:x:0:0/);
    },
  },
];

function manifestHex(layout: string): string {
  const index = JSON.parse(execFileSync('cat', [join(layout, 'index.json')], { encoding: 'utf8' })) as { manifests: Array<{ digest: string }> };
  return index.manifests[0]!.digest.slice(7);
}
